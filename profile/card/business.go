package card

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// CardPath is where the cards live: CardPath + identifier.
const CardPath = "/api/cards/"

// Card returns u's card, creating it with a random identifier the first time (the first of
// concurrent creations wins; a random identifier that happens to be taken is drawn again).
func (h *Handler) Card(ctx context.Context, userID string) (storage.Card, error) {
	c, err := h.store.GetCard(ctx, userID)
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return c, err
	}
	now := h.now().UTC()
	for range 5 {
		c, err = h.store.CreateCardIfAbsent(ctx, storage.Card{UserID: userID, Identifier: randomIdentifier(), CreatedAt: now, UpdatedAt: now})
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return c, err
		}
	}
	return storage.Card{}, fmt.Errorf("create card of %q: %w", userID, err)
}

// UpdateCard changes u's card: the Activity switch when active is set, the identifier when
// identifier is set (checked first: errInvalidIdentifier, errReservedIdentifier; then
// errIdentifierTaken when another card holds it ignoring case). The old identifier is free
// as soon as it returns.
func (h *Handler) UpdateCard(ctx context.Context, userID string, active *bool, identifier *string) (storage.Card, error) {
	if identifier != nil {
		if err := checkIdentifier(*identifier); err != nil {
			return storage.Card{}, err
		}
	}
	c, err := h.Card(ctx, userID)
	if err != nil {
		return storage.Card{}, err
	}
	if active != nil {
		c.Active = *active
	}
	if identifier != nil {
		c.Identifier = *identifier
	}
	c.UpdatedAt = h.now().UTC().Truncate(time.Microsecond)
	err = h.store.UpdateCard(ctx, c)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return storage.Card{}, errIdentifierTaken
	}
	if err != nil {
		return storage.Card{}, err
	}
	return c, nil
}

// URL is the card's absolute address.
func (h *Handler) URL(c storage.Card) string {
	return h.issuer + CardPath + url.PathEscape(c.Identifier)
}

// cardBody is the account API's card: {"available", "active", "identifier", "url"}.
// available says whether the card answers at url now (the user switched it on and the
// account is active; the feature is on, or the route would be 404).
type cardBody struct {
	Available  bool   `json:"available"`
	Active     bool   `json:"active"`
	Identifier string `json:"identifier"`
	URL        string `json:"url"`
}

func (h *Handler) newCardBody(c storage.Card, u storage.User) cardBody {
	return cardBody{Available: c.Active && u.Status == storage.UserActive, Active: c.Active, Identifier: c.Identifier, URL: h.URL(c)}
}

// featureOn answers 404 (JSON or page) and returns false when the feature is off, 5xx when
// that cannot be read.
func (h *Handler) featureOn(w http.ResponseWriter, r *http.Request, api bool) bool {
	on, err := h.CardEnabled(r.Context())
	switch {
	case err != nil && api:
		h.kit.APIServerError(w, r, "feature switch", err)
	case err != nil:
		h.kit.ServerError(w, r, "feature switch", err)
	case !on && api:
		notFoundJSON(w, r)
	case !on:
		h.notFoundPage(w, r)
	}
	return err == nil && on
}

