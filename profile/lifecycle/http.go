package lifecycle

import (
	"errors"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Paths of the pages.
const (
	pathExport = "/profile/export"
	pathPolicy = "/profile/policy"
	pathDelete = "/profile/delete"
)

// Routes registers the pages on the page router and the JSON routes on the account API.
// POST /api/account/restore is on the page router under the API's path: the account API
// admits only active accounts, and restoring is what a session of a pending account may do.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc(pathExport, h.pageExport).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(pathPolicy, h.policy).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(pathDelete, h.confirmDelete).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(pathDelete, h.pageDelete).Methods(http.MethodPost)
	r.HandleFunc(profile.RestorePath, h.restorePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(profile.RestorePath, h.pageRestore).Methods(http.MethodPost)
	r.HandleFunc(profile.PendingDeletionPath, h.pendingPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(profile.APIPrefix+"/restore", h.apiRestore).Methods(http.MethodPost)

	api.HandleFunc("/export", h.apiExport).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/delete", h.apiDelete).Methods(http.MethodPost)
}

// exportName is the download's file name.
func (h *Handler) exportName() string {
	return "facet-data-" + h.now().UTC().Format("2006-01-02") + ".json"
}

// serveExport streams u's export as a JSON download. Everything but the activity log is read
// before the answer starts, so a failure there is a proper 5xx; one while streaming the log
// can only cut the body short (logged).
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, u storage.User, fail func(w http.ResponseWriter, r *http.Request, what string, err error)) {
	e, err := h.prepareExport(r.Context(), u)
	if err != nil {
		fail(w, r, "prepare export", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": h.exportName()}))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := h.writeExport(r.Context(), w, u.ID, e); err != nil {
		h.logger.ErrorContext(r.Context(), "stream export", "user_id", u.ID, "err", err)
	}
}

// pageExport serves Download Data: GET /profile/export.
func (h *Handler) pageExport(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	h.serveExport(w, r, u, h.kit.ServerError)
}

// apiExport serves GET /api/account/export: the same document.
func (h *Handler) apiExport(w http.ResponseWriter, r *http.Request) {
	h.serveExport(w, r, profile.CallerFrom(r.Context()).User, h.kit.APIServerError)
}

// policy serves GET /profile/policy: the configured document, else the shipped default in
// the reader's language, as a download. It is public: the policy is for anyone deciding
// whether to register.
func (h *Handler) policy(w http.ResponseWriter, r *http.Request) {
	p := h.cfg.Policy
	if len(p.Body) == 0 {
		var err error
		if p, err = defaultPolicy(templates.LangFrom(r.Context())); err != nil {
			h.kit.ServerError(w, r, "default policy", err)
			return
		}
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": p.Name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(p.Body)))
	// An HTML policy opened from the downloads runs nothing of ours (CSP sandbox).
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := w.Write(p.Body); err != nil {
			h.logger.DebugContext(r.Context(), "write policy", "err", err)
		}
	}
}

// deleteConfirmation is the Delete account dialog (and its page without JavaScript).
func (h *Handler) deleteConfirmation(l templates.Lang, u storage.User) profile.Confirmation {
	days := int(math.Ceil(h.cfg.Grace.Hours() / 24))
	c := profile.Confirmation{
		ID:          "delete-account-dialog",
		Title:       l.T("lifecycle.delete.title"),
		Consequence: l.N("lifecycle.delete.consequence", days),
		Button:      l.T("lifecycle.delete.button"),
		Action:      pathDelete,
		CancelURL:   "/profile#other-actions",
	}
	if u.PasswordHash != "" {
		c.Password = l.T("lifecycle.delete.password")
	} else {
		c.Consequence += " " + l.T("lifecycle.delete.no_password")
	}
	return c
}

// confirmDelete serves GET /profile/delete: the deletion dialog as a page.
func (h *Handler) confirmDelete(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	h.kit.ConfirmPage(w, r, u, h.deleteConfirmation(templates.LangFrom(r.Context()), u))
}

// pageDelete serves POST /profile/delete: on success the person is logged out and lands on
// the login page, which says how to restore the account.
func (h *Handler) pageDelete(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	if !h.kit.ParseForm(w, r) {
		return
	}
	l := templates.LangFrom(r.Context())
	_, retry, err := h.Delete(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), u,
		DeleteRequest{Password: r.PostForm.Get("password"), RecentLogin: !h.kit.NeedsReauth(s)})
	c := h.deleteConfirmation(l, u)
	switch {
	case err == nil:
		h.kit.ClearCookie(w)
		http.Redirect(w, r, "/login?notice=account_deleted", http.StatusSeeOther)
	case errors.Is(err, errWrongPassword):
		c.PasswordError = l.T("lifecycle.delete.wrong_password")
		h.kit.ConfirmPageStatus(w, r, http.StatusForbidden, u, c)
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		c.PasswordError = profile.ThrottleMessage(l, retry)
		h.kit.ConfirmPageStatus(w, r, http.StatusTooManyRequests, u, c)
	case errors.Is(err, errReauth):
		http.Redirect(w, r, profile.ReauthURL(pathDelete), http.StatusSeeOther)
	default:
		h.kit.ServerError(w, r, "delete account", err)
	}
}

// apiDelete serves POST /api/account/delete {"password"}: 202 {"status": "pending_deletion",
// "purge_after"}; 403 invalid_current_password when the password is wrong (nothing happens).
func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Password string `json:"password"`
	}
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	c := profile.CallerFrom(r.Context())
	if c.User.PasswordHash == "" && h.kit.APIReauth(w, r, c) {
		return
	}
	d, retry, err := h.Delete(r.Context(), h.kit.Origin(r), profile.RequestID(w, r), c.User,
		DeleteRequest{Password: body.Password, RecentLogin: true})
	switch {
	case err == nil:
		if c.Session.ID != "" {
			h.kit.ClearCookie(w)
		}
		h.kit.WriteJSON(w, r, http.StatusAccepted, struct {
			Status     string    `json:"status"`
			PurgeAfter time.Time `json:"purge_after"`
		}{storage.UserPendingDeletion, d.PurgeAfter})
	case errors.Is(err, errWrongPassword):
		profile.WriteAPIError(w, http.StatusForbidden, "invalid_current_password", templates.Tr(r.Context(), "lifecycle.delete.wrong_password"))
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		profile.WriteAPIError(w, http.StatusTooManyRequests, "too_many_attempts", profile.ThrottleMessage(templates.LangFrom(r.Context()), retry))
	default:
		h.kit.APIServerError(w, r, "delete account", err)
	}
}

