package federation

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/profile/photo"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// linked is an identifier with its login method.
type linked struct {
	storage.Identifier
	Method storage.LoginMethod
}

// identifiers returns userID's identifiers with their methods, and the public methods that
// can be added.
func (h *Handler) identifiers(ctx context.Context, userID string) ([]linked, []storage.LoginMethod, error) {
	ids, err := h.store.ListIdentifiers(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	methods, err := h.store.ListLoginMethods(ctx)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]storage.LoginMethod{}
	var public []storage.LoginMethod
	for _, m := range methods {
		byID[m.ID] = m
		if m.Public {
			public = append(public, m)
		}
	}
	out := make([]linked, 0, len(ids))
	for _, i := range ids {
		out = append(out, linked{Identifier: i, Method: byID[i.MethodID]})
	}
	return out, public, nil
}

// Block is the profile page's Identifiers block (profile.Deps.Blocks): each linked identifier
// with its provider, the upstream account, when it was linked and last used, and Delete; Add
// leads to the public login methods. It is left out while there is nothing to show or add.
func (h *Handler) Block(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) {
	ids, public, err := h.identifiers(ctx, u.ID)
	if err != nil {
		return profile.ActionBlock{}, false, err
	}
	if len(ids) == 0 && len(public) == 0 {
		return profile.ActionBlock{}, false, nil
	}
	levels, loc, err := h.levels(ctx, u.ID)
	if err != nil {
		return profile.ActionBlock{}, false, err
	}
	private, err := h.kit.Store.GetPrivateProfile(ctx, u.ID)
	if err != nil {
		return profile.ActionBlock{}, false, err
	}
	l := templates.LangFrom(ctx)
	b := profile.ActionBlock{ID: "identifiers", Title: l.T("identifiers.title"), List: true, Empty: l.T("identifiers.none")}
	if len(public) > 0 {
		b.Add = &profile.BlockLink{URL: "/profile/identifiers/add", Label: l.T("identifiers.add")}
	}
	for _, i := range ids {
		// The level button posts to profile's privacy form, which stores the level through
		// consent after checking the identifier is the user's.
		item := profile.BlockItem{ID: "identifier-" + i.ID, Icon: i.Method.IconURL, Title: i.Method.Name,
			Level: profile.NewLevelPicker(l, consent.IdentifierKey(i.ID), l.T("identifiers.delete_hidden", i.Method.Name), levels.of(i.ID), private),
			Remove: &profile.BlockForm{Action: "/profile/identifiers/" + i.ID + "/delete", Label: l.T("identifiers.delete"),
				Hidden: l.T("identifiers.delete_hidden", i.Method.Name)}}
		account := i.Email
		if i.Name != "" && i.Email != "" {
			account = i.Name + " · " + i.Email
		} else if i.Name != "" {
			account = i.Name
		}
		if account != "" {
			item.Lines = append(item.Lines, account)
		}
		item.Lines = append(item.Lines, l.T("identifiers.linked_on", l.DateTime(i.LinkedAt.In(loc))),
			l.T("identifiers.last_used", l.DateTime(i.LastUsedAt.In(loc))))
		b.Items = append(b.Items, item)
	}
	return b, true, nil
}

// addPageData is identifiers_add.html's data.
type addPageData struct {
	Sidebar profile.Sidebar
	Methods []storage.LoginMethod
}

// addPage (GET /profile/identifiers/add) lists the public login methods; with ?method= it
// starts linking that one: the provider's answer comes back to the callback, which links the
// upstream account to the signed-in user.
func (h *Handler) addPage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	_, public, err := h.identifiers(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "list login methods", err)
		return
	}
	if id := r.URL.Query().Get("method"); id != "" {
		for _, m := range public {
			if m.ID == id {
				h.redirect(w, r, m, "/profile", u.ID)
				return
			}
		}
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	h.kit.RenderAccount(w, r, http.StatusOK, "identifiers_add", "/profile", u, addPageData{Methods: public})
}

