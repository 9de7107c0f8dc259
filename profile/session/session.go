// Package session owns Facet's browser sessions: the cookie that names one (a random token
// sealed by gorilla/sessions with keys derived from the system secret), the server-side row it
// points to (keyed by the token's SHA-256), the idle and absolute timeouts, a new session id
// at every login, the end of a session together with the back-channel logouts it causes, and
// the recent-login rule for sensitive changes.
//
// It knows no pages, users' profiles or activity log: profile builds its kit on a Manager and
// adds the client's address and the logout event. It imports storage and never profile, so
// profile's own tests run on real sessions.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"golang.org/x/crypto/hkdf"

	"github.com/facetid/facet/storage"
)

// The session cookie holds one value: a random 256-bit token. The database row is keyed by
// the token's SHA-256, so someone who reads the sessions table learns no cookie.
const (
	tokenKey = "t"
	tokenLen = 32
	// touchEvery limits last_seen_at writes to one a minute per session.
	touchEvery = time.Minute
)

// Defaults of Config's durations.
const (
	DefaultIdle       = 24 * time.Hour
	DefaultAbsolute   = 30 * 24 * time.Hour
	DefaultRecentAuth = 15 * time.Minute
)

// Config is what the session mechanism needs from Facet's configuration.
type Config struct {
	// Secret is the system secret (at least 32 bytes); the cookie keys are derived from it,
	// so every node reads every node's cookies.
	Secret []byte
	// Idle ends a session nobody used for this long (DefaultIdle); Absolute ends any session
	// this long after login (DefaultAbsolute).
	Idle, Absolute time.Duration
	// SecureCookies marks the cookie Secure and names it with the __Host- prefix; set it when
	// the issuer is https.
	SecureCookies bool
	// RecentAuth is how recent a session's login must be for a sensitive change (OWASP ASVS
	// 5.0 V7.5: re-authentication before a sensitive change; DefaultRecentAuth).
	RecentAuth time.Duration
}

// Store is the storage a Manager uses: the session rows, and the transaction that ends a
// session with its back-channel logouts.
type Store interface {
	GetSession(ctx context.Context, id string) (storage.Session, error)
	CreateSession(ctx context.Context, s storage.Session) error
	DeleteSession(ctx context.Context, id string) error
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// LogoutNotifier queues back-channel logouts (OIDC Back-Channel Logout 1.0) to every app
// signed in through browser session sessionID except exceptClientID. It runs in the
// transaction ctx carries, before the session's row is deleted; requestID names the request
// in the delivery logs.
type LogoutNotifier interface {
	LogoutSession(ctx context.Context, sessionID, exceptClientID, requestID string) (int, error)
}

// Deps are what a Manager works with. Store is required.
type Deps struct {
	Store Store
	// Logouts tells the apps of a session that ends; nil tells no app.
	Logouts LogoutNotifier
	// Logger receives the warnings a request survives (a failed touch); nil discards.
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// RequestID names the request in the back-channel delivery logs; nil names none.
	RequestID func(http.ResponseWriter, *http.Request) string
}

// Manager reads, starts and ends browser sessions.
type Manager struct {
	store      Store
	logouts    LogoutNotifier
	logger     *slog.Logger
	now        func() time.Time
	requestID  func(http.ResponseWriter, *http.Request) string
	cfg        Config
	cookies    *sessions.CookieStore
	cookieName string
}

// New builds a Manager. The cookie keys are derived from cfg.Secret with HKDF-SHA256.
func New(cfg Config, d Deps) (*Manager, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("session: the system secret must be at least 32 bytes")
	}
	if d.Store == nil {
		return nil, errors.New("session: a store is required")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Absolute <= 0 {
		cfg.Absolute = DefaultAbsolute
	}
	if cfg.RecentAuth <= 0 {
		cfg.RecentAuth = DefaultRecentAuth
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.RequestID == nil {
		d.RequestID = func(http.ResponseWriter, *http.Request) string { return "" }
	}
	hashKey, err := DeriveKey(cfg.Secret, "facet session cookie authentication", 64)
	if err != nil {
		return nil, err
	}
	blockKey, err := DeriveKey(cfg.Secret, "facet session cookie encryption", 32)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		store:     d.Store,
		logouts:   d.Logouts,
		logger:    d.Logger,
		now:       d.Now,
		requestID: d.RequestID,
		cfg:       cfg,
	}
	m.cookies = sessions.NewCookieStore(hashKey, blockKey)
	m.cookies.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	}
	// The cookie lives as long as the absolute timeout; the row decides whether it is valid.
	m.cookies.MaxAge(int(cfg.Absolute / time.Second))
	m.cookieName = "facet_session"
	if cfg.SecureCookies {
		// __Host-: only set over https, by this host, for Path=/ (RFC 6265bis 4.1.3.2).
		m.cookieName = "__Host-facet_session"
	}
	return m, nil
}

// DeriveKey expands the system secret into an n-byte key for one purpose.
func DeriveKey(secret []byte, info string, n int) ([]byte, error) {
	key := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("derive %s key: %w", info, err)
	}
	return key, nil
}

// ID is the row id of a cookie token.
func ID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Token returns the token in r's session cookie, or "" when there is none or it does not
// verify (forged, expired, or signed with another secret).
func (m *Manager) Token(r *http.Request) string {
	s, err := m.cookies.New(r, m.cookieName)
	if err != nil || s.IsNew {
		return ""
	}
	tok, _ := s.Values[tokenKey].(string)
	return tok
}

