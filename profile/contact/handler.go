package contact

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
)

// Config is what contact needs from Facet's configuration.
type Config struct {
	// Issuer is Facet's public base URL (the confirmation link points there).
	Issuer string
	// Secret is the system secret; the key of the codes' HMAC is derived from it.
	Secret []byte
	// Development enables /dev/mail and, without a configured sender, the log sender for
	// texts. Never set it in production: that page shows one-time codes.
	Development bool
	// PhoneRegion is the region (ISO 3166 alpha-2, e.g. "US") a phone number written without
	// a country code is read in (default "US").
	PhoneRegion string
	// UnverifiedAccountTTL is how long an account whose only way in is an unconfirmed email
	// address lives, for the panel's hint (profile.Config's value; default
	// profile.DefaultUnverifiedAccountTTL).
	UnverifiedAccountTTL time.Duration
}

// Store is the storage contact uses: the verifications, the users and profile fields a
// confirmed value is written to, the counters and the development outbox.
type Store interface {
	storage.ContactStore
	storage.Transactor
	storage.CounterStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	UpdateUser(ctx context.Context, u storage.User) error
	VerifyEmail(ctx context.Context, userID, email string, at time.Time) ([]string, error)
	GetProfileFields(ctx context.Context, userID string) ([]storage.ProfileField, error)
	PutProfileValues(ctx context.Context, userID string, values map[string]string, at time.Time) error
	DeleteProfileField(ctx context.Context, userID, field string) error
}

// Deps are the modules contact works with. Kit, Store and Events are required.
type Deps struct {
	// Kit is profile's console kit: pages, sessions, the account API's caller, the recent-login
	// rule, the mailer and the notices.
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Phone delivers codes by SMS or voice call (notify.LogSender, WebhookSender or
	// TwilioSender); nil disables phone verification, except in development (LogSender).
	Phone  notify.Sender
	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

// Handler serves the email and phone panels and their account API routes.
type Handler struct {
	kit    *profile.Handler
	store  Store
	events profile.Recorder
	phone  notify.Sender
	logger *slog.Logger
	now    func() time.Time
	cfg    Config
}

// New builds the handler.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("contact: the console kit, the store and an event recorder are required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("contact: the system secret must be at least 32 bytes")
	}
	if cfg.UnverifiedAccountTTL <= 0 {
		cfg.UnverifiedAccountTTL = profile.DefaultUnverifiedAccountTTL
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{kit: d.Kit, store: d.Store, events: d.Events, phone: d.Phone, logger: d.Logger, now: d.Now, cfg: cfg}, nil
}
