package card

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Public is a public profile: what consent.Release gives the public profile (Claims, sub
// included) and the vCard (VCard), of an active user.
type Public struct {
	User   storage.User
	Claims map[string]any
	VCard  map[string]any
}

// Empty reports whether nothing but sub is public.
func (p Public) Empty() bool { return len(p.Claims) <= 1 }

// PublicProfile returns userID's public profile, decided by consent.Release from the current
// fields, levels and private-profile switch (read at call time, so a field made private is
// gone at once). errNotPublic when the user is unknown or not active.
func (h *Handler) PublicProfile(ctx context.Context, userID string) (Public, error) {
	d, err := h.store.GetReleaseData(ctx, userID, "")
	if errors.Is(err, storage.ErrNotFound) {
		return Public{}, errNotPublic
	}
	if err != nil {
		return Public{}, fmt.Errorf("release data of %q: %w", userID, err)
	}
	if d.User.Status != storage.UserActive {
		return Public{}, errNotPublic
	}
	in := consent.ReleaseInput{Issuer: h.issuer, User: d.User, Fields: d.Fields, Catalog: h.catalog(), PrivateProfile: d.PrivateProfile}
	in.Target = consent.TargetPublicProfile
	claims := consent.Release(in)
	in.Target = consent.TargetVCard
	return Public{User: d.User, Claims: claims, VCard: consent.Release(in)}, nil
}

// publicBody is the JSON of a public profile: {"sub", "fields": {claim: value}, "picture"}.
type publicBody struct {
	Sub     string         `json:"sub"`
	Fields  map[string]any `json:"fields"`
	Picture *string        `json:"picture"`
}

func newPublicBody(p Public) publicBody {
	b := publicBody{Sub: p.User.ID, Fields: map[string]any{}}
	for k, v := range p.Claims {
		switch k {
		case "sub":
		case "picture":
			if s, ok := v.(string); ok {
				b.Picture = &s
			}
		default:
			b.Fields[k] = v
		}
	}
	return b
}

// wantsVCard reports whether the Accept header prefers a vCard (text/vcard, or the older
// text/x-vcard) to JSON (RFC 9110 §12.5.1: the highest q wins; a tie keeps JSON).
func wantsVCard(r *http.Request) bool {
	if r.URL.Query().Get("format") == "vcf" {
		return true
	}
	var vq, jq float64 = 0, -1
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "text/vcard", "text/x-vcard":
			vq = max(vq, q)
		case "application/json":
			jq = max(jq, q)
		}
	}
	return vq > 0 && vq > jq
}

