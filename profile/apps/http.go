package apps

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Routes registers the Scopes tab and the device list on the page router and their JSON
// routes on the account API. GET on an action's path is its confirmation page (the page
// without JavaScript); only the POST acts.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc("/profile/apps", h.page).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/apps/{client_id}/end-sessions", h.confirmApp(endConfirmation)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/apps/{client_id}/end-sessions", h.pageAppAction(h.EndSessions, "ended")).Methods(http.MethodPost)
	r.HandleFunc("/profile/apps/{client_id}/revoke", h.confirmApp(revokeConfirmation)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/apps/{client_id}/revoke", h.pageAppAction(h.Revoke, "revoked")).Methods(http.MethodPost)
	r.HandleFunc("/profile/sessions/{id}/sign-out", h.pageSignOut).Methods(http.MethodPost)
	r.HandleFunc("/profile/logout-everywhere", h.confirmLogoutEverywhere).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/logout-everywhere", h.pageLogoutEverywhere).Methods(http.MethodPost)

	api.HandleFunc("/apps", h.apiApps).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/apps/{client_id}/end-sessions", h.apiAppAction(h.EndSessions)).Methods(http.MethodPost)
	api.HandleFunc("/apps/{client_id}", h.apiAppAction(h.Revoke)).Methods(http.MethodDelete)
	api.HandleFunc("/sessions", h.apiSessions).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/sessions/{id}", h.apiSignOut).Methods(http.MethodDelete)
	api.HandleFunc("/logout-everywhere", h.apiLogoutEverywhere).Methods(http.MethodPost)
}

// appAction is EndSessions or Revoke.
type appAction func(ctx context.Context, o profile.Origin, requestID, userID, clientID string) error

