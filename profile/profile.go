// Package profile owns the person's side of Facet: the personal account's profile, privacy
// and password pages, the account JSON API, the notices mailed about account
// changes, and the console kit its sub-packages build their pages on (Caller, Origin, Error,
// page rendering with the sidebar, forms, JSON answers, the signed-in check, the recent-login
// rule, the throttle counters, return_to). The sub-packages (activity, contact, photo,
// signin, ...) import it; it imports none of them, and declares what it needs from them
// (Recorder). Login, logout and registration are signin's. Two leaves it builds on are the
// other way round: password (argon2id and the policy) and session (the browser session
// mechanism behind Current, StartSession and End), which import storage, never profile.
//
// It does not speak OAuth2: oauth asks it "who is signed in?" through Current and End, and
// redirects here with a return_to path when someone must log in. What a person's profile
// fields mean for apps is consent's business.
package profile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/medama-io/go-useragent"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile/locale"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/profile/session"
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
	// Development makes the mail of the development sender (kept for /dev/mail) the mailer
	// when none is configured. Never set it in production.
	Development bool
	// RecentAuth is how recent the login of a browser session must be to change or delete
	// the email address or phone number (OWASP ASVS 5.0 V7.5: re-authentication before a
	// sensitive change; default 15 minutes).
	RecentAuth time.Duration
	// UnverifiedAccountTTL is how long an account whose only way in is an unconfirmed email
	// address lives (default 7 days): PurgeUnverified deletes it afterwards, so a
	// registration with someone else's address does not linger.
	UnverifiedAccountTTL time.Duration
}

// Default session lifetimes.
const (
	DefaultSessionIdle     = session.DefaultIdle
	DefaultSessionAbsolute = session.DefaultAbsolute
	// DefaultUnverifiedAccountTTL is UnverifiedAccountTTL's default.
	DefaultUnverifiedAccountTTL = 7 * 24 * time.Hour
)

// maxFormBytes bounds a form body; the forms here are a few hundred bytes.
const maxFormBytes = 64 << 10

// Handler serves the personal account's pages and API, and answers "who is signed in?" for the
// other modules.
type Handler struct {
	Store     storage.Storage
	Templates *templates.Templates
	Logger    *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Tokens verifies bearer tokens for the account API; nil refuses bearer calls.
	Tokens TokenVerifier
	// Catalog is the profile field catalog (mandatory and locked fields come from the
	// configuration).
	Catalog *consent.Catalog
	// Mail delivers verification codes and notices by email (notify.Mailer); nil sends
	// nothing, except in development, where notify.LogMailer keeps mail for /dev/mail.
	Mail MailSender
	// Events records the security-relevant actions in the user's activity log.
	Events Recorder
	// Flows finds the authorization request waiting in a return_to, so the completion page
	// and the privacy settings name the app and lead back to it (or cancel it); nil finds
	// none.
	Flows FlowFinder
	// Logouts queues back-channel logouts to the apps inside the transaction that ends
	// their sessions (oauth/backchannel.Notifier); nil tells no app.
	Logouts LogoutNotifier

	cfg      Config
	sessions *session.Manager
	lang     locale.Chooser
	policy   *password.Policy
	limits   limits
	// ua parses User-Agent strings for each request's Origin (safe for concurrent use).
	ua *useragent.Parser
	// tabSources are the sub-packages' tabs (Deps.Tabs).
	tabSources []TabSource
	// blockSources are the sub-packages' blocks of the profile page (Deps.Blocks).
	blockSources []BlockSource
	// privacyLinks are the sub-packages' links in the Profile Privacy block (Deps.PrivacyLinks).
	privacyLinks []LinkSource
	// securitySources are the sub-packages' entries of the Security block (Deps.Security).
	securitySources []SecuritySource
	// hintSources prefill "Complete your profile" (Deps.Hints).
	hintSources []HintSource
	// favorites fills the catalog's part of the sidebar (Deps.Favorites); nil for none.
	favorites FavoritesSource
}

