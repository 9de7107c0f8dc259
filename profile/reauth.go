package profile

import (
	"net/http"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// NeedsReauth reports whether the browser session s logged in too long ago to change a
// contact. Bearer calls (zero session) are checked on their token's login time instead
// (APIReauth).
func (h *Handler) NeedsReauth(s storage.Session) bool { return h.sessions.NeedsReauth(s) }

// ReauthURL is the login page that asks for the password again and comes back to page.
func ReauthURL(page string) string {
	return "/login?prompt=login&return_to=" + page
}

// APIReauth answers 403 when an API call needs a fresh login. A bearer call is held to the
// same rule as a browser session, on the login time of the grant its token descends from
// (OIDC auth_time, kept through refreshes): a token is no fresher than the login behind it,
// and refresh tokens live far longer than recent_auth. The app gets a fresh login by sending
// the user through authorization with prompt=login or max_age (OIDC Core §3.1.2.1).
func (h *Handler) APIReauth(w http.ResponseWriter, r *http.Request, c Caller) bool {
	if c.ClientID == "" {
		if !h.NeedsReauth(c.Session) {
			return false
		}
		WriteAPIError(w, http.StatusForbidden, "login_required", templates.Tr(r.Context(), "contacts.reauth.api"))
		return true
	}
	var authTime time.Time
	if v, ok := h.Tokens.(AuthTimeVerifier); ok {
		t, err := v.AccessTokenAuthTime(r.Context(), c.token)
		if err != nil {
			h.APIServerError(w, r, "token auth time", err)
			return true
		}
		authTime = t
	}
	if !authTime.IsZero() && h.Now().Sub(authTime) <= h.sessions.RecentAuth() {
		return false
	}
	WriteAPIError(w, http.StatusForbidden, "login_required", templates.Tr(r.Context(), "contacts.reauth.bearer"))
	return true
}