// unlink is the one delete behind the form and the API: 404 for an id that is not the user's,
// 409 when it is the last way to sign in.
func (h *Handler) unlink(ctx context.Context, o profile.Origin, userID, id, clientID string) error {
	ids, err := h.store.ListIdentifiers(ctx, userID)
	if err != nil {
		return err
	}
	var name string
	for _, i := range ids {
		if i.ID == id {
			if m, err := h.store.GetLoginMethod(ctx, i.MethodID); err == nil {
				name = m.Name
			}
		}
	}
	err = h.store.DeleteIdentifier(ctx, userID, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return profile.Refuse(http.StatusNotFound, "not_found", "identifiers.err.not_found")
	case errors.Is(err, storage.ErrLastSignInMethod):
		return profile.Refuse(http.StatusConflict, "last_sign_in_method", "identifiers.err.last")
	case err != nil:
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryIdentifierDeleted, ClientID: clientID,
		Details: map[string]string{"login_method": name}})
	return nil
}

// deleteForm (POST /profile/identifiers/{id}/delete) removes the identifier at once.
func (h *Handler) deleteForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return
	}
	err := h.unlink(r.Context(), h.kit.Origin(r), u.ID, mux.Vars(r)["id"], "")
	if e, ok := profile.AsError(err); ok {
		if e.Status == http.StatusNotFound {
			h.kit.ErrorPage(w, r, http.StatusNotFound)
			return
		}
		h.fail(w, r, e.Status, "federation.err.last", nil)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "delete identifier", err)
		return
	}
	http.Redirect(w, r, "/profile?notice=identifier_deleted#identifiers", http.StatusSeeOther)
}

// identifierJSON and availableJSON are the account API's shapes.
type identifierJSON struct {
	ID         string    `json:"id"`
	MethodID   string    `json:"method_id"`
	MethodName string    `json:"method_name"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Picture    string    `json:"picture"`
	LinkedAt   time.Time `json:"linked_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Privacy    string    `json:"privacy"`
}

type availableJSON struct {
	MethodID string `json:"method_id"`
	Name     string `json:"name"`
	Icon     string `json:"icon"`
}

// apiList: GET /api/account/identifiers.
func (h *Handler) apiList(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	ids, public, err := h.identifiers(r.Context(), c.User.ID)
	if err != nil {
		h.kit.APIError(w, r, "list identifiers", err)
		return
	}
	levels, _, err := h.levels(r.Context(), c.User.ID)
	if err != nil {
		h.kit.APIError(w, r, "identifier levels", err)
		return
	}
	out := struct {
		Identifiers []identifierJSON `json:"identifiers"`
		Available   []availableJSON  `json:"available"`
	}{Identifiers: []identifierJSON{}, Available: []availableJSON{}}
	for _, i := range ids {
		out.Identifiers = append(out.Identifiers, identifierJSON{ID: i.ID, MethodID: i.MethodID, MethodName: i.Method.Name,
			Subject: i.Subject, Email: i.Email, Name: i.Name, Picture: i.Picture, LinkedAt: i.LinkedAt, LastUsedAt: i.LastUsedAt,
			Privacy: string(levels.of(i.ID))})
	}
	for _, m := range public {
		out.Available = append(out.Available, availableJSON{MethodID: m.ID, Name: m.Name, Icon: m.IconURL})
	}
	w.Header().Set("Cache-Control", "no-store")
	h.kit.WriteJSON(w, r, http.StatusOK, out)
}

