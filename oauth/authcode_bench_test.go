package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// BenchmarkAuthorizeAndToken is the authorization → token path of a signed-in user whose
// consent is remembered, through the router without HTTP transport: the authorization request
// (code issued, the browser session's sid and its app recorded) and the code exchange (access,
// refresh and ID token). Each iteration signs in through a new browser session (created with
// the timer stopped), as every new login does.
func BenchmarkAuthorizeAndToken(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b)
			s := newBenchServer(b, db)
			ctx := b.Context()
			if err := s.p.consent.Grant(ctx, "u1", "app", []string{"openid", "email", "offline_access"}, []string{"email"}); err != nil {
				b.Fatal(err)
			}
			authURL := PathAuth + "?" + authorizeParams().Encode()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				i++
				now := time.Now().UTC()
				sess := storage.Session{ID: fmt.Sprintf("bench-session-%d", i), UserID: "u1", AuthTime: now.Add(-time.Minute),
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AMR: []string{"pwd"}}
				if err := db.CreateSession(ctx, sess); err != nil {
					b.Fatal(err)
				}
				s.sessions.sess = &sess
				b.StartTimer()
				rec := s.do(httptest.NewRequest(http.MethodGet, authURL, nil))
				loc, err := url.Parse(rec.Header().Get("Location"))
				if err != nil || loc.Query().Get("code") == "" {
					b.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
				}
				rec = s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
					"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
				var tok struct {
					IDToken string `json:"id_token"`
				}
				if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || tok.IDToken == "" {
					b.Fatalf("token: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// newBenchServer is newTestServer for benchmarks.
func newBenchServer(t testing.TB, db storage.Storage, opts ...func(*Config)) *testServer {
	t.Helper()
	ctx := t.Context()
	secret := []byte(strings.Repeat("k", 32))
	if err := keys.Ensure(ctx, db, secret); err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSessions{}
	cfg := Config{Issuer: testIssuer, Secret: secret}
	for _, o := range opts {
		o(&cfg)
	}
	cs, err := consent.NewService(db, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	core, err := New(cfg, db, cs, tpl, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewEndpoints(core, fs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	p.Routes(r, r)
	if _, _, err := registration.Create(ctx, db, registration.Spec{ID: "app", Name: "Demo App", Public: true,
		RedirectURIs: []string{"http://127.0.0.1:5555/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:5555/bye"}}); err != nil {
		t.Fatal(err)
	}
	_, rsSecret, err := registration.Create(ctx, db, registration.Spec{ID: "rs", Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.CreateUser(ctx, storage.User{ID: "u1", Email: "alex@example.com", EmailVerified: true, Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return &testServer{db: db, p: p, h: r, sessions: fs, secret: rsSecret}
}
