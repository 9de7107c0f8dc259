package profile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/sessions"

	"github.com/facetid/facet/storage"
)

// The session cookie holds one value: a random 256-bit token. The database row is keyed by
// the token's SHA-256, so someone who reads the sessions table learns no cookie.
const (
	sessionTokenKey = "t"
	sessionTokenLen = 32
	// touchEvery limits last_seen_at writes to one a minute per session.
	touchEvery = time.Minute
	// maxUserAgent bounds the stored User-Agent.
	maxUserAgent = 512
)

// sessionID is the row id of a cookie token.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// cookieToken returns the token in r's session cookie, or "" when there is none or it does not
// verify (forged, expired, or signed with another secret).
func (h *Handler) cookieToken(r *http.Request) string {
	s, err := h.cookies.New(r, h.cookieName)
	if err != nil || s.IsNew {
		return ""
	}
	tok, _ := s.Values[sessionTokenKey].(string)
	return tok
}

// Current returns the session of r's cookie when it exists and is within both the idle and
// the absolute timeout. An expired session's row is deleted. It records use (last_seen_at) at
// most once a minute.
func (h *Handler) Current(r *http.Request) (storage.Session, bool, error) {
	tok := h.cookieToken(r)
	if tok == "" {
		return storage.Session{}, false, nil
	}
	ctx := r.Context()
	id := sessionID(tok)
	s, err := h.Store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, false, nil
	}
	if err != nil {
		return storage.Session{}, false, fmt.Errorf("get session: %w", err)
	}
	now := h.Now()
	if sessionExpired(s, now, h.cfg.SessionIdle, h.cfg.SessionAbsolute) {
		if err := h.Store.DeleteSession(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.Session{}, false, fmt.Errorf("delete expired session: %w", err)
		}
		return storage.Session{}, false, nil
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		// A failed touch only shortens the idle window; the request itself may go on.
		if err := h.Store.TouchSession(ctx, id, now); err != nil {
			h.Logger.WarnContext(ctx, "touch session", "err", err)
		} else {
			s.LastSeenAt = now
		}
	}
	return s, true, nil
}

// SessionLive reports whether s is within both the idle and the absolute timeout now.
func (h *Handler) SessionLive(s storage.Session) bool {
	return !sessionExpired(s, h.Now(), h.cfg.SessionIdle, h.cfg.SessionAbsolute)
}

// sessionExpired reports whether s is past its idle or absolute timeout at now.
func sessionExpired(s storage.Session, now time.Time, idle, absolute time.Duration) bool {
	return !now.Before(s.ExpiresAt) ||
		now.Sub(s.CreatedAt) >= absolute ||
		now.Sub(s.LastSeenAt) >= idle
}

// End deletes the session of r's cookie, clears the cookie and records the logout in the
// user's activity log. It is the one way out: POST /logout and RP-initiated logout (oauth) both
// call it, so every logout is recorded exactly once. clientID is the app that asked for the
// logout (recorded as app activity), "" for Facet's own. An expired or unknown session is
// only cleared: nobody was signed in to leave.
func (h *Handler) End(w http.ResponseWriter, r *http.Request, clientID string) error {
	h.clearCookie(w)
	tok := h.cookieToken(r)
	if tok == "" {
		return nil
	}
	ctx := r.Context()
	id := sessionID(tok)
	s, err := h.Store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	// The apps signed in through the session hear of its end (back-channel logout), queued in
	// the transaction that deletes it; the app that asked for the logout knows already.
	requestID := RequestID(w, r)
	err = h.Store.InTx(ctx, func(ctx context.Context) error {
		if h.Logouts != nil {
			if _, err := h.Logouts.LogoutSession(ctx, id, clientID, requestID); err != nil {
				return err
			}
		}
		return h.Store.DeleteSession(ctx, id)
	})
	if errors.Is(err, storage.ErrNotFound) {
		// Another request ended it first and recorded the logout.
		return nil
	} else if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if !sessionExpired(s, h.Now(), h.cfg.SessionIdle, h.cfg.SessionAbsolute) {
		e := Event{Category: CategoryLogout}
		if clientID != "" {
			e = Event{Category: CategoryAppLogout, ClientID: clientID}
		}
		h.Events.Record(ctx, h.Origin(r), s.UserID, e)
	}
	return nil
}

// StartSession logs userID in: it deletes the session r came with, if any, and issues a new
// session id (a new id at every login, against session fixation: OWASP ASVS 5.0 V7.2).
func (h *Handler) StartSession(w http.ResponseWriter, r *http.Request, userID string, amr []string) (storage.Session, error) {
	ctx := r.Context()
	if old := h.cookieToken(r); old != "" {
		// The previous session ends: the apps signed in through it hear of it (back-channel
		// logout) and sign in again under the new session's sid.
		err := h.Store.InTx(ctx, func(ctx context.Context) error {
			if h.Logouts != nil {
				if _, err := h.Logouts.LogoutSession(ctx, sessionID(old), "", RequestID(w, r)); err != nil {
					return err
				}
			}
			return h.Store.DeleteSession(ctx, sessionID(old))
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.Session{}, fmt.Errorf("delete previous session: %w", err)
		}
	}
	raw := make([]byte, sessionTokenLen)
	rand.Read(raw) // crypto/rand.Read never returns an error since Go 1.24; it crashes instead.
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := h.Now()
	s := storage.Session{
		ID:         sessionID(tok),
		UserID:     userID,
		AuthTime:   now,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(h.cfg.SessionAbsolute),
		AMR:        amr,
		IP:         h.clientAddr(r),
		UserAgent:  TruncateUTF8(r.UserAgent(), maxUserAgent),
	}
	if err := h.Store.CreateSession(ctx, s); err != nil {
		return storage.Session{}, fmt.Errorf("create session: %w", err)
	}
	cookie := sessions.NewSession(h.cookies, h.cookieName)
	opts := *h.cookies.Options
	cookie.Options = &opts
	cookie.Values[sessionTokenKey] = tok
	if err := h.cookies.Save(r, w, cookie); err != nil {
		return storage.Session{}, fmt.Errorf("write session cookie: %w", err)
	}
	return s, nil
}

// ClearCookie tells the browser to drop the session cookie, for a caller that ended the
// session's row itself (log out from all devices).
func (h *Handler) ClearCookie(w http.ResponseWriter) { h.clearCookie(w) }

// clearCookie tells the browser to drop the session cookie.
func (h *Handler) clearCookie(w http.ResponseWriter) {
	opts := *h.cookies.Options
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(h.cookieName, "", &opts))
}

// TruncateUTF8 cuts s to at most n bytes without splitting a character, and drops invalid
// bytes.
func TruncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