// apiDelete: DELETE /api/account/identifiers/{id} → 204; 409 last_sign_in_method; 404.
func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if err := h.unlink(r.Context(), h.kit.Origin(r), c.User.ID, mux.Vars(r)["id"], c.ClientID); err != nil {
		h.kit.APIError(w, r, "delete identifier", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// identifierLevels are the levels a user chose for their identifiers, by identifier id.
type identifierLevels map[string]string

// of is identifier id's level: the one chosen, "Only you" when none was or it is not a level
// (privacy fails closed).
func (l identifierLevels) of(id string) consent.Level {
	return consent.FieldLevel(nil, consent.IdentifierKey(id), l[id])
}

// levels reads userID's identifier levels (the profile fields "identifier:{id}") and the
// user's time zone (the zoneinfo field; UTC when unset), from one read of the profile.
func (h *Handler) levels(ctx context.Context, userID string) (identifierLevels, *time.Location, error) {
	fields, err := h.kit.Store.GetProfileFields(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	out, loc := identifierLevels{}, time.UTC
	for _, f := range fields {
		if id, ok := consent.IdentifierID(f.Field); ok {
			out[id] = f.Privacy
		}
		if f.Field == "zoneinfo" && f.Value != "" {
			if l, err := time.LoadLocation(f.Value); err == nil {
				loc = l
			}
		}
	}
	return out, loc, nil
}

// ExportIdentifiers lists userID's identifiers for the data export (lifecycle.IdentifierSource):
// the provider, the upstream account and the level, never a token or a secret.
func (h *Handler) ExportIdentifiers(ctx context.Context, userID string) ([]lifecycle.Identifier, error) {
	ids, _, err := h.identifiers(ctx, userID)
	if err != nil {
		return nil, err
	}
	levels, _, err := h.levels(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]lifecycle.Identifier, 0, len(ids))
	for _, i := range ids {
		out = append(out, lifecycle.Identifier{ID: i.ID, MethodID: i.MethodID, Method: i.Method.Name, Subject: i.Subject,
			Email: i.Email, Name: i.Name, Picture: i.Picture, LinkedAt: i.LinkedAt, LastUsedAt: i.LastUsedAt,
			Privacy: string(levels.of(i.ID))})
	}
	return out, nil
}

// CompletionHints suggests first and last name for u's "Complete your profile" page
// (profile.HintSource) from the name the first linked upstream account that gave one said:
// its first word and the rest. An account made from an upstream sign-in whose provider gave
// a full name but no family name thus sees the registration form prefilled, and confirms it.
func (h *Handler) CompletionHints(ctx context.Context, u storage.User) (profile.Hints, error) {
	ids, _, err := h.identifiers(ctx, u.ID)
	if err != nil {
		return profile.Hints{}, err
	}
	for _, i := range ids {
		words := strings.Fields(i.Name)
		if len(words) == 0 {
			continue
		}
		out := profile.Hints{From: i.Method.Name, Values: map[string]string{"given_name": words[0]}}
		if len(words) > 1 {
			out.Values["family_name"] = strings.Join(words[1:], " ")
		}
		return out, nil
	}
	return profile.Hints{}, nil
}

// AvailablePictures lists the pictures of userID's linked identifiers (photo.PictureSource),
// for the photo page's Available button.
func (h *Handler) AvailablePictures(ctx context.Context, userID string) ([]photo.AvailablePicture, error) {
	ids, _, err := h.identifiers(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []photo.AvailablePicture
	for _, i := range ids {
		if i.Picture != "" {
			out = append(out, photo.AvailablePicture{URL: i.Picture, Source: i.Method.Name})
		}
	}
	return out, nil
}

// LoginButtons lists the login-page methods as buttons that keep returnTo.
func (h *Handler) LoginButtons(ctx context.Context, returnTo string) ([]signin.LoginButton, error) {
	methods, err := h.store.ListLoginMethods(ctx)
	if err != nil {
		return nil, err
	}
	var out []signin.LoginButton
	for _, m := range methods {
		if m.LoginPage {
			out = append(out, signin.LoginButton{Name: m.Name, Icon: m.IconURL, URL: profile.WithReturnTo(flowPath+m.ID, returnTo)})
		}
	}
	return out, nil
}
