package catalog

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"unicode"

	"github.com/gorilla/mux"
	"golang.org/x/text/language"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/templates"
)

// Routes registers the Catalog window and the star's form on the page router, and the
// catalog and favorites on the account API (/api/account). Each answers 404 while the
// feature is off.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc(PathCatalog, h.page).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathFavorites+"{client_id}", h.star).Methods(http.MethodPost)

	api.HandleFunc("/catalog", h.apiCatalog).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/favorites/{client_id}", h.apiFavorite(true)).Methods(http.MethodPut)
	api.HandleFunc("/favorites/{client_id}", h.apiFavorite(false)).Methods(http.MethodDelete)
}

func langTag(ctx context.Context) language.Tag { return templates.LangFrom(ctx).Tag() }

// featureOn answers 404 (JSON or page) and returns false when the feature is off, 5xx when
// the switch cannot be read.
func (h *Handler) featureOn(w http.ResponseWriter, r *http.Request, api bool) bool {
	on, err := h.Enabled(r.Context())
	switch {
	case err != nil && api:
		h.kit.APIServerError(w, r, "feature switch", err)
	case err != nil:
		h.kit.ServerError(w, r, "feature switch", err)
	case !on && api:
		notFoundJSON(w, r)
	case !on:
		h.kit.ErrorPage(w, r, http.StatusNotFound)
	}
	return err == nil && on
}

func notFoundJSON(w http.ResponseWriter, r *http.Request) {
	profile.WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "catalog.api.not_found"))
}

// catalogPage is catalog/catalog.html's data.
type catalogPage struct {
	Groups []groupView
	Notice string
}

type groupView struct {
	ID    string // the heading's element id
	Title string
	Apps  []appView
}

// appView is one app of the Catalog window.
type appView struct {
	ID          string // the element id
	Name        string
	Initial     string // shown instead of a logo
	Description string
	Logo        string
	Home        string // "" when the app has none: its name is not a link
	Favorite    bool
	Action      string // the star's form
	Star        string // the star's words: add to / remove from favorites
}

func (h *Handler) newCatalogPage(l templates.Lang, groups []Group) catalogPage {
	var p catalogPage
	n := 0
	for i, g := range groups {
		gv := groupView{ID: "catalog-group-" + strconv.Itoa(i+1), Title: g.Type}
		if g.Type == "" {
			gv.Title = l.T("catalog.group.other")
		}
		for _, a := range g.Apps {
			n++
			v := appView{ID: "catalog-app-" + strconv.Itoa(n), Name: a.Name, Initial: initial(a.Name, a.ClientID),
				Description: a.Description, Logo: safeHTTPURL(a.LogoURI), Home: safeHTTPURL(a.HomeURI),
				Favorite: a.Favorite, Action: PathFavorites + url.PathEscape(a.ClientID), Star: l.T("catalog.star.add", a.Name)}
			if a.Favorite {
				v.Star = l.T("catalog.star.remove", a.Name)
			}
			gv.Apps = append(gv.Apps, v)
		}
		p.Groups = append(p.Groups, gv)
	}
	return p
}

// initial is the first letter or digit of name (of id without a name), upper-cased.
func initial(name, id string) string {
	for _, s := range []string{name, id} {
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return string(unicode.ToUpper(r))
			}
		}
	}
	return "?"
}

// appName is the name of app clientID in groups.
func appName(groups []Group, clientID string) (string, bool) {
	for _, g := range groups {
		for _, a := range g.Apps {
			if a.ClientID == clientID {
				return a.Name, true
			}
		}
	}
	return "", false
}

// notices are the messages the star's redirect asks the window to show (PRG).
var notices = map[string]string{"added": "catalog.notice.added", "removed": "catalog.notice.removed"}

