package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/templates"
)

// The account API's profile routes call the same service functions as the pages
// (LoadAccount, saveProfile, changePassword); they only translate JSON.

// apiField is one profile field: its value (a string, the address object, or null when
// empty) and its privacy level (the stored one or the catalog default).
type apiField struct {
	Value   json.RawMessage `json:"value"`
	Privacy consent.Level   `json:"privacy"`
}

// apiContact is the email or the phone number. A phone number is only ever stored once
// verified, so it is verified whenever present.
type apiContact struct {
	Value    *string       `json:"value"`
	Verified bool          `json:"verified"`
	Privacy  consent.Level `json:"privacy"`
}

// apiProfile is GET /api/account/profile's body.
type apiProfile struct {
	Sub              string              `json:"sub"`
	Fields           map[string]apiField `json:"fields"`
	Email            apiContact          `json:"email"`
	PhoneNumber      apiContact          `json:"phone_number"`
	Picture          *string             `json:"picture"`
	MissingMandatory []string            `json:"missing_mandatory"`
	// PrivateProfile is the switch of PUT /api/account/private-profile; while it is on,
	// "public" fields are shared only on request.
	PrivateProfile bool `json:"private_profile"`
}

// newAPIProfile renders a as the API shows it.
func (h *Handler) newAPIProfile(a Account) apiProfile {
	p := apiProfile{
		Sub:              a.User.ID,
		Fields:           map[string]apiField{},
		Email:            apiContact{Value: nonEmpty(a.User.Email), Verified: a.User.EmailVerified, Privacy: a.Levels["email"]},
		PhoneNumber:      apiContact{Value: nonEmpty(a.Values["phone_number"]), Verified: a.Values["phone_number"] != "", Privacy: a.Levels["phone_number"]},
		MissingMandatory: h.Catalog.Missing(a.Values),
		PrivateProfile:   a.Private,
	}
	if p.MissingMandatory == nil {
		p.MissingMandatory = []string{}
	}
	if pic := a.Values["picture"]; pic != "" {
		abs := strings.TrimSuffix(h.cfg.Issuer, "/") + pic
		p.Picture = &abs
	}
	for _, f := range h.Catalog.Fields() {
		if f.Block != consent.BlockMain && f.Block != consent.BlockAdditional {
			continue
		}
		p.Fields[f.Key] = apiField{Value: apiValue(f, a.Values[f.Key]), Privacy: a.Levels[f.Key]}
	}
	return p
}

// apiValue is a stored value as JSON: null when empty, the address as its object.
func apiValue(f consent.Field, v string) json.RawMessage {
	if v == "" {
		return json.RawMessage("null")
	}
	if f.Input == "address" {
		if a, err := consent.ParseAddress(v); err == nil {
			if b, err := json.Marshal(a); err == nil {
				return b
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil { // a string always marshals
		return json.RawMessage("null")
	}
	return b
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// apiGetProfile: GET /api/account/profile.
func (h *Handler) apiGetProfile(w http.ResponseWriter, r *http.Request) {
	c := CallerFrom(r.Context())
	a, err := h.LoadAccount(r.Context(), c.User)
	if err != nil {
		h.APIServerError(w, r, "load account", err)
		return
	}
	h.WriteJSON(w, r, http.StatusOK, h.newAPIProfile(a))
}

// apiPatchProfile: PATCH /api/account/profile with {"key": value, ...}; a string sets, null
// or "" clears, the address takes its object. Every value valid or 422 and nothing saved.
func (h *Handler) apiPatchProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := CallerFrom(ctx)
	var body map[string]json.RawMessage
	if !DecodeJSON(w, r, &body) {
		return
	}
	changes, errs := apiChanges(h.Catalog, body)
	a, err := h.LoadAccount(ctx, c.User)
	if err != nil {
		h.APIServerError(w, r, "load account", err)
		return
	}
	if len(errs) == 0 {
		_, errs, err = h.saveProfile(ctx, h.Origin(r), a, changes, nil)
		if err != nil && !errors.Is(err, errValidation) {
			h.APIServerError(w, r, "save profile", err)
			return
		}
	}
	if len(errs) > 0 {
		writeValidation(w, r, errs)
		return
	}
	if a, err = h.LoadAccount(ctx, c.User); err != nil {
		h.APIServerError(w, r, "load account", err)
		return
	}
	h.WriteJSON(w, r, http.StatusOK, h.newAPIProfile(a))
}

// apiChanges turns a PATCH body into the entered values; a value of the wrong JSON type is a
// field error.
func apiChanges(cat *consent.Catalog, body map[string]json.RawMessage) (map[string]string, map[string]string) {
	changes := map[string]string{}
	errs := map[string]string{}
	for k, raw := range body {
		f, ok := cat.Field(k)
		if !ok {
			errs[k] = consent.MsgUnknownField
			continue
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case bytes.Equal(raw, []byte("null")):
			changes[k] = ""
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				errs[k] = "field.err.type"
				continue
			}
			changes[k] = s
		case len(raw) > 0 && raw[0] == '{' && f.Input == "address":
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var addr consent.Address
			if dec.Decode(&addr) != nil {
				errs[k] = consent.MsgAddress
				continue
			}
			changes[k] = addr.Value()
		default:
			errs[k] = "field.err.type"
		}
	}
	return changes, errs
}

// writeValidation answers 422 {"error":"validation_failed","fields":{key: text}}, the texts
// in r's language.
func writeValidation(w http.ResponseWriter, r *http.Request, errs map[string]string) {
	l := templates.LangFrom(r.Context())
	fields := make(map[string]string, len(errs))
	for k, msg := range errs {
		fields[k] = l.T(msg)
	}
	writeAPIError(w, http.StatusUnprocessableEntity, apiError{
		Error:       "validation_failed",
		Description: l.T("account.api.validation_failed"),
		Fields:      fields,
	})
}

// apiPasswordRequest is PUT /api/account/password's body.
type apiPasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// apiPutPassword: PUT /api/account/password → 204. The current password is required from
// every caller, bearer tokens included: it is the re-authentication a sensitive change
// needs (OWASP ASVS 5.0 V7.5). A wrong one is 403 and counts toward the per-account login throttle (429 when over).
// Success ends every session and token of the user, the caller's own included.
func (h *Handler) apiPutPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := CallerFrom(ctx)
	var body apiPasswordRequest
	if !DecodeJSON(w, r, &body) {
		return
	}
	errs, retry, err := h.changePassword(ctx, h.Origin(r), c.User, passwordChange{Current: body.CurrentPassword, New: body.NewPassword, RequestID: RequestID(w, r)})
	switch {
	case err == nil:
		if c.ClientID == "" {
			h.ClearCookie(w)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, errValidation):
		writeValidation(w, r, errs)
	case errors.Is(err, errWrongPassword):
		WriteAPIError(w, http.StatusForbidden, "invalid_current_password", templates.Tr(r.Context(), "account.password.wrong"))
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		WriteAPIError(w, http.StatusTooManyRequests, "too_many_attempts", ThrottleMessage(templates.LangFrom(r.Context()), retry))
	default:
		h.APIServerError(w, r, "change password", err)
	}
}
