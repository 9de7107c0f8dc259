package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile/locale"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// inputView is one form control of the edit and complete pages. Address is a fieldset of
// Parts named "address.<part>".
type inputView struct {
	Name         string
	Label        string
	Input        string // text, date, url, select, address
	Value        string
	Autocomplete string
	MaxLen       int
	Min, Max     string
	Options      []locale.Option
	Groups       []locale.Group // <optgroup>s after Options
	Parts        []inputView
	Hint         string
	Error        string
	Locked       bool
	Mandatory    bool
}

// editPageData is profile_edit.html's data, for a block's edit form (Action /profile/edit)
// and for "Complete your profile" (Action /profile/complete).
type editPageData struct {
	Action   string
	Block    string
	Title    string
	Intro    string
	Alert    string
	Inputs   []inputView
	ReturnTo string

	// Complete is the "Complete your profile" page: Needs are the labels of the missing
	// fields; Flow, when an app's authorization request waits, names the app and cancels
	// the request. The page always offers to log out.
	Complete bool
	Needs    []string
	Flow     *Flow
	// Prefilled says where the values already in the inputs come from ("" when none are).
	Prefilled string
}

// autocomplete maps catalog keys to HTML autofill tokens (HTML Living Standard §4.10.18.7).
var autocomplete = map[string]string{
	"given_name":         "given-name",
	"family_name":        "family-name",
	"middle_name":        "additional-name",
	"nickname":           "nickname",
	"preferred_username": "username",
	"birthdate":          "bday",
	"gender":             "sex",
	"locale":             "language",
	"zoneinfo":           "off",
	"website":            "url",
}

// addressAutocomplete maps address parts to autofill tokens.
var addressAutocomplete = map[string]string{
	"street_address": "street-address",
	"locality":       "address-level2",
	"region":         "address-level1",
	"postal_code":    "postal-code",
	"country":        "country-name",
}

// hints are shown under inputs whose format is not obvious.
var hints = map[string]string{
	"preferred_username": "field.hint.preferred_username",
	"website":            "field.hint.website",
}

// blockTitles are the edit pages' headings.
var blockTitles = map[string]string{
	consent.BlockMain:       "account.edit.main",
	consent.BlockAdditional: "account.edit.additional",
}

// inputFor builds the control of field f, in l, showing value (the stored or the entered value) and,
// for an address, parts (the entered parts, or nil to take them from value).
func (h *Handler) inputFor(l templates.Lang, f consent.Field, value string, parts map[string]string, errs map[string]string) inputView {
	in := inputView{
		Name:         f.Key,
		Label:        l.T(f.Label),
		Input:        f.Input,
		Value:        value,
		Autocomplete: autocomplete[f.Key],
		MaxLen:       f.MaxLen,
		Locked:       f.Locked,
		Mandatory:    f.Mandatory,
	}
	if k, ok := hints[f.Key]; ok {
		in.Hint = l.T(k)
	}
	if msg := errs[f.Key]; msg != "" {
		in.Error = l.T(msg)
	}
	// Language and time zone are pickers; the server still checks the value as a BCP 47
	// tag or an IANA zone (consent.Catalog), whatever a client sends.
	switch f.Key {
	case "locale":
		in.Input, in.Options = "select", locale.LanguageOptions(l, value)
		return in
	case "zoneinfo":
		in.Input = "select"
		in.Options, in.Groups = locale.ZoneOptions(l, value)
		return in
	}
	switch f.Input {
	case "date":
		in.Min = "1900-01-01"
		in.Max = h.Now().Format("2006-01-02")
	case "select":
		in.Options = []locale.Option{{Value: "", Label: l.T("field.none"), Selected: value == ""}}
		for _, o := range f.Options {
			in.Options = append(in.Options, locale.Option{Value: o, Label: l.T("field." + f.Key + "." + o), Selected: o == value})
		}
	case "address":
		if parts == nil {
			a, _ := consent.ParseAddress(value)
			parts = map[string]string{}
			for _, p := range consent.AddressParts() {
				parts[p] = a.Part(p)
			}
		}
		for _, p := range consent.AddressParts() {
			part := inputView{
				Name:         "address." + p,
				Label:        l.T("field.address." + p),
				Input:        "text",
				Value:        parts[p],
				Autocomplete: addressAutocomplete[p],
				MaxLen:       f.MaxLen,
				Locked:       f.Locked,
			}
			if msg := errs["address."+p]; msg != "" {
				part.Error = l.T(msg)
			}
			in.Parts = append(in.Parts, part)
		}
	}
	return in
}

