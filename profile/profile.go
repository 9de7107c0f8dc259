// Package profile owns the person's side of Facet: registration, login, logout and browser
// sessions (and, in later issues, the personal account pages).
//
// It does not speak OAuth2: oauth asks it "who is signed in?" through Current and End, and
// redirects here with a return_to path when someone must log in. What a person's profile
// fields mean for apps is consent's business.
package profile

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/medama-io/go-useragent"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/sync/semaphore"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Config is what profile needs from Facet's configuration.
type Config struct {
	// Issuer is Facet's public base URL.
	Issuer string
	// Secret is the 32-byte system secret; the session cookie keys are derived from it, so
	// every node reads every node's cookies.
	Secret []byte
	// SessionIdle ends a session nobody used for this long (default 24h); SessionAbsolute
	// ends any session this long after login (default 30 days).
	SessionIdle, SessionAbsolute time.Duration
	// SecureCookies marks cookies Secure and names the session cookie with the __Host-
	// prefix; set it when the issuer is https.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed for the
	// client's IP address (login and registration throttles, sessions, the activity log);
	// from any other peer the header is ignored.
	TrustedProxies []netip.Prefix
	// EventRetention is how long activity-log events are kept (default 365 days).
	EventRetention time.Duration
	// Development enables the /dev/mail page (recent mail and texts of the development
	// senders). Never set it in production: that page shows one-time codes.
	Development bool
	// PhoneRegion is the region (ISO 3166 alpha-2, e.g. "US") a phone number written without
	// a country code is read in (default "US").
	PhoneRegion string
	// MaxPhotoBytes bounds a photo upload (default 5 MiB).
	MaxPhotoBytes int64
	// HoldMemory, when set, is told the memory a photo decode may take before it starts and
	// calls the returned function when it is done, so the server's soft memory limit makes
	// room for it only while it runs.
	HoldMemory func(bytes int64) (release func())
	// RecentAuth is how recent the login of a browser session must be to change or delete
	// the email address or phone number (SECURITY.md 15; default 15 minutes).
	RecentAuth time.Duration
	// UnverifiedAccountTTL is how long an account whose only way in is an unconfirmed email
	// address lives (default 7 days): PurgeUnverified deletes it afterwards, so a
	// registration with someone else's address does not linger.
	UnverifiedAccountTTL time.Duration
}

// Default session lifetimes.
const (
	DefaultSessionIdle     = 24 * time.Hour
	DefaultSessionAbsolute = 30 * 24 * time.Hour
	DefaultEventRetention  = 365 * 24 * time.Hour
	// DefaultUnverifiedAccountTTL is UnverifiedAccountTTL's default.
	DefaultUnverifiedAccountTTL = 7 * 24 * time.Hour
)

// maxFormBytes bounds a form body; the forms here are a few hundred bytes.
const maxFormBytes = 64 << 10

// Handler serves the login, registration, logout and start pages and answers "who is
// signed in?" for the other modules.
type Handler struct {
	Store     storage.Storage
	Templates *templates.Templates
	Logger    *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Tokens verifies bearer tokens for the account API; nil refuses bearer calls.
	Tokens TokenVerifier
	// Catalog is the profile field catalog (mandatory and locked fields come from the
	// configuration); New sets the default catalog, cmd replaces it with the configured one.
	Catalog *consent.Catalog
	// Mail delivers verification codes and notices by email (notify.Mailer); nil sends
	// nothing, except in development, where notify.LogMailer keeps mail for /dev/mail.
	Mail MailSender
	// Phone delivers codes by SMS or voice call (notify.LogSender, WebhookSender or
	// TwilioSender); nil disables phone verification, except in development (LogSender).
	Phone notify.Sender
	// Pictures lists the pictures of the user's linked external identifiers for the
	// "Available" button; nil offers none.
	Pictures PictureSource
	// PictureClient fetches an available picture; nil uses a client that only reaches
	// public addresses over https.
	PictureClient *http.Client

	cfg        Config
	cookies    *sessions.CookieStore
	cookieName string
	common     map[string]struct{}
	// dummyHash is checked when the email is unknown, so an unknown account costs the same
	// time as a wrong password (SECURITY.md 14).
	dummyHash string
	limits    loginLimits
	// ua parses User-Agent strings for the activity log (safe for concurrent use).
	ua *useragent.Parser
	// decodes bounds the memory of the photo decodes running at once: each holds its
	// photoCost of PhotoDecodeMemory, so a burst of uploads waits here instead of taking
	// gigabytes.
	decodes *semaphore.Weighted
}

