// Package signin owns the way into and out of an account: the start page, the login,
// registration and logout pages, the Register service the command line shares, the login and registration throttles,
// and the return_to a flow page comes back to. It builds on profile's console kit (pages,
// browser sessions, throttle counters) and does not own the sessions themselves, the account
// pages or the password policy (profile/password).
package signin

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
)

// Store is the storage signin uses: the accounts a login names, the new account and its name
// fields, the login counter it clears, and the client a flow page names.
type Store interface {
	storage.Transactor
	UsersByEmail(ctx context.Context, email string, limit int) ([]storage.User, error)
	FindUserIDByField(ctx context.Context, field, value string) (string, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	CreateUser(ctx context.Context, u storage.User) error
	PutProfileFields(ctx context.Context, fields []storage.ProfileField) error
	ResetCounter(ctx context.Context, key string) error
	AddLoginFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error)
	LoginFailures(ctx context.Context, key string) (int, time.Time, error)
	ResetLoginFailures(ctx context.Context, key string) error
	GetClient(ctx context.Context, id string) (storage.Client, error)
}

// Deps are the modules signin works with. Kit, Store and Events are required.
type Deps struct {
	// Kit is profile's console kit: pages, forms, browser sessions, throttle counters, the
	// completion step and the owner notices.
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	Logger *slog.Logger // nil discards
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Limits are the login throttles; zero fields take DefaultLoginLimits'.
	Limits LoginLimits
	// DeviceSecret signs the device cookies (derive it from the system secret); empty
	// issues none, so every browser is a fresh one to the account's delay.
	DeviceSecret []byte
	// SecureCookies marks the device cookie Secure with the __Host- prefix (https issuers).
	SecureCookies bool
	// Methods lists the upstream login methods the login form offers as buttons
	// (oauth/federation); nil offers none.
	Methods LoginMethods
	// Second is the second login step (profile/mfa); nil: a right password signs in.
	Second SecondStep
}

// SecondStep is the second login step a password sign-in may need (profile/mfa.Handler).
type SecondStep interface {
	// Challenge is asked after a right password: when userID must prove a second factor (or
	// enrol one), it keeps the sign-in pending and returns the page to go to; "" when the
	// password is enough.
	Challenge(w http.ResponseWriter, r *http.Request, userID, returnTo string, amr []string) (string, error)
	// HasFactor reports whether userID has a second factor, which then re-authenticates a
	// signed-in account (prompt=login, max_age, a sensitive change) instead of the password.
	HasFactor(ctx context.Context, userID string) (bool, error)
}

// LoginButton is an upstream login method's button on the login form.
type LoginButton struct {
	Name, Icon, URL string
}

// LoginMethods lists the login form's buttons; each URL keeps returnTo.
type LoginMethods interface {
	LoginButtons(ctx context.Context, returnTo string) ([]LoginButton, error)
}

// Handler serves the start, login, registration and logout pages.
type Handler struct {
	kit    *profile.Handler
	store  Store
	events profile.Recorder
	logger *slog.Logger
	now    func() time.Time
	policy *password.Policy
	// dummyHash is checked when the email is unknown, so an unknown account costs the same
	// time as a wrong password (OWASP ASVS 5.0 V6.3: no account enumeration through timing).
	dummyHash string
	limits    LoginLimits
	deviceKey []byte
	// secureCookies: see Deps.SecureCookies.
	secureCookies bool
	methods       LoginMethods
	second        SecondStep
}

// New builds the handler.
func New(d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("signin: the console kit, the store and an event recorder are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	dummy, err := password.Hash(rand.Text())
	if err != nil {
		return nil, err
	}
	return &Handler{
		kit:       d.Kit,
		store:     d.Store,
		events:    d.Events,
		logger:    d.Logger,
		now:       d.Now,
		policy:    password.NewPolicy(),
		dummyHash: dummy,
		limits:    d.Limits.withDefaults(),
		deviceKey: d.DeviceSecret,
		methods:   d.Methods,
		second:    d.Second,

		secureCookies: d.SecureCookies,
	}, nil
}

// Routes adds the start, login, registration and logout pages to the browser pages; signin has
// no account API routes.
func (h *Handler) Routes(r, _ *mux.Router) {
	r.HandleFunc("/", h.home).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login", h.loginForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login", h.login).Methods(http.MethodPost)
	r.HandleFunc("/register", h.registerForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/register", h.register).Methods(http.MethodPost)
	r.HandleFunc("/logout", h.logout).Methods(http.MethodPost)
}
