// Package mfa owns what keeps an account when its password is not enough: password recovery
// (the forgot-password and reset pages), the second factors (the authenticator app, passkeys,
// recovery codes), the second login step and step-up, and the two-factor policy. It builds on profile's console kit (pages, forms,
// throttle counters, notices, sessions) and storage's verifications; it does not own the
// login itself (signin), the password policy (profile/password) or delivery (profile/notify).
package mfa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
)

// Store is the storage mfa uses: the accounts a recovery names, the pending code, the new
// password and the sessions and tokens that end with it.
type Store interface {
	storage.Transactor
	UsersByEmail(ctx context.Context, email string, limit int) ([]storage.User, error)
	FindUserIDByField(ctx context.Context, field, value string) (string, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	PhoneOwner(ctx context.Context, phone string) (string, error)
	PutVerification(ctx context.Context, v storage.Verification, sentBefore time.Time) (bool, error)
	GetVerification(ctx context.Context, userID, kind string) (storage.Verification, error)
	GetVerificationByLink(ctx context.Context, linkHash []byte) (storage.Verification, error)
	CountVerificationAttempt(ctx context.Context, userID, kind string, max int) (int, error)
	ConsumeVerification(ctx context.Context, v storage.Verification) error
	DeleteVerification(ctx context.Context, userID, kind string) error
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	RevokeSubject(ctx context.Context, subject, clientID string) (int64, error)
	ResetCounter(ctx context.Context, key string) error
	ResetLoginFailures(ctx context.Context, key string) error
	AddLoginFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error)
	LoginFailures(ctx context.Context, key string) (int, time.Time, error)
	GetClient(ctx context.Context, id string) (storage.Client, error)

	PutTOTP(ctx context.Context, t storage.TOTP) error
	GetTOTP(ctx context.Context, userID string) (storage.TOTP, error)
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	DeleteTOTP(ctx context.Context, userID string) error
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) error

	PutLoginChallenge(ctx context.Context, c storage.LoginChallenge) error
	GetLoginChallenge(ctx context.Context, idHash []byte, now time.Time) (storage.LoginChallenge, error)
	CountChallengeAttempt(ctx context.Context, idHash []byte) (int, error)
	DeleteLoginChallenge(ctx context.Context, idHash []byte) error
	ElevateSession(ctx context.Context, id string, amr []string, authTime time.Time) error
}

// Config is what mfa needs from Facet's configuration.
type Config struct {
	// Issuer is Facet's public base URL, for the one-click link.
	Issuer string
	// Secret is the system secret; the code HMAC key is derived from it.
	Secret []byte
	// PhoneRegion is the region of phone numbers typed without a country code.
	PhoneRegion string
	// Policy is the installation's two-factor policy: PolicyOptional (each user opts in; the
	// default) or PolicyRequired (every user enrols at the next password sign-in).
	Policy string
	// TOTPIssuer names Facet in authenticator apps (default "Facet").
	TOTPIssuer string
	// SecureCookies marks the second step's cookie Secure with the __Host- prefix (https).
	SecureCookies bool
}

// Deps are the modules mfa works with. Kit, Store and Events are required.
type Deps struct {
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Phone sends recovery codes by SMS to a verified number; nil sends none (the
	// recovery goes by email only).
	Phone  notify.Sender
	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

// Handler serves the recovery pages.
type Handler struct {
	cfg    Config
	kit    *profile.Handler
	store  Store
	events profile.Recorder
	phone  notify.Sender
	logger *slog.Logger
	now    func() time.Time
	// sending tracks the messages still being sent after the answer went out (Wait).
	sending sync.WaitGroup
	keys    factorKeys
	// passkeys lists a user's passkeys (nil: passkeys are not offered).
	passkeys func(ctx context.Context, userID string) ([]PasskeyInfo, error)
}

// New builds the handler.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("mfa: the console kit, the store and an event recorder are required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("mfa: the system secret must be at least 32 bytes")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.PhoneRegion == "" {
		cfg.PhoneRegion = "US"
	}
	switch cfg.Policy {
	case "":
		cfg.Policy = PolicyOptional
	case PolicyOptional, PolicyRequired:
	default:
		return nil, fmt.Errorf("mfa: policy %q is neither %q nor %q", cfg.Policy, PolicyOptional, PolicyRequired)
	}
	if cfg.TOTPIssuer == "" {
		cfg.TOTPIssuer = "Facet"
	}
	keys, err := newFactorKeys(cfg.Secret)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, kit: d.Kit, store: d.Store, events: d.Events, phone: d.Phone, logger: d.Logger, now: d.Now, keys: keys}, nil
}

// Routes adds the recovery pages, the second login step and the factors' pages to the
// browser pages, and the factors to the account API.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc(PathLogin, h.loginForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathLogin, h.login).Methods(http.MethodPost)
	h.factorRoutes(r, api)
	r.HandleFunc("/login/forgot", h.forgotForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login/forgot", h.forgot).Methods(http.MethodPost)
	r.HandleFunc("/login/reset", h.resetForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login/reset", h.reset).Methods(http.MethodPost)
}

// Wait returns when every recovery message handed to the background has been sent (tests,
// shutdown).
func (h *Handler) Wait() { h.sending.Wait() }