// apiApp is one app of GET /api/account/apps. LastUsedAt is null when the app holds no
// token of the user any more.
type apiApp struct {
	ClientID       string          `json:"client_id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	LogoURI        string          `json:"logo_uri"`
	HomeURI        string          `json:"home_uri"`
	PolicyURI      string          `json:"policy_uri"`
	Scopes         []string        `json:"scopes"`
	Claims         []string        `json:"claims"`
	DeclinedClaims []string        `json:"declined_claims"`
	GrantedAt      time.Time       `json:"granted_at"`
	LastUsedAt     *time.Time      `json:"last_used_at"`
	ActiveTokens   int             `json:"active_tokens"`
	ActiveSessions int             `json:"active_sessions"`
	Disclosures    []apiDisclosure `json:"disclosures"`
}

// apiDisclosure is a line of the disclosure record: the claim names and the latest time
// they went to the app.
type apiDisclosure struct {
	Claims []string  `json:"claims"`
	At     time.Time `json:"at"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newAPIApp(a App) apiApp {
	out := apiApp{
		ClientID: a.Client.ID, Name: a.Client.Name, Description: a.Client.Description, LogoURI: a.Client.LogoURI,
		HomeURI: a.Client.HomeURI, PolicyURI: a.Client.PolicyURI, Scopes: orEmpty(a.Grant.Scopes),
		Claims: orEmpty(a.Grant.Claims), DeclinedClaims: orEmpty(a.Declined), GrantedAt: a.Grant.CreatedAt,
		ActiveTokens: a.ActiveTokens, ActiveSessions: a.ActiveSessions, Disclosures: make([]apiDisclosure, 0, len(a.Disclosures)),
	}
	if !a.LastUsedAt.IsZero() {
		t := a.LastUsedAt
		out.LastUsedAt = &t
	}
	for _, d := range a.Disclosures {
		out.Disclosures = append(out.Disclosures, apiDisclosure{Claims: orEmpty(d.Claims), At: d.LastAt})
	}
	return out
}

// apiApps serves GET /api/account/apps.
func (h *Handler) apiApps(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	list, err := h.List(r.Context(), c.User.ID)
	if err != nil {
		h.kit.APIServerError(w, r, "list apps", err)
		return
	}
	body := struct {
		Apps []apiApp `json:"apps"`
	}{Apps: make([]apiApp, 0, len(list))}
	for _, a := range list {
		body.Apps = append(body.Apps, newAPIApp(a))
	}
	h.kit.WriteJSON(w, r, http.StatusOK, body)
}

// apiAppAction serves POST /api/account/apps/{client_id}/end-sessions and DELETE
// /api/account/apps/{client_id}: 204, or 404 when the user holds no grant for the app.
func (h *Handler) apiAppAction(act appAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := profile.CallerFrom(r.Context())
		err := act(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), c.User.ID, mux.Vars(r)["client_id"])
		if errors.Is(err, errNoGrant) {
			profile.WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "api.err.app_not_found"))
			return
		}
		if err != nil {
			h.kit.APIServerError(w, r, "app action", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// apiSession is one browser session of GET /api/account/sessions.
type apiSession struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	Device     string    `json:"device"`
	Browser    string    `json:"browser"`
	OS         string    `json:"os"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ClientIDs  []string  `json:"client_ids"`
}

// apiSessions serves GET /api/account/sessions.
func (h *Handler) apiSessions(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	list, err := h.Devices(r.Context(), c.User.ID, c.Session.ID)
	if err != nil {
		h.kit.APIServerError(w, r, "list sessions", err)
		return
	}
	body := struct {
		Sessions []apiSession `json:"sessions"`
	}{Sessions: make([]apiSession, 0, len(list))}
	for _, d := range list {
		body.Sessions = append(body.Sessions, apiSession{
			ID: d.Handle, Current: d.Current, Device: d.Device, Browser: d.Browser, OS: d.OS, IP: d.IP,
			CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt, ClientIDs: orEmpty(d.ClientIDs),
		})
	}
	h.kit.WriteJSON(w, r, http.StatusOK, body)
}

// apiSignOut serves DELETE /api/account/sessions/{id}: 204, 404 for an id that is not one of
// the caller's live sessions. Signing out the calling session also drops its cookie.
func (h *Handler) apiSignOut(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	current, err := h.SignOut(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), c.User.ID, mux.Vars(r)["id"], c.Session.ID)
	if errors.Is(err, errNoSession) {
		profile.WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "api.err.session_not_found"))
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "sign out session", err)
		return
	}
	if current {
		h.kit.ClearCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiLogoutEverywhere serves POST /api/account/logout-everywhere: 204; afterwards neither
// the calling session nor the calling token works.
func (h *Handler) apiLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if err := h.LogoutEverywhere(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), c.User.ID); err != nil {
		h.kit.APIServerError(w, r, "log out everywhere", err)
		return
	}
	h.kit.ClearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// pageAppAction serves the POST of End Sessions or Revoke Permission, then shows the Scopes
// tab with its notice.
func (h *Handler) pageAppAction(act appAction, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, ok := h.kit.SignedIn(w, r)
		if !ok {
			return
		}
		clientID := mux.Vars(r)["client_id"]
		err := act(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), u.ID, clientID)
		if errors.Is(err, errNoGrant) {
			h.kit.ErrorPage(w, r, http.StatusNotFound)
			return
		}
		if err != nil {
			h.kit.ServerError(w, r, "app action", err)
			return
		}
		http.Redirect(w, r, "/profile/apps?done="+done, http.StatusSeeOther)
	}
}

// confirmApp serves GET on an app action's path: its confirmation page, 404 when the user
// holds no grant for the app.
func (h *Handler) confirmApp(c func(l templates.Lang, a storage.UserApp) profile.Confirmation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, ok := h.kit.SignedIn(w, r)
		if !ok {
			return
		}
		list, err := h.store.ListUserApps(r.Context(), u.ID, h.now())
		if err != nil {
			h.kit.ServerError(w, r, "list apps", err)
			return
		}
		id := mux.Vars(r)["client_id"]
		for _, a := range list {
			if a.Client.ID == id {
				h.kit.ConfirmPage(w, r, u, c(templates.LangFrom(r.Context()), a))
				return
			}
		}
		h.kit.ErrorPage(w, r, http.StatusNotFound)
	}
}

// pageSignOut serves POST /profile/sessions/{id}/sign-out. Signing out this very session
// leads to the login page.
func (h *Handler) pageSignOut(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	current, err := h.SignOut(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), u.ID, mux.Vars(r)["id"], s.ID)
	if errors.Is(err, errNoSession) {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "sign out session", err)
		return
	}
	if current {
		h.kit.ClearCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/profile/apps?done=signed_out#devices", http.StatusSeeOther)
}

// confirmLogoutEverywhere serves GET /profile/logout-everywhere: the confirmation page.
func (h *Handler) confirmLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	h.kit.ConfirmPage(w, r, u, logoutEverywhereConfirmation(templates.LangFrom(r.Context())))
}

// pageLogoutEverywhere serves POST /profile/logout-everywhere and lands on the login page.
func (h *Handler) pageLogoutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	if err := h.LogoutEverywhere(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), u.ID); err != nil {
		h.kit.ServerError(w, r, "log out everywhere", err)
		return
	}
	h.kit.ClearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