// apiGetCard is GET /api/account/card.
func (h *Handler) apiGetCard(w http.ResponseWriter, r *http.Request) {
	if !h.featureOn(w, r, true) {
		return
	}
	caller := profile.CallerFrom(r.Context())
	c, err := h.Card(r.Context(), caller.User.ID)
	if err != nil {
		h.kit.APIServerError(w, r, "get card", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, h.newCardBody(c, caller.User))
}

// cardUpdate is PUT /api/account/card's body; either member may be left out.
type cardUpdate struct {
	Active     *bool   `json:"active"`
	Identifier *string `json:"identifier"`
}

// apiPutCard is PUT /api/account/card: 200 the card, 409 identifier_taken, 422
// invalid_identifier.
func (h *Handler) apiPutCard(w http.ResponseWriter, r *http.Request) {
	if !h.featureOn(w, r, true) {
		return
	}
	var body cardUpdate
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	ctx := r.Context()
	caller := profile.CallerFrom(ctx)
	c, err := h.UpdateCard(ctx, caller.User.ID, body.Active, body.Identifier)
	switch {
	case errors.Is(err, errInvalidIdentifier), errors.Is(err, errReservedIdentifier):
		msg := identifierMessage(ctx, err)
		profile.WriteAPIErrorFields(w, http.StatusUnprocessableEntity, "invalid_identifier", msg, map[string]string{"identifier": msg})
	case errors.Is(err, errIdentifierTaken):
		msg := identifierMessage(ctx, err)
		profile.WriteAPIErrorFields(w, http.StatusConflict, "identifier_taken", msg, map[string]string{"identifier": msg})
	case err != nil:
		h.kit.APIServerError(w, r, "update card", err)
	default:
		h.kit.WriteJSON(w, r, http.StatusOK, h.newCardBody(c, caller.User))
	}
}

// identifierMessage is the sentence a person reads for an identifier refused by err.
func identifierMessage(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, errReservedIdentifier):
		return templates.Tr(ctx, "card.err.reserved")
	case errors.Is(err, errIdentifierTaken):
		return templates.Tr(ctx, "card.err.taken")
	default:
		return templates.Tr(ctx, "card.err.invalid", minIdentifier, maxIdentifier)
	}
}

// cardForm is POST /profile/card: the Business Card block's Activity toggle (active=on|off)
// or the identifier form (identifier=...). A refused identifier shows the form again with
// the message and the value typed (422).
func (h *Handler) cardForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.featureOn(w, r, false) || !h.kit.ParseForm(w, r) {
		return
	}
	var active *bool
	switch r.PostForm.Get("active") {
	case "on":
		active = new(true)
	case "off":
		active = new(false)
	case "":
	default:
		h.kit.ErrorPage(w, r, http.StatusUnprocessableEntity)
		return
	}
	var ident *string
	if _, set := r.PostForm["identifier"]; set {
		v := strings.TrimSpace(r.PostForm.Get("identifier"))
		ident = &v
	}
	_, err := h.UpdateCard(r.Context(), u.ID, active, ident)
	switch {
	case errors.Is(err, errInvalidIdentifier), errors.Is(err, errReservedIdentifier), errors.Is(err, errIdentifierTaken):
		stored, gerr := h.Card(r.Context(), u.ID)
		if gerr != nil {
			h.kit.ServerError(w, r, "get card", gerr)
			return
		}
		v := h.newBlockView(stored)
		v.Typed, v.Error = *ident, identifierMessage(r.Context(), err)
		h.kit.RenderAccount(w, r, http.StatusUnprocessableEntity, "card/edit", "/profile", u, v)
	case err != nil:
		h.kit.ServerError(w, r, "update card", err)
	default:
		http.Redirect(w, r, "/profile?notice=saved#business-card", http.StatusSeeOther)
	}
}

// editPage is GET /profile/card/edit: the identifier form (with JavaScript, a window over
// the profile page).
func (h *Handler) editPage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.featureOn(w, r, false) {
		return
	}
	c, err := h.Card(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "get card", err)
		return
	}
	v := h.newBlockView(c)
	v.Typed = c.Identifier
	h.kit.RenderAccount(w, r, http.StatusOK, "card/edit", "/profile", u, v)
}

// blockView is the data of the Business Card block and its pages (edit, QR code).
type blockView struct {
	Active     bool
	Identifier string // the stored one
	Typed      string // the value in the identifier input
	Error      string
	URL        string
	Min, Max   int
}

func (h *Handler) newBlockView(c storage.Card) blockView {
	return blockView{Active: c.Active, Identifier: c.Identifier, URL: h.URL(c), Min: minIdentifier, Max: maxIdentifier}
}

