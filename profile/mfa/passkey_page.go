package mfa

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// passkeysPage is the page that lists, adds, renames and removes the account's passkeys.
// Adding one needs JavaScript (navigator.credentials.create); renaming and removing work
// without.
const passkeysPage = "/profile/security/passkeys"

// passkeyRow is one passkey on the page.
type passkeyRow struct {
	ID, Name       string
	Added, Used    string
	Synced         bool
	Remove         profile.Confirmation
	NameError      string
	NameValue      string
	RenameExpanded bool
}

// passkeysPageData is passkeys.html's data.
type passkeysPageData struct {
	Passkeys []passkeyRow
	// Reauth is the sign-in-again link when the last login is too old to add or remove a
	// passkey (recent_auth).
	Reauth string
	Notice string
	Alert  string
	Full   bool // the account holds maxPasskeys
}

// passkeyNotices are the notices the page shows after a redirect.
var passkeyNotices = map[string]string{
	"added":   "passkey.notice.added",
	"renamed": "passkey.notice.renamed",
	"removed": "passkey.notice.removed",
}

// zoneOf is the zone of the zoneinfo profile field, UTC when unset or unknown.
func zoneOf(values map[string]string) *time.Location {
	if z := values["zoneinfo"]; z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}

// passkeyLines are the facts of a passkey: when it was added and last used, and whether it is
// synced.
func passkeyLines(l templates.Lang, p storage.Passkey, loc *time.Location) (added, used string) {
	added = l.T("passkey.added", l.DateTime(p.CreatedAt.In(loc)))
	if !p.LastUsedAt.IsZero() {
		used = l.T("passkey.used", l.DateTime(p.LastUsedAt.In(loc)))
	} else {
		used = l.T("passkey.never_used")
	}
	return added, used
}

func removeConfirmation(l templates.Lang, p storage.Passkey) profile.Confirmation {
	return profile.Confirmation{
		ID:          "remove-passkey-" + p.ID,
		Title:       l.T("passkey.remove.title", p.Name),
		Consequence: l.T("passkey.remove.consequence"),
		Button:      l.T("passkey.remove.button"),
		Action:      passkeysPage + "/" + p.ID + "/remove",
		CancelURL:   passkeysPage,
	}
}

// showPasskeys renders the page for u with data's notices; rename carries a refused rename.
func (h *Handler) showPasskeys(w http.ResponseWriter, r *http.Request, status int, u storage.User, s storage.Session, data passkeysPageData, rename map[string][2]string) {
	ctx := r.Context()
	keys, err := h.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "list passkeys", err)
		return
	}
	a, err := h.kit.LoadAccount(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return
	}
	l, loc := templates.LangFrom(ctx), zoneOf(a.Values)
	for _, p := range keys {
		row := passkeyRow{ID: p.ID, Name: p.Name, Synced: p.BackupEligible, Remove: removeConfirmation(l, p), NameValue: p.Name}
		row.Added, row.Used = passkeyLines(l, p, loc)
		if bad, ok := rename[p.ID]; ok {
			row.NameValue, row.NameError, row.RenameExpanded = bad[0], bad[1], true
		}
		data.Passkeys = append(data.Passkeys, row)
	}
	data.Full = len(keys) >= maxPasskeys
	if h.kit.NeedsReauth(s) {
		data.Reauth = profile.ReauthURL(passkeysPage)
	}
	h.kit.RenderSidebar(w, r, status, "passkeys", profile.NewSidebar(a, "/profile"), data)
}

// passkeysPage: GET /profile/security/passkeys.
func (h *Handler) passkeysPage(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	var data passkeysPageData
	if key, ok := passkeyNotices[r.URL.Query().Get("notice")]; ok {
		data.Notice = templates.Tr(r.Context(), key)
	}
	h.showPasskeys(w, r, http.StatusOK, u, s, data, nil)
}

