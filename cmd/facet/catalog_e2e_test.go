package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/facetid/facet/storage/sqltest"
)

// TestCatalogOperated: what an operator does with the CLI on the database reaches a running
// node at its next request. `facet features enable catalog` brings the Catalog button and
// the account API; `clients create --in-catalog --type` lists an app in its group; a closed
// app shows only once the account holds access; a favorite shows in the sidebar; `clients
// update --in-catalog=false` takes the app off the catalog and the sidebar (Download Data
// still lists the mark); a cross-site PUT is refused; `features disable catalog` ends it all (404).
func TestCatalogOperated(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchangeOn(t, be, nil, "cat@example.com", "Cat Stevens")
			f, b := s.f, s.b
			cli := &facetCLI{t: t, env: map[string]string{"FACET_DATABASE_URL": f.dbURL, "FACET_LOG_LEVEL": "warn"}}
			catalog := func() (int, string) { return apiJSON(t, b, http.MethodGet, "/api/account/catalog", "") }

			if st, _ := catalog(); st != http.StatusNotFound {
				t.Fatalf("GET /api/account/catalog before the switch: %d, want 404", st)
			}
			if p := b.get("/profile"); strings.Contains(p.body, `class="catalog-button"`) {
				t.Fatal("the Catalog button shows before the switch")
			}
			cli.must("features", "enable", "catalog")
			create := func(args ...string) string {
				var c struct {
					ClientID string `json:"client_id"`
				}
				cli.mustJSON(&c, append([]string{"clients", "create", "--json"}, args...)...)
				return c.ClientID
			}
			notes := create("--name", "Notes", "--redirect-uri", "https://notes.example/cb", "--home-uri", "https://notes.example/",
				"--in-catalog", "--type", "Productivity")
			vault := create("--name", "Vault", "--redirect-uri", "https://vault.example/cb", "--in-catalog", "--type", "Security", "--closed")
			create("--name", "Unlisted", "--redirect-uri", "https://unlisted.example/cb")

			type body struct {
				Groups []struct {
					Type string `json:"type"`
					Apps []struct {
						ClientID string `json:"client_id"`
						Favorite bool   `json:"favorite"`
					} `json:"apps"`
				} `json:"groups"`
			}
			shape := func() string {
				t.Helper()
				st, raw := catalog()
				var c body
				if st != http.StatusOK || json.Unmarshal([]byte(raw), &c) != nil {
					t.Fatalf("GET /api/account/catalog: %d %s", st, raw)
				}
				var out []string
				for _, g := range c.Groups {
					for _, a := range g.Apps {
						x := g.Type + ":" + a.ClientID
						if a.Favorite {
							x += "*"
						}
						out = append(out, x)
					}
				}
				return strings.Join(out, " ")
			}
			if got, want := shape(), "Productivity:"+notes; got != want {
				t.Errorf("catalog = %q, want %q (the closed and the unlisted app hidden)", got, want)
			}
			u, err := f.app.store.GetUserByEmail(t.Context(), "cat@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.app.store.GrantClientAccess(t.Context(), vault, u.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got, want := shape(), "Productivity:"+notes+" Security:"+vault; got != want {
				t.Errorf("catalog with access = %q, want %q", got, want)
			}

			// A cross-site request cannot change favorites; the page's own origin can.
			req, err := http.NewRequest(http.MethodPut, f.issuer+"/api/account/favorites/"+notes, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if p := b.do(req); p.status != http.StatusForbidden {
				t.Errorf("cross-site PUT favorite: %d, want 403", p.status)
			}
			if st, raw := apiJSON(t, b, http.MethodPut, "/api/account/favorites/"+notes, ""); st != http.StatusNoContent {
				t.Fatalf("PUT favorite: %d %s", st, raw)
			}
			if p := b.get("/profile"); !strings.Contains(p.body, `class="catalog-button"`) || !strings.Contains(p.body, `href="https://notes.example/"`) {
				t.Errorf("/profile lacks the Catalog button or the favorite:\n%s", p.body)
			}

			cli.must("clients", "update", notes, "--in-catalog=false")
			if p := b.get("/profile"); strings.Contains(p.body, `href="https://notes.example/"`) {
				t.Error("the favorite of an unlisted app stays in the sidebar")
			}
			if got, want := shape(), "Security:"+vault; got != want {
				t.Errorf("catalog after unlisting = %q, want %q", got, want)
			}

			// Download Data holds the favorite, hidden or not, as the schema describes it.
			dl := b.get("/api/account/export")
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(dl.body))
			if dl.status != http.StatusOK || err != nil {
				t.Fatalf("export: %d %v", dl.status, err)
			}
			if err := exportSchema(t).Validate(inst); err != nil {
				t.Fatalf("export against the schema: %v", err)
			}
			var export struct {
				Favorites []struct {
					ClientID string    `json:"client_id"`
					Name     string    `json:"name"`
					MarkedAt time.Time `json:"marked_at"`
				} `json:"favorites"`
			}
			if err := json.Unmarshal([]byte(dl.body), &export); err != nil || len(export.Favorites) != 1 ||
				export.Favorites[0].ClientID != notes || export.Favorites[0].Name != "Notes" || export.Favorites[0].MarkedAt.IsZero() {
				t.Errorf("the export's favorites = %+v, %v; want Notes", export.Favorites, err)
			}

			cli.must("features", "disable", "catalog")
			if st, _ := catalog(); st != http.StatusNotFound {
				t.Errorf("GET /api/account/catalog after disable: %d, want 404", st)
			}
			if p := b.get("/profile/catalog"); p.status != http.StatusNotFound {
				t.Errorf("GET /profile/catalog after disable: %d, want 404", p.status)
			}
		})
	}
}