// Deps are the modules the handler works with. Store, Templates and Events are required.
type Deps struct {
	Store     storage.Storage
	Templates *templates.Templates
	Logger    *slog.Logger // nil discards
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Catalog is the profile field catalog; nil uses the default catalog.
	Catalog *consent.Catalog
	Mail    MailSender
	Events  Recorder
	// Tokens verifies bearer tokens for the account API (oauth.Provider); nil refuses
	// bearer calls.
	Tokens TokenVerifier
	// Tabs are the account's tabs the sub-packages own, in sidebar order.
	Tabs []TabSource
	// Blocks are the profile page's blocks the sub-packages own, in page order.
	Blocks []BlockSource
	// PrivacyLinks are the sub-packages' actions in the Profile Privacy block (Public Data).
	PrivacyLinks []LinkSource
	// Security are the entries of the Security block the sub-packages own (the signed-in
	// devices), in order.
	Security []SecuritySource
	// Hints prefill the missing mandatory fields on "Complete your profile" with what other
	// modules know (the name an upstream account gave), first source first.
	Hints []HintSource
	// Favorites gives the sidebar's Catalog button and favorites on every account page
	// (profile/catalog); nil shows neither.
	Favorites FavoritesSource
	// Flows finds the authorization request waiting in a return_to (oauth.Provider.Flow);
	// nil finds none.
	Flows FlowFinder
	// Logouts queues back-channel logouts (oauth/backchannel.Notifier); nil tells no app.
	Logouts LogoutNotifier
}

// LogoutNotifier queues back-channel logouts (OIDC Back-Channel Logout 1.0). Both run in
// the transaction ctx carries and must come before the session rows are deleted.
// LogoutSession tells every app signed in through browser session sessionID except
// exceptClientID; LogoutUser tells app clientID ("" for every app) that userID is signed out.
// requestID names the request in the delivery logs.
type LogoutNotifier interface {
	LogoutSession(ctx context.Context, sessionID, exceptClientID, requestID string) (int, error)
	LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error)
}

// New builds the handler and its browser session manager (profile/session), whose cookie keys
// are derived from cfg.Secret.
func New(cfg Config, d Deps) (*Handler, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("profile: the system secret must be at least 32 bytes")
	}
	if d.Store == nil || d.Templates == nil || d.Events == nil {
		return nil, errors.New("profile: store, templates and an event recorder are required")
	}
	store, t, logger := d.Store, d.Templates, d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionAbsolute <= 0 {
		cfg.SessionAbsolute = DefaultSessionAbsolute
	}
	if cfg.UnverifiedAccountTTL <= 0 {
		cfg.UnverifiedAccountTTL = DefaultUnverifiedAccountTTL
	}
	var err error
	h := &Handler{
		Store:           store,
		Templates:       t,
		Logger:          logger,
		Now:             d.Now,
		Catalog:         d.Catalog,
		Mail:            d.Mail,
		Events:          d.Events,
		Tokens:          d.Tokens,
		Flows:           d.Flows,
		Logouts:         d.Logouts,
		cfg:             cfg,
		tabSources:      slices.Clone(d.Tabs),
		blockSources:    slices.Clone(d.Blocks),
		privacyLinks:    slices.Clone(d.PrivacyLinks),
		securitySources: slices.Clone(d.Security),
		hintSources:     slices.Clone(d.Hints),
		favorites:       d.Favorites,
		policy:          password.NewPolicy(),
		limits:          defaultLimits(),
		ua:              useragent.NewParser(),
	}
	// The default catalog's clock follows h.Now, so a test clock also decides "not in the future".
	if h.Catalog == nil {
		if h.Catalog, err = consent.NewCatalog(consent.CatalogConfig{Now: func() time.Time { return h.Now() }}); err != nil {
			return nil, err
		}
	}
	h.lang = locale.Chooser{UserLanguage: h.userLanguage, ReturnTo: SafeReturnTo}
	// The session clock follows h.Now too.
	if h.sessions, err = session.New(session.Config{
		Secret:        cfg.Secret,
		Idle:          cfg.SessionIdle,
		Absolute:      cfg.SessionAbsolute,
		SecureCookies: cfg.SecureCookies,
		RecentAuth:    cfg.RecentAuth,
	}, session.Deps{Store: store, Logouts: d.Logouts, Logger: logger, Now: func() time.Time { return h.Now() }, RequestID: RequestID}); err != nil {
		return nil, err
	}
	return h, nil
}