// New builds the handler. The cookie keys are derived from cfg.Secret with HKDF-SHA256.
func New(cfg Config, store storage.Storage, t *templates.Templates, logger *slog.Logger) (*Handler, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("profile: the system secret must be at least 32 bytes")
	}
	if store == nil || t == nil {
		return nil, errors.New("profile: store and templates are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionAbsolute <= 0 {
		cfg.SessionAbsolute = DefaultSessionAbsolute
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = DefaultEventRetention
	}
	if cfg.UnverifiedAccountTTL <= 0 {
		cfg.UnverifiedAccountTTL = DefaultUnverifiedAccountTTL
	}
	hashKey, err := deriveKey(cfg.Secret, "facet session cookie authentication", 64)
	if err != nil {
		return nil, err
	}
	blockKey, err := deriveKey(cfg.Secret, "facet session cookie encryption", 32)
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword(rand.Text())
	if err != nil {
		return nil, err
	}
	h := &Handler{
		Store:     store,
		Templates: t,
		Logger:    logger,
		Now:       time.Now,
		cfg:       cfg,
		common:    commonPasswords(),
		dummyHash: dummy,
		limits:    defaultLoginLimits(),
		ua:        useragent.NewParser(),
		decodes:   semaphore.NewWeighted(PhotoDecodeMemory()),
	}
	// The catalog's clock follows h.Now, so a test clock also decides "not in the future".
	if h.Catalog, err = consent.NewCatalog(consent.CatalogConfig{Now: func() time.Time { return h.Now() }}); err != nil {
		return nil, err
	}
	h.cookies = sessions.NewCookieStore(hashKey, blockKey)
	h.cookies.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	}
	// The cookie lives as long as the absolute timeout; the row decides whether it is valid.
	h.cookies.MaxAge(int(cfg.SessionAbsolute / time.Second))
	h.cookieName = "facet_session"
	if cfg.SecureCookies {
		// __Host-: only set over https, by this host, for Path=/ (RFC 6265bis 4.1.3.2).
		h.cookieName = "__Host-facet_session"
	}
	return h, nil
}

// deriveKey expands the system secret into an n-byte key for one purpose.
func deriveKey(secret []byte, info string, n int) ([]byte, error) {
	key := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("derive %s key: %w", info, err)
	}
	return key, nil
}

// home shows who is signed in, or the way in.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	var data homePage
	s, ok, err := h.Current(r)
	if err != nil {
		h.serverError(w, r, "current session", err)
		return
	}
	if ok {
		u, err := h.Store.GetUser(r.Context(), s.UserID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			h.serverError(w, r, "get user", err)
			return
		default:
			data = homePage{SignedIn: true, Email: u.Email}
		}
	}
	h.render(w, r, http.StatusOK, "home", data)
}

// homePage is home.html's data.
type homePage struct {
	SignedIn bool
	Email    string
}

// parseForm reads a bounded urlencoded body. On failure it has written a 400 (or 413) page and
// returns false.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.errorPage(w, r, http.StatusRequestEntityTooLarge)
			return false
		}
		h.errorPage(w, r, http.StatusBadRequest)
		return false
	}
	for k, vs := range r.Form {
		if !utf8.ValidString(k) {
			h.errorPage(w, r, http.StatusBadRequest)
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				h.errorPage(w, r, http.StatusBadRequest)
				return false
			}
		}
	}
	return true
}

// render writes a page; a rendering failure was already answered with a 500 page by Render
// and only needs logging.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	if err := h.Templates.Render(w, status, page, data); err != nil {
		h.Logger.ErrorContext(r.Context(), "render page", "page", page, "err", err)
	}
}

// errorPage answers with the catalog's error page for status.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	h.render(w, r, status, "error", templates.ErrorPage{Status: status, RequestID: requestID(w, r)})
}

// serverError logs err with the request id and shows a 500 page carrying that id.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := requestID(w, r)
	h.Logger.ErrorContext(r.Context(), what, "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, storage.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	}
	h.render(w, r, status, "error", templates.ErrorPage{Status: status, RequestID: id})
}

// requestID returns the id the request-id middleware assigned (it sets X-Request-Id on the
// response, and on the request when a trusted proxy sent one), or a fresh one so the page and
// the log line still agree.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && utf8.ValidString(id) {
		return id
	}
	id := rand.Text()[:16]
	w.Header().Set("X-Request-Id", id)
	return id
}

// newID returns a random identifier for a user (the OIDC "sub"): a UUID version 4.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24; it crashes instead.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
