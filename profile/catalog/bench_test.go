package catalog_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkProfilePage serves GET /profile (SQLite) to a signed-in user: without the
// catalog's sidebar hook (as before the catalog), with the hook and the feature off (one
// read of the switch), and on with three favorites.
func BenchmarkProfilePage(b *testing.B) {
	for _, c := range []struct {
		name      string
		hook, on  bool
		favorites int
	}{
		{"no-hook", false, false, 0},
		{"feature-off", true, false, 0},
		{"feature-on-3-favorites", true, true, 3},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, sqltest.Backend{Name: sqlstore.DialectSQLite}, c.on)
			if !c.hook {
				e.Env = profiletest.New(b, sqltest.Backend{Name: sqlstore.DialectSQLite}, nil, recorder, nil)
			}
			e.addApps(productivity...)
			br, u := e.SignUp("ann@example.com", "Ann", "192.0.2.1")
			for _, id := range []string{"notes", "agenda", "books"}[:c.favorites] {
				if err := e.Store.AddFavorite(b.Context(), u.ID, id, e.Clock.Now()); err != nil {
					b.Fatal(err)
				}
			}
			cookies := br.Cookies()
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/profile", nil)
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
				w := httptest.NewRecorder()
				e.Handler.ServeHTTP(w, req)
				return w
			}
			w := get()
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), catalogButton) != c.on {
				b.Fatalf("GET /profile: %d, catalog button %v, want %v", w.Code, strings.Contains(w.Body.String(), catalogButton), c.on)
			}
			b.ReportAllocs()
			for b.Loop() {
				if w := get(); w.Code != http.StatusOK {
					b.Fatalf("GET /profile: %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkSidebar is the hook alone (SQLite): what every account page pays for the catalog
// while it is off (one read of the switch) and on (the switch and the favorites).
func BenchmarkSidebar(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "feature-off"
		if on {
			name = "feature-on-3-favorites"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, sqltest.Backend{Name: sqlstore.DialectSQLite}, on)
			e.addApps(productivity...)
			_, u := e.SignUp("ann@example.com", "Ann", "192.0.2.1")
			for _, id := range []string{"notes", "agenda", "books"} {
				if err := e.Store.AddFavorite(b.Context(), u.ID, id, e.Clock.Now()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				apps, ok, err := e.h.Sidebar(b.Context(), u.ID)
				if err != nil || ok != on || (on && len(apps.Favorites) != 3) {
					b.Fatalf("Sidebar = %+v, %v, %v", apps, ok, err)
				}
			}
		})
	}
}