// writeVCard sends c as a vCard download.
func (h *Handler) writeVCard(w http.ResponseWriter, r *http.Request, c contact, cache string) {
	b, err := encodeVCard(c)
	if err != nil {
		h.kit.APIServerError(w, r, "encode vCard", err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/vcard; charset=utf-8")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fileName(c)}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", cache)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// revOf is the vCard's REV: the latest change of a released field, else the account's.
func revOf(p Public) time.Time {
	if u, ok := p.VCard["updated_at"].(int64); ok && u > 0 {
		return time.Unix(u, 0).UTC()
	}
	return p.User.UpdatedAt
}

// answerPublic writes p as JSON, or as a vCard when r asks for one.
func (h *Handler) answerPublic(w http.ResponseWriter, r *http.Request, p Public) {
	w.Header().Set("Vary", "Accept, Cookie, Authorization")
	if wantsVCard(r) {
		h.writeVCard(w, r, fromClaims(p.VCard, revOf(p)), "private, no-store")
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, newPublicBody(p))
}

// apiUserPublic is GET /api/users/{sub}/public: another user's public profile, for a
// signed-in user's browser session or any active access token Facet issued (a connected
// app). Unknown, pending deletion, and private or empty profiles are the same 404, so the
// answer never tells whether an account exists.
func (h *Handler) apiUserPublic(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if ok := h.publicCaller(w, r); !ok {
		return
	}
	p, err := h.PublicProfile(ctx, mux.Vars(r)["sub"])
	if errors.Is(err, errNotPublic) || err == nil && p.Empty() {
		w.Header().Set("Vary", "Accept, Cookie, Authorization")
		notFoundJSON(w, r)
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "public profile", err)
		return
	}
	h.answerPublic(w, r, p)
}

// publicCaller lets a request through that carries a signed-in, active user's session or an
// active access token; otherwise it answers 401 (or 503 when that cannot be known) and
// returns false.
func (h *Handler) publicCaller(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || h.tokens == nil {
			profile.WriteAPIError(w, http.StatusUnauthorized, "invalid_token", templates.Tr(ctx, "api.err.bearer_format"))
			return false
		}
		_, _, _, err := h.tokens.VerifyAccessToken(ctx, strings.TrimSpace(token))
		if errors.Is(err, storage.ErrUnavailable) {
			h.kit.APIServerError(w, r, "verify access token", err)
			return false
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			profile.WriteAPIError(w, http.StatusUnauthorized, "invalid_token", templates.Tr(ctx, "api.err.token_inactive"))
			return false
		}
		return true
	}
	s, ok, err := h.kit.Current(r)
	if err != nil {
		h.kit.APIServerError(w, r, "current session", err)
		return false
	}
	if ok {
		d, err := h.store.GetReleaseData(ctx, s.UserID, "")
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.kit.APIServerError(w, r, "get user", err)
			return false
		}
		if err == nil && d.User.Status == storage.UserActive {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer`)
	profile.WriteAPIError(w, http.StatusUnauthorized, "login_required", templates.Tr(ctx, "api.err.login_required"))
	return false
}

// apiOwnPublic is GET /api/account/public-profile: the caller's own public profile, as
// others see it (an empty one is still 200: fields {}).
func (h *Handler) apiOwnPublic(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	p, err := h.PublicProfile(r.Context(), c.User.ID)
	if errors.Is(err, errNotPublic) {
		notFoundJSON(w, r)
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "public profile", err)
		return
	}
	h.answerPublic(w, r, p)
}

// publicPage is card/public.html's data: the Public Data window.
type publicPage struct {
	Empty   bool
	Private bool
	Picture string
	Name    string
	Rows    []publicRow
}

// publicRow is one public field, labelled as the profile page labels it.
type publicRow struct {
	Label string
	Value string
	Lines []string
}

// publicOrder is the order of the window's rows (the catalog's order; name first).
var publicOrder = []string{"name", "nickname", "preferred_username", "birthdate", "gender", "email", "phone_number",
	"website", "address", "locale", "zoneinfo"}

// page is GET /profile/public: the owner's public profile exactly as others see it, with
// Export vCard. With JavaScript it opens as a window over the profile page (data-edit).
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p, err := h.PublicProfile(ctx, u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "public profile", err)
		return
	}
	d, err := h.store.GetReleaseData(ctx, u.ID, "")
	if err != nil {
		h.kit.ServerError(w, r, "release data", err)
		return
	}
	l := templates.LangFrom(ctx)
	v := publicPage{Empty: p.Empty(), Private: d.PrivateProfile}
	v.Picture, _ = p.Claims["picture"].(string)
	v.Name, _ = p.Claims["name"].(string)
	for _, k := range publicOrder {
		val, ok := p.Claims[k]
		if !ok {
			continue
		}
		label := k
		if k == "name" {
			label = "card.public.name"
		} else if f, ok := h.catalog().Field(k); ok {
			label = f.Label
		}
		row := publicRow{Label: l.T(label)}
		switch x := val.(type) {
		case string:
			row.Value = x
			if k == "birthdate" {
				if t, err := time.Parse(time.DateOnly, x); err == nil {
					row.Value = l.Date(t)
				}
			}
		case map[string]any:
			for _, part := range append(consent.AddressParts(), "formatted") {
				if s, ok := x[part].(string); ok && s != "" {
					row.Lines = append(row.Lines, strings.Split(s, "\n")...)
				}
			}
		default:
			continue
		}
		v.Rows = append(v.Rows, row)
	}
	h.kit.RenderAccount(w, r, http.StatusOK, "card/public", "/profile", u, v)
}

// pageVCard is GET /profile/public/vcard: the Export vCard button's download.
func (h *Handler) pageVCard(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	p, err := h.PublicProfile(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "public profile", err)
		return
	}
	h.writeVCard(w, r, fromClaims(p.VCard, revOf(p)), "private, no-store")
}

// PublicDataLink is the Profile Privacy block's Public Data button (profile.Deps.PrivacyLinks).
func PublicDataLink(ctx context.Context, _ storage.User) (profile.Link, bool, error) {
	return profile.Link{Label: templates.Tr(ctx, "card.public.button"), URL: "/profile/public", Icon: "globe", Window: true}, true, nil
}