// passkeysOpen: POST /profile/security/passkeys, the Security block's button, leads to the
// page.
func (h *Handler) passkeysOpen(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, passkeysPage, http.StatusSeeOther)
}

// renameForm: POST /profile/security/passkeys/{id}/rename with name.
func (h *Handler) renameForm(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return
	}
	id, name := mux.Vars(r)["id"], r.PostForm.Get("name")
	_, err := h.rename(r.Context(), h.kit.Origin(r), u.ID, id, name)
	if e, ok := profile.AsError(err); ok {
		if e.Status == http.StatusNotFound {
			h.kit.ErrorPage(w, r, http.StatusNotFound)
			return
		}
		h.showPasskeys(w, r, e.Status, u, s, passkeysPageData{},
			map[string][2]string{id: {name, e.Text(templates.LangFrom(r.Context()))}})
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "rename passkey", err)
		return
	}
	http.Redirect(w, r, passkeysPage+"?notice=renamed", http.StatusSeeOther)
}

// removeConfirm: GET /profile/security/passkeys/{id}/remove, the confirmation without
// JavaScript.
func (h *Handler) removeConfirm(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	p, err := h.ownPasskey(r.Context(), u.ID, mux.Vars(r)["id"])
	if !h.pageRefusal(w, r, err) {
		return
	}
	if h.kit.NeedsReauth(s) {
		http.Redirect(w, r, profile.ReauthURL(passkeysPage), http.StatusSeeOther)
		return
	}
	h.kit.ConfirmPage(w, r, u, removeConfirmation(templates.LangFrom(r.Context()), p))
}

// removeForm: POST /profile/security/passkeys/{id}/remove.
func (h *Handler) removeForm(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return
	}
	if h.kit.NeedsReauth(s) {
		http.Redirect(w, r, profile.ReauthURL(passkeysPage), http.StatusSeeOther)
		return
	}
	if !h.pageRefusal(w, r, h.remove(r.Context(), h.kit.Origin(r), u.ID, mux.Vars(r)["id"])) {
		return
	}
	http.Redirect(w, r, passkeysPage+"?notice=removed", http.StatusSeeOther)
}

// pageRefusal answers err on a page (404 for another user's passkey, the 5xx page for the
// rest) and returns false; nil returns true.
func (h *Handler) pageRefusal(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return true
	}
	if e, ok := profile.AsError(err); ok {
		h.kit.ErrorPage(w, r, e.Status)
		return false
	}
	h.kit.ServerError(w, r, "passkey", err)
	return false
}

// SecurityPasskeys is the passkey list of the profile page's Security block
// (profile.Deps.Security): each passkey with when it was added and last used, then the
// button to the passkeys page, where they are added, renamed and removed (with a
// confirmation).
func (h *Handler) SecurityPasskeys(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
	if h.rp == nil {
		return "", nil, false, nil
	}
	keys, err := h.store.ListPasskeys(ctx, v.User.ID)
	if err != nil {
		return "", nil, false, err
	}
	l, loc := templates.LangFrom(ctx), zoneOf(v.Values)
	items := make([]profile.SecurityItem, 0, len(keys)+1)
	for _, p := range keys {
		added, used := passkeyLines(l, p, loc)
		it := profile.SecurityItem{Title: p.Name, Lines: []string{added + " · " + used}}
		if p.BackupEligible {
			it.Mark = l.T("passkey.synced")
		}
		items = append(items, it)
	}
	manage := profile.SecurityItem{Title: l.T("passkey.manage.title"), Lines: []string{l.T("passkey.manage.text")},
		Action: &profile.ItemAction{URL: passkeysPage, Label: l.T("passkey.manage.button"), AriaLabel: l.T("passkey.manage.button"), Icon: "key"}}
	if len(keys) == 0 {
		manage.Title = l.T("passkey.none")
	}
	items = append(items, manage)
	return l.T("passkey.title"), items, true, nil
}