// Block is the profile page's Business Card block (profile.Deps.Blocks); it is left out
// while the feature is off.
func (h *Handler) Block(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) {
	on, err := h.CardEnabled(ctx)
	if err != nil || !on {
		return profile.ActionBlock{}, false, err
	}
	c, err := h.Card(ctx, u.ID)
	if err != nil {
		return profile.ActionBlock{}, false, err
	}
	l := templates.LangFrom(ctx)
	body, err := h.kit.Templates.Fragment(l, "card-block", h.newBlockView(c))
	if err != nil {
		return profile.ActionBlock{}, false, fmt.Errorf("render business card block: %w", err)
	}
	return profile.ActionBlock{ID: "business-card", Title: l.T("card.block.title"), Body: body}, true, nil
}

// qrPage is GET /profile/card/qr: Open QR code — the card's QR code and link, large enough
// to scan from the screen. With JavaScript it opens as a window over the profile page.
func (h *Handler) qrPage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.featureOn(w, r, false) {
		return
	}
	c, err := h.Card(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "get card", err)
		return
	}
	h.kit.RenderAccount(w, r, http.StatusOK, "card/qr", "/profile", u, h.newBlockView(c))
}

// shown is a card that answers: the feature on, the card switched on, the account active.
type shown struct {
	Card storage.Card
	Data storage.ReleaseData
}

// lookup finds the card at identifier, or errNotPublic for every kind of absence (unknown,
// released, switched off, account not active) — the same 404 for all.
func (h *Handler) lookup(ctx context.Context, identifier string) (shown, error) {
	on, err := h.CardEnabled(ctx)
	if err != nil {
		return shown{}, err
	}
	if !on || checkIdentifier(identifier) != nil && !errors.Is(checkIdentifier(identifier), errReservedIdentifier) {
		return shown{}, errNotPublic
	}
	c, err := h.store.GetCardByIdentifier(ctx, identifier)
	if errors.Is(err, storage.ErrNotFound) {
		return shown{}, errNotPublic
	}
	if err != nil {
		return shown{}, fmt.Errorf("get card: %w", err)
	}
	if !c.Active {
		return shown{}, errNotPublic
	}
	d, err := h.store.GetReleaseData(ctx, c.UserID, "")
	if errors.Is(err, storage.ErrNotFound) {
		return shown{}, errNotPublic
	}
	if err != nil {
		return shown{}, fmt.Errorf("release data: %w", err)
	}
	if d.User.Status != storage.UserActive {
		return shown{}, errNotPublic
	}
	return shown{Card: c, Data: d}, nil
}

// contactOf is the card's content.
func (h *Handler) contactOf(s shown) (contact, time.Time) {
	c := contact{Sub: s.Data.User.ID, Email: s.Data.User.Email}
	last := s.Card.UpdatedAt
	if s.Data.User.UpdatedAt.After(last) {
		last = s.Data.User.UpdatedAt
	}
	for _, f := range s.Data.Fields {
		switch f.Field {
		case "given_name":
			c.Given = f.Value
		case "family_name":
			c.Family = f.Value
		case "phone_number":
			c.Phone = f.Value
		case "birthdate":
			c.Birthdate = f.Value
		case "picture":
			if h.photoID(f.Value) != "" {
				c.Picture = h.URL(s.Card) + "/photo"
			}
		default:
			continue
		}
		if f.Value != "" && f.UpdatedAt.After(last) {
			last = f.UpdatedAt
		}
	}
	c.Rev = last.UTC()
	return c, last.UTC().Truncate(time.Second)
}

// photoID is the id of one of Facet's photos the picture value names, or "".
func (h *Handler) photoID(picture string) string {
	if h.photoPrefix == "" {
		return ""
	}
	id, ok := strings.CutPrefix(picture, h.photoPrefix)
	if !ok || id == "" || strings.ContainsAny(id, "/?#") {
		return ""
	}
	return id
}