// DeriveKey expands the system secret into an n-byte key for one purpose (HKDF-SHA256, the
// derivation the session cookie keys use).
func DeriveKey(secret []byte, info string, n int) ([]byte, error) {
	return session.DeriveKey(secret, info, n)
}

// ParseForm reads a bounded urlencoded body. On failure it has written a 400 (or 413) page and
// returns false.
func (h *Handler) ParseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.ErrorPage(w, r, http.StatusRequestEntityTooLarge)
			return false
		}
		h.ErrorPage(w, r, http.StatusBadRequest)
		return false
	}
	for k, vs := range r.Form {
		if !utf8.ValidString(k) {
			h.ErrorPage(w, r, http.StatusBadRequest)
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				h.ErrorPage(w, r, http.StatusBadRequest)
				return false
			}
		}
	}
	return true
}

// Render writes a page; a rendering failure was already answered with a 500 page by Render
// and only needs logging.
func (h *Handler) Render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	if err := h.Templates.RenderFrame(w, r, status, page, templates.FrameFrom(r.Context()), data); err != nil {
		h.Logger.ErrorContext(r.Context(), "render page", "page", page, "err", err)
	}
}

// RenderAccount writes a page of u's personal account: the page inside the account frame,
// with the sidebar (photo, name, email, tabs) and tab marked current. Loading the account
// for the sidebar may fail; then the answer is the 5xx page.
func (h *Handler) RenderAccount(w http.ResponseWriter, r *http.Request, status int, page, tab string, u storage.User, data any) {
	a, err := h.LoadAccount(r.Context(), u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	h.RenderSidebar(w, r, status, page, NewSidebar(a, tab), data)
}

// RenderSidebar is RenderAccount for a caller that has the sidebar already.
func (h *Handler) RenderSidebar(w http.ResponseWriter, r *http.Request, status int, page string, sb Sidebar, data any) {
	f := templates.FrameFrom(r.Context())
	sb.Tabs = h.tabs(r.Context(), sb.userID, sb.current)
	sb.Apps = h.sidebarApps(r.Context(), sb.userID)
	f.Sidebar = sb
	// The header's menu shows the same initials as the sidebar.
	f.Account = &templates.Account{Email: sb.Email, Initials: sb.Initials}
	if err := h.Templates.RenderFrame(w, r, status, page, f, data); err != nil {
		h.Logger.ErrorContext(r.Context(), "render page", "page", page, "err", err)
	}
}

// ErrorPage answers with the catalog's error page for status.
func (h *Handler) ErrorPage(w http.ResponseWriter, r *http.Request, status int) {
	h.Render(w, r, status, "error", templates.ErrorPage{Status: status, RequestID: RequestID(w, r)})
}

// ServerError logs err with the request id and shows a 500 page carrying that id.
func (h *Handler) ServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := RequestID(w, r)
	h.Logger.ErrorContext(r.Context(), what, "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, storage.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	}
	h.Render(w, r, status, "error", templates.ErrorPage{Status: status, RequestID: id})
}

// RequestID returns the id the request-id middleware assigned (it sets X-Request-Id on the
// response, and on the request when a trusted proxy sent one), or a fresh one so the page and
// the log line still agree.
func RequestID(w http.ResponseWriter, r *http.Request) string {
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

// NewID returns a random identifier for a user (the OIDC "sub"): a UUID version 4.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24; it crashes instead.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