// pendingUser returns the account of r's browser session when it is pending deletion. ok
// false: there is none (no session, or an active account), and the caller answers that.
func (h *Handler) pendingUser(r *http.Request) (storage.User, bool, error) {
	s, ok, err := h.kit.Current(r)
	if err != nil || !ok {
		return storage.User{}, false, err
	}
	u, err := h.store.GetUser(r.Context(), s.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, false, nil
	}
	if err != nil {
		return storage.User{}, false, err
	}
	return u, u.Status == storage.UserPendingDeletion, nil
}

// restorePageData is lifecycle/restore.html's data.
type restorePageData struct {
	Email      string
	PurgeAfter string
	DateTime   string
}

// restorePage serves GET /profile/restore: for a session of a pending account, the pending
// deletion with Restore account and nothing else; anyone else goes on to the profile (which
// asks for a login when nobody is signed in).
func (h *Handler) restorePage(w http.ResponseWriter, r *http.Request) {
	u, ok, err := h.pendingUser(r)
	if err != nil {
		h.kit.ServerError(w, r, "pending account", err)
		return
	}
	if !ok {
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
		return
	}
	d, err := h.store.GetDeletion(r.Context(), u.ID)
	if errors.Is(err, storage.ErrNotFound) {
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "get deletion", err)
		return
	}
	l := templates.LangFrom(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	h.kit.Render(w, r, http.StatusOK, "lifecycle/restore", restorePageData{
		Email: u.Email, PurgeAfter: l.DateTime(d.PurgeAfter) + " UTC", DateTime: d.PurgeAfter.Format(time.RFC3339),
	})
}

// pageRestore serves POST /profile/restore and lands on the profile.
func (h *Handler) pageRestore(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	u, ok, err := h.pendingUser(r)
	if err != nil {
		h.kit.ServerError(w, r, "pending account", err)
		return
	}
	if !ok {
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
		return
	}
	if err := h.Restore(r.Context(), h.kit.Origin(r), u.ID); err != nil && !errors.Is(err, errNotPending) {
		h.kit.ServerError(w, r, "restore account", err)
		return
	}
	http.Redirect(w, r, "/profile?notice=restored", http.StatusSeeOther)
}

// apiRestore serves POST /api/account/restore for a browser session of a pending account:
// 200 {"status": "active"}; 401 login_required without such a session (an active account's
// session included: there is nothing to restore).
func (h *Handler) apiRestore(w http.ResponseWriter, r *http.Request) {
	u, ok, err := h.pendingUser(r)
	if err != nil {
		h.kit.APIServerError(w, r, "pending account", err)
		return
	}
	if !ok {
		profile.WriteAPIError(w, http.StatusUnauthorized, "login_required", templates.Tr(r.Context(), "lifecycle.restore.api_login"))
		return
	}
	if err := h.Restore(r.Context(), h.kit.Origin(r), u.ID); err != nil && !errors.Is(err, errNotPending) {
		h.kit.APIServerError(w, r, "restore account", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, struct {
		Status string `json:"status"`
	}{storage.UserActive})
}

// pendingPageData is lifecycle/pending.html's data.
type pendingPageData struct {
	AppName string
	Flow    *profile.Flow
}

// pendingPage serves GET /login/pending-deletion?return_to=...: an app's sign-in of an
// account pending deletion ends here. It names the app, says the account can be restored
// only by signing in to the personal account, and offers the way back to the app, which then
// receives access_denied. It shows nothing of the account: anyone may open it.
func (h *Handler) pendingPage(w http.ResponseWriter, r *http.Request) {
	returnTo := profile.SafeReturnTo(r.URL.Query().Get("return_to"))
	flow, ok, err := h.kit.Flow(r.Context(), returnTo)
	if err != nil {
		h.kit.ServerError(w, r, "waiting authorization", err)
		return
	}
	data := pendingPageData{}
	if ok {
		data.AppName, data.Flow = flow.AppName, &flow
	}
	w.Header().Set("Cache-Control", "no-store")
	h.kit.Render(w, r, http.StatusOK, "lifecycle/pending", data)
}
