package profile

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/facetid/facet/profile/session"
	"github.com/facetid/facet/storage"
)

// maxUserAgent bounds the stored User-Agent.
const maxUserAgent = 512

// The browser session mechanism is profile/session's; these are the kit's doors to it, adding
// what is profile's: the client's address and the activity log.

// Current returns the session of r's cookie when it exists and is within both the idle and
// the absolute timeout. An expired session's row is deleted. It records use (last_seen_at) at
// most once a minute.
func (h *Handler) Current(r *http.Request) (storage.Session, bool, error) {
	return h.sessions.Current(r)
}

// SessionLive reports whether s is within both the idle and the absolute timeout now.
func (h *Handler) SessionLive(s storage.Session) bool { return h.sessions.Live(s) }

// End deletes the session of r's cookie, clears the cookie and records the logout in the
// user's activity log. It is the one way out: POST /logout and RP-initiated logout (oauth) both
// call it, so every logout is recorded exactly once. clientID is the app that asked for the
// logout (recorded as app activity), "" for Facet's own. An expired or unknown session is
// only cleared: nobody was signed in to leave.
func (h *Handler) End(w http.ResponseWriter, r *http.Request, clientID string) error {
	s, ended, err := h.sessions.End(w, r, clientID)
	if err != nil || !ended {
		return err
	}
	e := Event{Category: CategoryLogout}
	if clientID != "" {
		e = Event{Category: CategoryAppLogout, ClientID: clientID}
	}
	h.Events.Record(r.Context(), h.Origin(r), s.UserID, e)
	return nil
}

// StartSession logs userID in: it deletes the session r came with, if any, and issues a new
// session id (a new id at every login, against session fixation: OWASP ASVS 5.0 V7.2).
func (h *Handler) StartSession(w http.ResponseWriter, r *http.Request, userID string, amr []string) (storage.Session, error) {
	return h.sessions.Start(w, r, session.Login{
		UserID:    userID,
		AMR:       amr,
		IP:        h.clientAddr(r),
		UserAgent: TruncateUTF8(r.UserAgent(), maxUserAgent),
	})
}

// ClearCookie tells the browser to drop the session cookie, for a caller that ended the
// session's row itself (log out from all devices).
func (h *Handler) ClearCookie(w http.ResponseWriter) { h.sessions.ClearCookie(w) }

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
