package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// privacyRoutes registers the per-field privacy forms, the private-profile switch and their
// JSON twins. Each applies at once, without a confirmation step (spec "How to Configure Field
// Privacy", "Disabling Public Profile").
func (h *Handler) privacyRoutes(r, api *mux.Router) {
	r.HandleFunc("/profile/privacy/{field}", h.privacyForm).Methods(http.MethodPost)
	r.HandleFunc("/profile/private-profile", h.privateProfileForm).Methods(http.MethodPost)
	api.HandleFunc("/privacy/{field}", h.apiPutPrivacy).Methods(http.MethodPut)
	api.HandleFunc("/private-profile", h.apiPutPrivateProfile).Methods(http.MethodPut)
}

var (
	errUnknownField      = errors.New("unknown field")
	errUnknownIdentifier = errors.New("unknown identifier")
	errBadLevel          = errors.New("unknown privacy level")
)

// privacy is consent's service over this handler's store and catalog.
func (h *Handler) privacy() (*consent.Service, error) {
	return consent.NewService(h.Store, h.Catalog, h.Logger, h.Now)
}

// setLevel is the one service function behind the form and the API: it checks field (404
// when unknown) and level (422 when not a level), stores the level and records
// privacy_changed.
func (h *Handler) setLevel(ctx context.Context, o Origin, u storage.User, field, level string) error {
	// A linked identifier's level: "identifier:{id}" (its id in GET /api/account/identifiers).
	// An id that is not one of the user's identifiers is unknown (404).
	if id, ok := consent.IdentifierID(field); ok {
		return h.setIdentifierLevel(ctx, o, u, id, level)
	}
	if _, ok := h.Catalog.Field(field); !ok {
		return errUnknownField
	}
	l, ok := consent.ParseLevel(level)
	if !ok {
		return errBadLevel
	}
	svc, err := h.privacy()
	if err != nil {
		return err
	}
	found, err := svc.SetLevel(ctx, u.ID, field, l)
	if err != nil {
		return err
	}
	if !found {
		return errUnknownField
	}
	h.Events.Record(ctx, o, u.ID, Event{Category: CategoryPrivacyChanged, Details: map[string]string{"field": field, "level": string(l)}})
	return nil
}

// setIdentifierLevel stores the level of u's identifier id through consent's setter, after
// checking the identifier is u's. No claim is released from identifiers, so the level is
// kept, shown and exported, and decides nothing else.
func (h *Handler) setIdentifierLevel(ctx context.Context, o Origin, u storage.User, id, level string) error {
	l, ok := consent.ParseLevel(level)
	if !ok {
		return errBadLevel
	}
	ids, err := h.Store.ListIdentifiers(ctx, u.ID)
	if err != nil {
		return err
	}
	found := false
	for _, i := range ids {
		found = found || i.ID == id
	}
	if !found {
		return errUnknownIdentifier
	}
	svc, err := h.privacy()
	if err != nil {
		return err
	}
	key := consent.IdentifierKey(id)
	found, err = svc.SetLevel(ctx, u.ID, key, l)
	if err != nil {
		return err
	}
	if !found {
		return errUnknownIdentifier
	}
	h.Events.Record(ctx, o, u.ID, Event{Category: CategoryPrivacyChanged, Details: map[string]string{"field": key, "level": string(l)}})
	return nil
}

// setPrivateProfile stores the private-profile switch and records privacy_changed.
func (h *Handler) setPrivateProfile(ctx context.Context, o Origin, u storage.User, on bool) error {
	if err := h.Store.SetPrivateProfile(ctx, u.ID, on, h.Now().UTC()); err != nil {
		return err
	}
	state := "off"
	if on {
		state = "on"
	}
	h.Events.Record(ctx, o, u.ID, Event{Category: CategoryPrivacyChanged, Details: map[string]string{"private_profile": state}})
	return nil
}