// etag is a strong validator of the card's content in one representation.
func etag(repr string, c contact) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%+v", repr, c))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// notModified answers 304 when the request's validators match (RFC 9110 §13.1.2: If-None-
// Match wins over If-Modified-Since).
func notModified(w http.ResponseWriter, r *http.Request, tag string, last time.Time) bool {
	hd := w.Header()
	hd.Set("ETag", tag)
	hd.Set("Last-Modified", last.UTC().Format(http.TimeFormat))
	// no-cache: a cache must revalidate, so a card switched off is gone at once.
	hd.Set("Cache-Control", "public, no-cache")
	hd.Set("Vary", "Accept, Accept-Language")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for t := range strings.SplitSeq(inm, ",") {
			if t = strings.TrimSpace(t); t == tag || t == "*" || strings.TrimPrefix(t, "W/") == tag {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
		return false
	}
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !last.After(ims) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// cardPageData is card/card.html's data.
type cardPageData struct {
	Name      string
	Initials  string
	Picture   string
	Email     string
	Phone     string
	Birthdate string
	URL       string
	VCard     string
}

// requestedCard is the card the request's {identifier} names. When there is none to show
// it has answered (the one 404, or a 5xx for a failure) and returns false.
func (h *Handler) requestedCard(w http.ResponseWriter, r *http.Request) (shown, bool) {
	s, err := h.lookup(r.Context(), mux.Vars(r)["identifier"])
	if errors.Is(err, errNotPublic) {
		h.notFoundPage(w, r)
		return shown{}, false
	}
	if err != nil {
		h.kit.ServerError(w, r, "business card", err)
		return shown{}, false
	}
	return s, true
}

// cardPage is GET /api/cards/{identifier}: the card for a browser, or its vCard with
// Accept: text/vcard or ?format=vcf. No session is needed.
func (h *Handler) cardPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, ok := h.requestedCard(w, r)
	if !ok {
		return
	}
	c, last := h.contactOf(s)
	if wantsVCard(r) {
		if notModified(w, r, etag("vcf", c), last) {
			return
		}
		h.writeVCard(w, r, c, "public, no-cache")
		return
	}
	l := templates.LangFrom(ctx)
	if notModified(w, r, etag("html:"+string(l), c), last) {
		return
	}
	v := cardPageData{Name: strings.Join(nonEmpty(c.Given, c.Family), " "), Picture: c.Picture, Email: c.Email, Phone: c.Phone,
		URL: h.URL(s.Card), VCard: CardPath + url.PathEscape(s.Card.Identifier) + "?format=vcf"}
	if t, err := time.Parse(time.DateOnly, c.Birthdate); err == nil {
		v.Birthdate = l.Date(t)
	}
	v.Initials = initials(v.Name, c.Email)
	h.kit.Render(w, r, http.StatusOK, "card/card", v)
}

// initials are the first letters of the first two words of name, or of the email.
func initials(name, email string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		out = append(out, []rune(strings.ToUpper(w))[0])
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 && email != "" {
		out = append(out, []rune(strings.ToUpper(email))[0])
	}
	return string(out)
}

// cardPhoto is GET /api/cards/{identifier}/photo: the card's photo, served while the card
// answers, whatever the picture's privacy level (the card's exception).
func (h *Handler) cardPhoto(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, ok := h.requestedCard(w, r)
	if !ok {
		return
	}
	var id string
	for _, f := range s.Data.Fields {
		if f.Field == "picture" {
			id = h.photoID(f.Value)
		}
	}
	if id == "" {
		h.notFoundPage(w, r)
		return
	}
	p, err := h.store.GetPhoto(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && p.UserID != s.Card.UserID {
		h.notFoundPage(w, r)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "get photo", err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", p.ContentType)
	hd.Set("ETag", `"`+p.ID+`"`)
	hd.Set("Cache-Control", "public, no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", p.CreatedAt, bytes.NewReader(p.Data))
}

// notFoundPage is the one 404 of the card routes: not stored by caches, so a card switched
// on shows at once.
func (h *Handler) notFoundPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.kit.ErrorPage(w, r, http.StatusNotFound)
}

// trNotFound is the 404's sentence.
func trNotFound(r *http.Request) string { return templates.Tr(r.Context(), "card.err.not_found") }

// ExportCard is userID's card for the data export (lifecycle.CardSource), nil when the user
// never had one. It does not create one.
func (h *Handler) ExportCard(ctx context.Context, userID string) (*lifecycle.Card, error) {
	c, err := h.store.GetCard(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &lifecycle.Card{Identifier: c.Identifier, URL: h.URL(c), Active: c.Active, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}, nil
}