// formChanges reads the posted values of fields: a field absent from the form is not
// changed. Address parts are validated one by one so each gets its own message; their
// messages go into errs as "address.<part>".
func formChanges(form url.Values, fields []consent.Field, errs map[string]string) (map[string]string, map[string]string) {
	changes := map[string]string{}
	var parts map[string]string
	for _, f := range fields {
		if f.Input != "address" {
			if _, ok := form[f.Key]; ok {
				changes[f.Key] = form.Get(f.Key)
			}
			continue
		}
		parts = map[string]string{}
		present := false
		for _, p := range consent.AddressParts() {
			if _, ok := form["address."+p]; ok {
				present = true
			}
			parts[p] = form.Get("address." + p)
		}
		if !present {
			parts = nil
			continue
		}
		a, msgs := consent.ValidateAddress(consent.AddressFrom(parts))
		for p, m := range msgs {
			errs["address."+p] = m
		}
		if len(msgs) == 0 {
			changes[f.Key] = a.Value()
		}
	}
	return changes, parts
}

// editForm shows the form of one block: /profile/edit?block=main|additional.
func (h *Handler) editForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	block := r.URL.Query().Get("block")
	if _, ok := blockTitles[block]; !ok {
		h.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	a, err := h.LoadAccount(r.Context(), u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	data := editPageData{Action: "/profile/edit", Block: block, Title: templates.Tr(r.Context(), blockTitles[block])}
	for _, f := range h.Catalog.Block(block) {
		data.Inputs = append(data.Inputs, h.inputFor(templates.LangFrom(r.Context()), f, a.Values[f.Key], nil, nil))
	}
	h.RenderSidebar(w, r, http.StatusOK, "profile_edit", NewSidebar(a, "/profile"), data)
}

// edit saves one block: every value valid, or nothing saved and the form shown again with
// the entered values and a message next to each wrong field.
func (h *Handler) edit(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	if !h.ParseForm(w, r) {
		return
	}
	block := r.PostForm.Get("block")
	if _, ok := blockTitles[block]; !ok {
		h.ErrorPage(w, r, http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	a, err := h.LoadAccount(ctx, u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	var fields []consent.Field
	for _, f := range h.Catalog.Block(block) {
		if !f.Locked {
			fields = append(fields, f)
		}
	}
	errs := map[string]string{}
	changes, parts := formChanges(r.PostForm, fields, errs)
	if len(errs) == 0 {
		_, errs, err = h.saveProfile(ctx, h.Origin(r), a, changes, nil)
		if err != nil && !errors.Is(err, errValidation) {
			h.ServerError(w, r, "save profile", err)
			return
		}
	}
	if len(errs) == 0 {
		http.Redirect(w, r, "/profile?notice=saved#"+block, http.StatusSeeOther)
		return
	}
	data := editPageData{Action: "/profile/edit", Block: block, Title: templates.Tr(r.Context(), blockTitles[block]), Alert: templates.Tr(r.Context(), "account.edit.not_saved")}
	for _, f := range h.Catalog.Block(block) {
		v := a.Values[f.Key]
		if _, sent := r.PostForm[f.Key]; sent && !f.Locked {
			v = r.PostForm.Get(f.Key) // the value as entered
		}
		data.Inputs = append(data.Inputs, h.inputFor(templates.LangFrom(r.Context()), f, v, partsIf(f, parts), errs))
	}
	h.RenderSidebar(w, r, http.StatusUnprocessableEntity, "profile_edit", NewSidebar(a, "/profile"), data)
}

// partsIf returns the entered address parts for the address field.
func partsIf(f consent.Field, parts map[string]string) map[string]string {
	if f.Input == "address" {
		return parts
	}
	return nil
}

// completeForm asks for the missing mandatory fields only, then goes on to return_to.
func (h *Handler) completeForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	returnTo := SafeReturnTo(r.URL.Query().Get("return_to"))
	a, err := h.LoadAccount(r.Context(), u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	missing := h.missing(a)
	if len(missing) == 0 {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	data, err := h.completePage(r.Context(), returnTo, missing)
	if err != nil {
		h.ServerError(w, r, "completion page", err)
		return
	}
	hints, from, err := h.hints(r.Context(), u, missing)
	if err != nil {
		h.ServerError(w, r, "completion hints", err)
		return
	}
	l := templates.LangFrom(r.Context())
	if len(from) > 0 {
		data.Prefilled = l.T("account.complete.prefilled", strings.Join(from, ", "))
	}
	for _, k := range missing {
		f, _ := h.Catalog.Field(k)
		data.Inputs = append(data.Inputs, h.inputFor(l, f, hints[k], nil, nil))
	}
	h.Render(w, r, http.StatusOK, "profile_edit", data)
}

// hints merges the hint sources' suggestions for the fields in keys, the first source's
// winning, and names the sources that gave one; a suggestion longer than its field's limit is
// left out (the person types the value instead).
func (h *Handler) hints(ctx context.Context, u storage.User, keys []string) (map[string]string, []string, error) {
	out := map[string]string{}
	var from []string
	for _, src := range h.hintSources {
		hs, err := src(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		used := false
		for _, k := range keys {
			v := hs.Values[k]
			f, ok := h.Catalog.Field(k)
			if _, taken := out[k]; taken || !ok || v == "" || (f.MaxLen > 0 && utf8.RuneCountInString(v) > f.MaxLen) {
				continue
			}
			out[k], used = v, true
		}
		if used && hs.From != "" && !slices.Contains(from, hs.From) {
			from = append(from, hs.From)
		}
	}
	return out, from, nil
}

// completePage is the frame of "Complete your profile": what is missing and, when an app's
// authorization request waits in returnTo, which app needs it and the way back to that app.
func (h *Handler) completePage(ctx context.Context, returnTo string, missing []string) (editPageData, error) {
	l := templates.LangFrom(ctx)
	data := editPageData{
		Action:   "/profile/complete",
		Title:    l.T("account.complete.title"),
		Intro:    l.T("account.complete.intro"),
		ReturnTo: returnTo,
		Complete: true,
	}
	for _, k := range missing {
		if f, ok := h.Catalog.Field(k); ok {
			data.Needs = append(data.Needs, l.T(f.Label))
		}
	}
	f, ok, err := h.Flow(ctx, returnTo)
	if err != nil {
		return editPageData{}, err
	}
	if ok {
		data.Flow = &f
		data.Intro = l.T("account.complete.for_app", f.AppName)
	}
	return data, nil
}

// complete saves the missing mandatory fields (each required) and continues to return_to.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	if !h.ParseForm(w, r) {
		return
	}
	r = h.FormLanguage(r)
	ctx := r.Context()
	returnTo := SafeReturnTo(r.PostForm.Get("return_to"))
	a, err := h.LoadAccount(ctx, u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	missing := h.missing(a)
	var fields []consent.Field
	for _, k := range missing {
		f, _ := h.Catalog.Field(k)
		fields = append(fields, f)
	}
	errs := map[string]string{}
	changes, parts := formChanges(r.PostForm, fields, errs)
	if len(errs) == 0 {
		_, errs, err = h.saveProfile(ctx, h.Origin(r), a, changes, missing)
		if err != nil && !errors.Is(err, errValidation) {
			h.ServerError(w, r, "save profile", err)
			return
		}
	}
	if len(errs) == 0 {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	data, err := h.completePage(ctx, returnTo, missing)
	if err != nil {
		h.ServerError(w, r, "completion page", err)
		return
	}
	data.Alert = templates.Tr(ctx, "account.edit.not_saved")
	for _, f := range fields {
		data.Inputs = append(data.Inputs, h.inputFor(templates.LangFrom(r.Context()), f, r.PostForm.Get(f.Key), partsIf(f, parts), errs))
	}
	h.Render(w, r, http.StatusUnprocessableEntity, "profile_edit", data)
}