// privacyForm is POST /profile/privacy/{field} with level=private|on_request|public; it goes
// back to the field on the profile page.
func (h *Handler) privacyForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, http.StatusBadRequest)
		return
	}
	field := mux.Vars(r)["field"]
	switch err := h.setLevel(r.Context(), h.Origin(r), u, field, r.PostForm.Get("level")); {
	case errors.Is(err, errUnknownField), errors.Is(err, errUnknownIdentifier):
		h.ErrorPage(w, r, http.StatusNotFound)
	case errors.Is(err, errBadLevel):
		h.ErrorPage(w, r, http.StatusUnprocessableEntity)
	case err != nil:
		h.ServerError(w, r, "set privacy level", err)
	default:
		// Back to the field itself, with a notice that says what changed.
		http.Redirect(w, r, profileBack(r.PostForm.Get("return_to"), url.Values{"notice": {"privacy"}, "field": {field}})+"#field-"+url.PathEscape(field), http.StatusSeeOther)
	}
}

// profileBack is the profile page a privacy form returns to: with the return_to it carried
// (the waiting authorization request the page leads back to) when that is a same-origin
// path other than the profile page itself. The page checks it again before offering it.
func profileBack(returnTo string, q url.Values) string {
	if rt := SafeReturnTo(returnTo); rt != "/" && rt != "/profile" {
		q.Set("return_to", rt)
	}
	if len(q) == 0 {
		return "/profile"
	}
	return "/profile?" + q.Encode()
}

// privateProfileForm is POST /profile/private-profile with enabled=on|off.
func (h *Handler) privateProfileForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, http.StatusBadRequest)
		return
	}
	var on bool
	switch r.PostForm.Get("enabled") {
	case "on":
		on = true
	case "off":
		on = false
	default:
		h.ErrorPage(w, r, http.StatusUnprocessableEntity)
		return
	}
	if err := h.setPrivateProfile(r.Context(), h.Origin(r), u, on); err != nil {
		h.ServerError(w, r, "set private profile", err)
		return
	}
	http.Redirect(w, r, profileBack(r.PostForm.Get("return_to"), url.Values{"notice": {"private_profile"}})+"#privacy", http.StatusSeeOther)
}

// privacyLevel is the body and answer of PUT /api/account/privacy/{field}.
type privacyLevel struct {
	Field string `json:"field,omitempty"`
	Level string `json:"level"`
}

// apiPutPrivacy is PUT /api/account/privacy/{field} {"level": "..."}.
func (h *Handler) apiPutPrivacy(w http.ResponseWriter, r *http.Request) {
	c := CallerFrom(r.Context())
	var body privacyLevel
	if !DecodeJSON(w, r, &body) {
		return
	}
	field := mux.Vars(r)["field"]
	switch err := h.setLevel(r.Context(), h.Origin(r), c.User, field, body.Level); {
	case errors.Is(err, errUnknownIdentifier):
		WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "privacy.err.identifier"))
	case errors.Is(err, errUnknownField):
		WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "privacy.err.field"))
	case errors.Is(err, errBadLevel):
		writeAPIError(w, http.StatusUnprocessableEntity, apiError{Error: "validation_failed",
			Description: templates.Tr(r.Context(), "privacy.err.level"), Fields: map[string]string{"level": templates.Tr(r.Context(), "privacy.err.level")}})
	case err != nil:
		h.APIServerError(w, r, "set privacy level", err)
	default:
		h.WriteJSON(w, r, http.StatusOK, privacyLevel{Field: field, Level: body.Level})
	}
}

// privateProfile is the body and answer of PUT /api/account/private-profile.
type privateProfile struct {
	Enabled *bool `json:"enabled"`
}

// apiPutPrivateProfile is PUT /api/account/private-profile {"enabled": true|false}.
func (h *Handler) apiPutPrivateProfile(w http.ResponseWriter, r *http.Request) {
	c := CallerFrom(r.Context())
	var body privateProfile
	if !DecodeJSON(w, r, &body) {
		return
	}
	if body.Enabled == nil {
		writeAPIError(w, http.StatusUnprocessableEntity, apiError{Error: "validation_failed",
			Description: templates.Tr(r.Context(), "privacy.err.enabled"), Fields: map[string]string{"enabled": templates.Tr(r.Context(), "privacy.err.enabled")}})
		return
	}
	if err := h.setPrivateProfile(r.Context(), h.Origin(r), c.User, *body.Enabled); err != nil {
		h.APIServerError(w, r, "set private profile", err)
		return
	}
	h.WriteJSON(w, r, http.StatusOK, body)
}