// Current returns the session of r's cookie when it exists and is within both the idle and
// the absolute timeout. An expired session's row is deleted. It records use (last_seen_at) at
// most once a minute.
func (m *Manager) Current(r *http.Request) (storage.Session, bool, error) {
	tok := m.Token(r)
	if tok == "" {
		return storage.Session{}, false, nil
	}
	ctx := r.Context()
	id := ID(tok)
	s, err := m.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, false, nil
	}
	if err != nil {
		return storage.Session{}, false, fmt.Errorf("get session: %w", err)
	}
	now := m.now()
	if m.expired(s, now) {
		if err := m.store.DeleteSession(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.Session{}, false, fmt.Errorf("delete expired session: %w", err)
		}
		return storage.Session{}, false, nil
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		// A failed touch only shortens the idle window; the request itself may go on.
		if err := m.store.TouchSession(ctx, id, now); err != nil {
			m.logger.WarnContext(ctx, "touch session", "err", err)
		} else {
			s.LastSeenAt = now
		}
	}
	return s, true, nil
}

// Live reports whether s is within both the idle and the absolute timeout now.
func (m *Manager) Live(s storage.Session) bool {
	return !m.expired(s, m.now())
}

// expired reports whether s is past its idle or absolute timeout at now.
func (m *Manager) expired(s storage.Session, now time.Time) bool {
	return !now.Before(s.ExpiresAt) ||
		now.Sub(s.CreatedAt) >= m.cfg.Absolute ||
		now.Sub(s.LastSeenAt) >= m.cfg.Idle
}

// Login is who logs in, and from where, as the new session's row records it.
type Login struct {
	UserID string
	// AMR are the authentication methods used (OIDC Core 1.0 §2 amr).
	AMR []string
	// IP and UserAgent are the client's address and User-Agent, bounded by the caller.
	IP, UserAgent string
}

// Start logs l.UserID in: it ends the session r came with, if any, and issues a new session
// id (a new id at every login, against session fixation: OWASP ASVS 5.0 V7.2).
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, l Login) (storage.Session, error) {
	ctx := r.Context()
	if old := m.Token(r); old != "" {
		// The previous session ends: the apps signed in through it hear of it (back-channel
		// logout) and sign in again under the new session's sid.
		err := m.store.InTx(ctx, func(ctx context.Context) error {
			if m.logouts != nil {
				if _, err := m.logouts.LogoutSession(ctx, ID(old), "", m.requestID(w, r)); err != nil {
					return err
				}
			}
			return m.store.DeleteSession(ctx, ID(old))
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.Session{}, fmt.Errorf("delete previous session: %w", err)
		}
	}
	raw := make([]byte, tokenLen)
	rand.Read(raw) // crypto/rand.Read never returns an error since Go 1.24; it crashes instead.
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := m.now()
	s := storage.Session{
		ID:         ID(tok),
		UserID:     l.UserID,
		AuthTime:   now,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.cfg.Absolute),
		AMR:        l.AMR,
		IP:         l.IP,
		UserAgent:  l.UserAgent,
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return storage.Session{}, fmt.Errorf("create session: %w", err)
	}
	cookie := sessions.NewSession(m.cookies, m.cookieName)
	opts := *m.cookies.Options
	cookie.Options = &opts
	cookie.Values[tokenKey] = tok
	if err := m.cookies.Save(r, w, cookie); err != nil {
		return storage.Session{}, fmt.Errorf("write session cookie: %w", err)
	}
	return s, nil
}

// End deletes the session of r's cookie and clears the cookie. The apps signed in through the
// session hear of its end (back-channel logout), queued in the transaction that deletes it,
// except clientID, the app that asked for the logout ("" for Facet's own). It returns the
// session and whether this call ended a live one: an expired or unknown session, or one
// another request ended first, is only cleared, nobody being signed in to leave.
func (m *Manager) End(w http.ResponseWriter, r *http.Request, clientID string) (storage.Session, bool, error) {
	m.ClearCookie(w)
	tok := m.Token(r)
	if tok == "" {
		return storage.Session{}, false, nil
	}
	ctx := r.Context()
	id := ID(tok)
	s, err := m.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, false, nil
	}
	if err != nil {
		return storage.Session{}, false, fmt.Errorf("get session: %w", err)
	}
	requestID := m.requestID(w, r)
	err = m.store.InTx(ctx, func(ctx context.Context) error {
		if m.logouts != nil {
			if _, err := m.logouts.LogoutSession(ctx, id, clientID, requestID); err != nil {
				return err
			}
		}
		return m.store.DeleteSession(ctx, id)
	})
	if errors.Is(err, storage.ErrNotFound) {
		// Another request ended it first.
		return storage.Session{}, false, nil
	} else if err != nil {
		return storage.Session{}, false, fmt.Errorf("delete session: %w", err)
	}
	return s, m.Live(s), nil
}

// ClearCookie tells the browser to drop the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	opts := *m.cookies.Options
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(m.cookieName, "", &opts))
}

// RecentAuth is how recent a session's login must be for a sensitive change.
func (m *Manager) RecentAuth() time.Duration { return m.cfg.RecentAuth }

// NeedsReauth reports whether the browser session s logged in longer than RecentAuth ago.
// A zero session (a bearer call, checked on its token's login time instead) never does.
func (m *Manager) NeedsReauth(s storage.Session) bool {
	return s.ID != "" && m.now().Sub(s.AuthTime) > m.cfg.RecentAuth
}