// page is GET /profile/catalog: the Catalog window (with JavaScript it opens over the page
// its button is on).
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.featureOn(w, r, false) {
		return
	}
	ctx := r.Context()
	groups, err := h.Catalog(ctx, u.ID, langTag(ctx))
	if err != nil {
		h.kit.ServerError(w, r, "catalog", err)
		return
	}
	l := templates.LangFrom(ctx)
	p := h.newCatalogPage(l, groups)
	// The notice names the app the star changed, as the catalog shows it: a name from the
	// query would let a link put any words here.
	if key, ok := notices[r.URL.Query().Get("notice")]; ok {
		if name, ok := appName(groups, r.URL.Query().Get("app")); ok {
			p.Notice = l.T(key, name)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	h.kit.RenderAccount(w, r, http.StatusOK, "catalog/catalog", PathCatalog, u, p)
}

// star is POST /profile/catalog/favorites/{client_id} (favorite=on|off), the star beside an
// app: back to the window, which says what changed.
func (h *Handler) star(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.featureOn(w, r, false) || !h.kit.ParseForm(w, r) {
		return
	}
	ctx := r.Context()
	id := mux.Vars(r)["client_id"]
	var on bool
	switch r.PostForm.Get("favorite") {
	case "on":
		on = true
	case "off":
	default:
		h.kit.ErrorPage(w, r, http.StatusUnprocessableEntity)
		return
	}
	notice, change := "added", h.AddFavorite
	if !on {
		notice, change = "removed", h.RemoveFavorite
	}
	err := change(ctx, u.ID, id)
	switch {
	case errors.Is(err, ErrNotInCatalog):
		h.kit.ErrorPage(w, r, http.StatusNotFound)
	case err != nil:
		h.kit.ServerError(w, r, "favorite", err)
	default:
		q := url.Values{"notice": {notice}, "app": {id}}
		http.Redirect(w, r, PathCatalog+"?"+q.Encode(), http.StatusSeeOther)
	}
}

// apiApp is one app of GET /api/account/catalog.
type apiApp struct {
	ClientID    string `json:"client_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	LogoURI     string `json:"logo_uri"`
	HomeURI     string `json:"home_uri"`
	Favorite    bool   `json:"favorite"`
}

// apiGroup is one type of GET /api/account/catalog; "" is the Other group.
type apiGroup struct {
	Type string   `json:"type"`
	Apps []apiApp `json:"apps"`
}

// apiCatalog is GET /api/account/catalog: {"groups": [{"type", "apps": [...]}]}.
func (h *Handler) apiCatalog(w http.ResponseWriter, r *http.Request) {
	if !h.featureOn(w, r, true) {
		return
	}
	ctx := r.Context()
	groups, err := h.Catalog(ctx, profile.CallerFrom(ctx).User.ID, langTag(ctx))
	if err != nil {
		h.kit.APIServerError(w, r, "catalog", err)
		return
	}
	body := struct {
		Groups []apiGroup `json:"groups"`
	}{Groups: make([]apiGroup, 0, len(groups))}
	for _, g := range groups {
		ag := apiGroup{Type: g.Type, Apps: make([]apiApp, 0, len(g.Apps))}
		for _, a := range g.Apps {
			ag.Apps = append(ag.Apps, apiApp{ClientID: a.ClientID, Name: a.Name, Description: a.Description,
				LogoURI: a.LogoURI, HomeURI: a.HomeURI, Favorite: a.Favorite})
		}
		body.Groups = append(body.Groups, ag)
	}
	h.kit.WriteJSON(w, r, http.StatusOK, body)
}

// apiFavorite is PUT (add) and DELETE (remove) /api/account/favorites/{client_id}: 204, or
// 404 for an app not in the caller's catalog.
func (h *Handler) apiFavorite(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.featureOn(w, r, true) {
			return
		}
		ctx := r.Context()
		change := h.RemoveFavorite
		if add {
			change = h.AddFavorite
		}
		err := change(ctx, profile.CallerFrom(ctx).User.ID, mux.Vars(r)["client_id"])
		switch {
		case errors.Is(err, ErrNotInCatalog):
			notFoundJSON(w, r)
		case err != nil:
			h.kit.APIServerError(w, r, "favorite", err)
		default:
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
		}
	}
}
