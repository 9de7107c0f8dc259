// Package federation is Facet's leg to upstream providers: the login methods (OpenID Connect
// by discovery, or plain OAuth 2.0 with a mapped userinfo), the authorization code flow with
// PKCE towards them, the callback that verifies what they answer, and what follows it —
// signing in with a linked identifier, creating an account from the upstream claims, or
// linking the upstream account to a Facet account. It also owns the profile's Identifiers
// block and its account API, because adding an identifier is this same flow and deleting one
// needs the same rule of "the last way in".
//
// It builds on profile's console kit (pages, browser sessions, the activity log) and does not
// own accounts, sessions or the photo pipeline: the photo page asks it for the pictures of
// linked identifiers (AvailablePictures) and fetches them itself. It does not store privacy
// levels either: an identifier's level button posts to profile's privacy form, which stores
// it through consent. The data export and "Complete your profile" ask it for the identifiers
// (ExportIdentifiers) and for what the upstream account said (CompletionHints).
package federation

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/securecookie"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
)

// Config is what federation needs from Facet's configuration.
type Config struct {
	// Issuer is Facet's public base URL; the callback URLs are under it.
	Issuer string
	// Secret is the system secret: it seals the client secrets and the flow cookie.
	Secret []byte
	// SecureCookies marks the flow cookies Secure (https issuers).
	SecureCookies bool
	// Limits are the login throttles; a new account from an upstream sign-in counts toward
	// the registration limit per IP (RegisterCounter) that the registration form uses.
	Limits signin.LoginLimits
}

// Store is the storage federation uses.
type Store interface {
	storage.Transactor
	storage.FederationStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	UsersByEmail(ctx context.Context, email string, limit int) ([]storage.User, error)
	CreateUser(ctx context.Context, u storage.User) error
	PutProfileFields(ctx context.Context, fields []storage.ProfileField) error
}

// Deps are the modules federation works with. Kit, Store and Events are required.
type Deps struct {
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Client reaches the providers; nil uses NewClient.
	Client *http.Client
	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

// Handler serves the upstream sign-in, the linking pages and the identifiers API.
type Handler struct {
	kit     *profile.Handler
	store   Store
	events  profile.Recorder
	client  *http.Client
	logger  *slog.Logger
	now     func() time.Time
	cfg     Config
	cookies *securecookie.SecureCookie
	eps     endpoints
}

// New builds the handler. The flow cookie's keys are derived from the system secret.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("federation: the console kit, the store and an event recorder are required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("federation: the system secret must be at least 32 bytes")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Client == nil {
		d.Client = NewClient()
	}
	hashKey, err := profile.DeriveKey(cfg.Secret, "facet federation cookie authentication", 64)
	if err != nil {
		return nil, err
	}
	blockKey, err := profile.DeriveKey(cfg.Secret, "facet federation cookie encryption", 32)
	if err != nil {
		return nil, err
	}
	sc := securecookie.New(hashKey, blockKey).MaxAge(int(flowLifetime / time.Second))
	sc.SetSerializer(securecookie.JSONEncoder{})
	return &Handler{kit: d.Kit, store: d.Store, events: d.Events, client: d.Client, logger: d.Logger, now: d.Now,
		cfg: cfg, cookies: sc}, nil
}

// Routes registers the sign-in, callback and linking pages on the page router and the
// identifiers resource on the account API.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc("/login/methods/link", h.linkPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login/methods/link", h.linkConfirm).Methods(http.MethodPost)
	r.HandleFunc("/login/methods/{id}", h.start).Methods(http.MethodGet)
	r.HandleFunc("/login/methods/{id}/callback", h.callback).Methods(http.MethodGet)
	r.HandleFunc("/profile/identifiers/add", h.addPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/identifiers/{id}/delete", h.deleteForm).Methods(http.MethodPost)
	api.HandleFunc("/identifiers", h.apiList).Methods(http.MethodGet)
	api.HandleFunc("/identifiers/{id}", h.apiDelete).Methods(http.MethodDelete)
}

// equal compares two secrets in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
