package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/catalog"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// env is the account core with the catalog mounted and wired into the sidebar, as cmd does.
type env struct {
	*profiletest.Env
	h *catalog.Handler
}

func recorder(store storage.Storage, now func() time.Time) profile.Recorder {
	return activity.NewRecorder(store, nil, now)
}

// newEnv builds the env on b's database; on is the configured default of the feature.
func newEnv(t testing.TB, b sqltest.Backend, on bool) *env {
	t.Helper()
	e := &env{}
	e.Env = profiletest.New(t, b, func(_ *profile.Config, d *profile.Deps) {
		d.Favorites = func(ctx context.Context, userID string) (profile.SidebarApps, bool, error) {
			return e.h.Sidebar(ctx, userID)
		}
	}, recorder, func(k profiletest.Kit) []profiletest.Module {
		h, err := catalog.New(catalog.Deps{Kit: k.Core, Store: k.Store, Default: on, Now: k.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.h = h
		return []profiletest.Module{h}
	})
	return e
}

// app is a client of the catalog tests.
type app struct {
	id, name, typ  string
	listed, closed bool
	home           string
}

// addApps registers apps; home defaults to https://<id>.example/.
func (e *env) addApps(apps ...app) {
	e.T.Helper()
	now := e.Clock.Now()
	for _, a := range apps {
		if a.home == "" {
			a.home = "https://" + a.id + ".example/"
		}
		c := storage.Client{ID: a.id, Name: a.name, Description: "About " + a.name, LogoURI: "https://" + a.id + ".example/logo.png",
			HomeURI: a.home, Type: a.typ, InCatalog: a.listed, Closed: a.closed, RedirectURIs: []string{"https://" + a.id + ".example/cb"},
			CreatedAt: now, UpdatedAt: now}
		if err := e.Store.CreateClient(e.T.Context(), c); err != nil {
			e.T.Fatal(err)
		}
	}
}

func (e *env) setFeature(on bool) {
	e.T.Helper()
	if err := e.Store.SetFeature(e.T.Context(), catalog.Feature, on, e.Clock.Now()); err != nil {
		e.T.Fatal(err)
	}
}

// apiCatalog is GET /api/account/catalog's body.
type apiCatalog struct {
	Groups []struct {
		Type string `json:"type"`
		Apps []struct {
			ClientID    string `json:"client_id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			LogoURI     string `json:"logo_uri"`
			HomeURI     string `json:"home_uri"`
			Favorite    bool   `json:"favorite"`
		} `json:"apps"`
	} `json:"groups"`
}

// shape is a catalog as "Type: id id* | Type: id", a "*" after each favorite.
func (c apiCatalog) shape() string {
	var groups []string
	for _, g := range c.Groups {
		var ids []string
		for _, a := range g.Apps {
			id := a.ClientID
			if a.Favorite {
				id += "*"
			}
			ids = append(ids, id)
		}
		groups = append(groups, g.Type+": "+strings.Join(ids, " "))
	}
	return strings.Join(groups, " | ")
}

func getCatalog(t testing.TB, b *profiletest.Browser) apiCatalog {
	t.Helper()
	res := b.Get("/api/account/catalog")
	profiletest.WantStatus(t, "GET /api/account/catalog", res, http.StatusOK)
	var c apiCatalog
	if err := json.Unmarshal([]byte(res.Body), &c); err != nil {
		t.Fatalf("catalog body %q: %v", res.Body, err)
	}
	if c.Groups == nil {
		t.Fatalf("catalog body %q: groups is not a list", res.Body)
	}
	return c
}

// sidebar is the favorites part of the sidebar in page ("" when it has none).
func sidebar(page string) string {
	i := strings.Index(page, `id="sidebar-favorites"`)
	if i < 0 {
		return ""
	}
	end := strings.Index(page[i:], "</nav>")
	return page[i : i+end]
}

const catalogButton = `class="catalog-button"`

var productivity = []app{
	{id: "notes", name: "Notes", typ: "Productivity", listed: true},
	{id: "agenda", name: "agenda", typ: "Productivity", listed: true},
	{id: "vault", name: "Vault", typ: "Security", listed: true, closed: true},
	{id: "books", name: "Books", listed: true},
	{id: "hidden", name: "Hidden", typ: "Productivity"},
	{id: "secret", name: "Secret", typ: "Security", closed: true},
}

// TestFeatureOff: while the feature is off (its default, or switched off), no account page
// shows the Catalog button or favorites and every catalog route is 404 — page and API.
func TestFeatureOff(t *testing.T) {
	profiletest.Each(t, func(t *testing.T, b sqltest.Backend) *profiletest.Env {
		return newEnv(t, b, false).Env
	}, func(t *testing.T, pe *profiletest.Env) {
		e := &env{Env: pe}
		e.addApps(productivity...)
		ann, _ := e.SignUp("ann@example.com", "Ann", "192.0.2.1")
		check := func(when string) {
			t.Helper()
			for _, path := range []string{"/profile", "/profile/password"} {
				res := ann.Get(path)
				if res.Status != http.StatusOK || strings.Contains(res.Body, catalogButton) || sidebar(res.Body) != "" {
					t.Errorf("%s: %s (%d) shows the catalog", when, path, res.Status)
				}
			}
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, "/profile/catalog"}, {http.MethodPost, "/profile/catalog/favorites/notes"},
				{http.MethodGet, "/api/account/catalog"}, {http.MethodPut, "/api/account/favorites/notes"},
				{http.MethodDelete, "/api/account/favorites/notes"},
			} {
				var res profiletest.Response
				if req.method == http.MethodPost {
					res = ann.Post(req.path, url.Values{"favorite": {"on"}})
				} else {
					res = ann.Do(req.method, req.path, "", nil)
				}
				if res.Status != http.StatusNotFound {
					t.Errorf("%s: %s %s = %d, want 404", when, req.method, req.path, res.Status)
				}
			}
		}
		check("never switched")
		e.setFeature(true)
		if res := ann.Get("/profile"); !strings.Contains(res.Body, catalogButton) {
			t.Fatal("switched on: /profile has no Catalog button")
		}
		e.setFeature(false)
		check("switched off")
		if n, err := e.Store.Favorites(t.Context(), "ann"); err != nil || len(n) != 0 {
			t.Errorf("favorites after 404s = %v, %v", n, err)
		}
	})
}

// TestCatalog: the catalog groups a user's apps by type (Other last), each group by name;
// closed apps show only to users with access; favorites are added and removed through the
// API and the star, show in the sidebar of every account page, and leave it as soon as the
// app leaves the catalog or the access is revoked; 404 for any app not in the caller's
// catalog.
func TestCatalog(t *testing.T) {
	profiletest.Each(t, func(t *testing.T, b sqltest.Backend) *profiletest.Env {
		return newEnv(t, b, true).Env
	}, func(t *testing.T, pe *profiletest.Env) {
		e := &env{Env: pe}
		ctx := t.Context()
		e.addApps(productivity...)
		ann, annU := e.SignUp("ann@example.com", "Ann", "192.0.2.1")
		bob, _ := e.SignUp("bob@example.com", "Bob", "192.0.2.2")
		for _, id := range []string{"vault", "secret"} {
			if err := e.Store.GrantClientAccess(ctx, id, annU.ID, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}

		// Grouping and order: types by name, Other ("") last; apps by name ignoring case.
		if got, want := getCatalog(t, ann).shape(), "Productivity: agenda notes | Security: vault | : books"; got != want {
			t.Fatalf("ann's catalog = %q, want %q", got, want)
		}
		if got, want := getCatalog(t, bob).shape(), "Productivity: agenda notes | : books"; got != want {
			t.Errorf("bob's catalog (no access to the closed app) = %q, want %q", got, want)
		}
		full := getCatalog(t, ann)
		first := full.Groups[0].Apps[1]
		if first.Name != "Notes" || first.Description != "About Notes" || first.LogoURI != "https://notes.example/logo.png" || first.HomeURI != "https://notes.example/" {
			t.Errorf("an app of the catalog = %+v", first)
		}

		// The page: the same groups, Other named, each app leading to its home page.
		res := ann.Get("/profile/catalog")
		profiletest.WantStatus(t, "catalog page", res, http.StatusOK, "Productivity", "Security", "Other",
			`href="https://vault.example/"`, `action="/profile/catalog/favorites/vault"`, "data-edit-panel")
		if strings.Index(res.Body, ">Productivity<") > strings.Index(res.Body, ">Security<") ||
			strings.Index(res.Body, ">Security<") > strings.Index(res.Body, ">Other<") {
			t.Error("the page's groups are not Productivity, Security, Other")
		}
		if strings.Contains(res.Body, catalogButton) {
			t.Error("the catalog page shows the Catalog button")
		}
		if strings.Contains(bob.Get("/profile/catalog").Body, "Vault") {
			t.Error("bob's catalog page shows the closed app")
		}

		// Favorites through the API.
		for _, c := range []struct {
			b      *profiletest.Browser
			method string
			id     string
			status int
		}{
			{ann, http.MethodPut, "notes", http.StatusNoContent},
			{ann, http.MethodPut, "notes", http.StatusNoContent}, // again: nothing changes
			{ann, http.MethodPut, "vault", http.StatusNoContent},
			{ann, http.MethodPut, "books", http.StatusNoContent},
			{ann, http.MethodDelete, "books", http.StatusNoContent},
			{ann, http.MethodDelete, "books", http.StatusNoContent}, // not a favorite: nothing changes
			{bob, http.MethodPut, "vault", http.StatusNotFound},     // closed, no access
			{bob, http.MethodDelete, "vault", http.StatusNotFound},
			{ann, http.MethodPut, "hidden", http.StatusNotFound}, // not listed
			{ann, http.MethodPut, "secret", http.StatusNotFound}, // access, but not listed
			{ann, http.MethodPut, "nope", http.StatusNotFound},
			{ann, http.MethodDelete, "nope", http.StatusNotFound},
		} {
			res := c.b.Do(c.method, "/api/account/favorites/"+c.id, "", nil)
			if res.Status != c.status {
				t.Errorf("%s favorites/%s = %d, want %d\n%s", c.method, c.id, res.Status, c.status, res.Body)
			}
			if c.status == http.StatusNotFound && !strings.Contains(res.Body, `"not_found"`) {
				t.Errorf("%s favorites/%s: body %q, want the not_found error", c.method, c.id, res.Body)
			}
		}
		if got, want := getCatalog(t, ann).shape(), "Productivity: agenda notes* | Security: vault* | : books"; got != want {
			t.Errorf("ann's catalog after the API = %q, want %q", got, want)
		}
		if got, want := getCatalog(t, bob).shape(), "Productivity: agenda notes | : books"; got != want {
			t.Errorf("bob's catalog after ann's favorites = %q, want %q", got, want)
		}

		// The sidebar of every account page lists them by name, each leading to its home.
		for _, path := range []string{"/profile", "/profile/password", "/profile/catalog"} {
			sb := sidebar(ann.Get(path).Body)
			if !strings.Contains(sb, `href="https://notes.example/"`) || !strings.Contains(sb, `href="https://vault.example/"`) ||
				strings.Index(sb, "Notes") > strings.Index(sb, "Vault") || strings.Contains(sb, "Books") {
				t.Errorf("ann's sidebar on %s = %q, want Notes then Vault", path, sb)
			}
		}
		if sb := sidebar(bob.Get("/profile").Body); !strings.Contains(sb, "Star an app") || strings.Contains(sb, "<li>") {
			t.Errorf("bob's sidebar without favorites = %q", sb)
		}

		// The star's form (the page without JavaScript, or the window with it).
		res = ann.Post("/profile/catalog/favorites/agenda", url.Values{"favorite": {"on"}})
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/profile/catalog?") {
			t.Fatalf("star on: %d → %q", res.Status, res.Location)
		}
		profiletest.WantStatus(t, "after the star", ann.Get(res.Location), http.StatusOK, "agenda is in your favorites.")
		res = ann.Post("/profile/catalog/favorites/notes", url.Values{"favorite": {"off"}})
		profiletest.WantStatus(t, "after the star off", ann.Get(res.Location), http.StatusOK, "Notes is no longer in your favorites.")
		if got := ann.Get("/profile/catalog?notice=added&app=" + url.QueryEscape("Evil & Co")).Body; strings.Contains(got, "Evil") {
			t.Error("the notice names an app the query made up")
		}
		for _, c := range []struct {
			id, value string
			status    int
		}{{"vault", "maybe", http.StatusUnprocessableEntity}, {"hidden", "on", http.StatusNotFound}, {"nope", "off", http.StatusNotFound}} {
			if res := bob.Post("/profile/catalog/favorites/"+c.id, url.Values{"favorite": {c.value}}); res.Status != c.status {
				t.Errorf("star %s=%s: %d, want %d", c.id, c.value, res.Status, c.status)
			}
		}
		if got, want := getCatalog(t, ann).shape(), "Productivity: agenda* notes | Security: vault* | : books"; got != want {
			t.Errorf("ann's catalog after the stars = %q, want %q", got, want)
		}

		// Revoked access and unlisting take the app off the catalog and the sidebar at once;
		// its favorite can no longer be changed (404), and shows again if the app comes back.
		if _, err := e.Store.RevokeClientAccess(ctx, "vault", annU.ID); err != nil {
			t.Fatal(err)
		}
		agenda, err := e.Store.GetClient(ctx, "agenda")
		if err != nil {
			t.Fatal(err)
		}
		agenda.InCatalog = false
		if err := e.Store.UpdateClient(ctx, agenda); err != nil {
			t.Fatal(err)
		}
		if sb := sidebar(ann.Get("/profile").Body); strings.Contains(sb, "Vault") || strings.Contains(sb, "agenda") {
			t.Errorf("sidebar after revoking and unlisting = %q", sb)
		}
		if got, want := getCatalog(t, ann).shape(), "Productivity: notes | : books"; got != want {
			t.Errorf("ann's catalog after revoking and unlisting = %q, want %q", got, want)
		}
		if res := ann.Do(http.MethodDelete, "/api/account/favorites/vault", "", nil); res.Status != http.StatusNotFound {
			t.Errorf("DELETE the favorite of a revoked app = %d, want 404", res.Status)
		}
		agenda.InCatalog = true
		if err := e.Store.UpdateClient(ctx, agenda); err != nil {
			t.Fatal(err)
		}
		if sb := sidebar(ann.Get("/profile").Body); !strings.Contains(sb, "agenda") {
			t.Errorf("sidebar after listing the app again = %q", sb)
		}

		// In the reader's language: a Russian account reads the window and the API's errors in
		// Russian.
		if err := e.Store.PutProfileFields(ctx, []storage.ProfileField{{UserID: annU.ID, Field: "locale", Value: "ru",
			Privacy: "private", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		// The language middleware is cmd's; here it wraps the env's router.
		inRussian := func(method, path string) (int, string) {
			req := httptest.NewRequestWithContext(ctx, method, path, nil)
			for _, c := range ann.Cookies() {
				req.AddCookie(c)
			}
			w := httptest.NewRecorder()
			e.Core.WithLanguage(e.Handler).ServeHTTP(w, req)
			return w.Code, w.Body.String()
		}
		if st, body := inRussian(http.MethodGet, "/profile/catalog"); st != http.StatusOK ||
			!strings.Contains(body, "Каталог") || !strings.Contains(body, "Другие") || !strings.Contains(body, "Убрать agenda из избранного") {
			t.Errorf("the window in Russian: %d\n%s", st, body)
		}
		if st, body := inRussian(http.MethodPut, "/api/account/favorites/nope"); st != http.StatusNotFound ||
			!strings.Contains(body, "В вашем каталоге нет такого приложения.") {
			t.Errorf("404 in Russian: %d %s", st, body)
		}

		// Without a session: the page asks to sign in, the API is 401.
		anon := e.Browser("192.0.2.9")
		if res := anon.Get("/profile/catalog"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login") {
			t.Errorf("catalog without a session: %d → %q", res.Status, res.Location)
		}
		if res := anon.Do(http.MethodPut, "/api/account/favorites/notes", "", nil); res.Status != http.StatusUnauthorized {
			t.Errorf("PUT favorite without a session: %d, want 401", res.Status)
		}
	})
}

// TestGroups: the groups are by type name, the Other group last; the apps by name as the
// reader's language orders it (case ignored), then by client id.
func TestGroups(t *testing.T) {
	a := func(id, name, typ string) storage.CatalogApp {
		return storage.CatalogApp{ClientID: id, Name: name, Type: typ}
	}
	for _, c := range []struct {
		name string
		lang language.Tag
		apps []storage.CatalogApp
		want string
	}{
		{"empty", language.English, nil, ""},
		{"only Other", language.English, []storage.CatalogApp{a("b", "B", ""), a("a", "A", "")}, ": a b"},
		{"types by name, Other last", language.English,
			[]storage.CatalogApp{a("x", "X", ""), a("s", "S", "security"), a("p", "P", "Productivity"), a("m", "M", "Media")},
			"Media: m | Productivity: p | security: s | : x"},
		{"names ignoring case", language.English,
			[]storage.CatalogApp{a("3", "banana", "T"), a("1", "Apple", "T"), a("2", "apricot", "T")}, "T: 1 2 3"},
		{"same name: by id", language.English,
			[]storage.CatalogApp{a("z", "Notes", "T"), a("a", "Notes", "T")}, "T: a z"},
		{"accents", language.English,
			[]storage.CatalogApp{a("3", "Zebra", "T"), a("2", "Éclair", "T"), a("1", "Eagle", "T")}, "T: 1 2 3"},
		{"Cyrillic in Russian", language.Russian,
			[]storage.CatalogApp{a("3", "Яндекс", "T"), a("1", "Альфа", "T"), a("2", "ёлка", "T")}, "T: 1 2 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var groups []string
			for _, g := range catalog.Groups(c.apps, collate.New(c.lang, collate.IgnoreCase)) {
				var ids []string
				for _, x := range g.Apps {
					ids = append(ids, x.ClientID)
				}
				groups = append(groups, g.Type+": "+strings.Join(ids, " "))
			}
			if d := cmp.Diff(c.want, strings.Join(groups, " | ")); d != "" {
				t.Errorf("groups (-want +got):\n%s", d)
			}
		})
	}
}
