package catalog_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/catalog"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// node is one Facet node: its own store (connection pool) on the shared database, its own
// handlers, its own HTTP server.
type node struct {
	store storage.Storage
	url   string
}

// newNode starts a node on the database at dbURL; every node shares secret, so a session
// cookie of one is good on the others.
func newNode(t *testing.T, dbURL string, secret []byte) node {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	events := activity.NewRecorder(store, nil, time.Now)
	var h *catalog.Handler
	core, err := profile.New(profile.Config{Issuer: "http://facet.test", Secret: secret}, profile.Deps{Store: store, Templates: tpl, Events: events,
		Favorites: func(ctx context.Context, userID string) (profile.SidebarApps, bool, error) {
			return h.Sidebar(ctx, userID)
		}})
	if err != nil {
		t.Fatal(err)
	}
	signIn, err := signin.New(signin.Deps{Kit: core, Store: store, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if h, err = catalog.New(catalog.Deps{Kit: core, Store: store}); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	pages, api := core.Routes(r)
	signIn.Routes(pages, api)
	h.Routes(pages, api)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return node{store: store, url: srv.URL}
}

// TestSwitchAcrossNodes: `facet features enable|disable catalog` stores the switch, and
// every node follows it at its next request, whichever node's database connection wrote it;
// nothing is cached.
func TestSwitchAcrossNodes(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			dbURL := b.NewURL(t)
			secret := make([]byte, 32)
			rand.Read(secret)
			nodes := []node{newNode(t, dbURL, secret), newNode(t, dbURL, secret)}
			now := time.Now()
			if err := nodes[0].store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", InCatalog: true,
				HomeURI: "https://notes.example/", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			// The cookie jar ignores ports: the session cookie goes to every node.
			client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form := url.Values{"email": {"ann@example.com"}, "password": {profiletest.Password}, "confirm": {profiletest.Password}, "name": {"Ann"}}
			res, err := client.PostForm(nodes[0].url+"/register", form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("register: %d", res.StatusCode)
			}
			get := func(n node, path string) (int, string) {
				t.Helper()
				res, err := client.Get(n.url + path)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				return res.StatusCode, string(body)
			}
			want := func(on bool, when string) {
				t.Helper()
				for i, n := range nodes {
					status, _ := get(n, "/api/account/catalog")
					_, page := get(n, "/profile")
					if shown := strings.Contains(page, catalogButton); (status == http.StatusOK) != on || shown != on {
						t.Errorf("%s: node %d answers the catalog API %d and shows the button %v; want on = %v", when, i, status, shown, on)
					}
				}
			}
			want(false, "never switched")
			if err := nodes[0].store.SetFeature(ctx, catalog.Feature, true, time.Now()); err != nil {
				t.Fatal(err)
			}
			want(true, "enabled through node 0")
			if err := nodes[1].store.SetFeature(ctx, catalog.Feature, false, time.Now()); err != nil {
				t.Fatal(err)
			}
			want(false, "disabled through node 1")
		})
	}
}
