package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lib/pq"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// outageDB is a database a test can take away from a running server: for SQLite the store
// is closed under the app; for PostgreSQL the test gets a database of its own, whose
// connections are terminated and new ones refused (ALLOW_CONNECTIONS false holds for
// superusers too, where CONNECTION LIMIT does not).
type outageDB struct {
	be   sqltest.Backend
	url  string
	name string // PostgreSQL database name
}

func newOutageDB(t *testing.T, be sqltest.Backend) *outageDB {
	t.Helper()
	if be.Name == sqlstore.DialectSQLite {
		return &outageDB{be: be, url: be.NewURL(t)}
	}
	base := os.Getenv(sqltest.EnvDatabaseURL)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "facet_outage_" + hex.EncodeToString(b)
	pgAdmin(t, `CREATE DATABASE `+pq.QuoteIdentifier(name))
	t.Cleanup(func() { pgAdmin(t, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(name)+` WITH (FORCE)`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return &outageDB{be: be, url: u.String(), name: name}
}

// stop takes the database away from a.
func (d *outageDB) stop(t *testing.T, a *app) {
	t.Helper()
	if d.name == "" {
		if err := a.store.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	pgAdmin(t, `ALTER DATABASE `+pq.QuoteIdentifier(d.name)+` ALLOW_CONNECTIONS false`)
	pgAdmin(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+d.name+`'`)
}

// restart gives a PostgreSQL database back (a closed SQLite store stays closed).
func (d *outageDB) restart(t *testing.T) {
	t.Helper()
	pgAdmin(t, `ALTER DATABASE `+pq.QuoteIdentifier(d.name)+` ALLOW_CONNECTIONS true`)
}

// pgAdmin runs one statement on the server of FACET_TEST_DATABASE_URL.
func pgAdmin(t *testing.T, stmt string) {
	t.Helper()
	db, err := sql.Open("postgres", os.Getenv(sqltest.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Not t.Context(): cleanups run after it is canceled.
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// startFacetLogged is startFacet with the server's log kept for the test to read.
func startFacetLogged(t *testing.T, dbURL string, c *clock) (*facet, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	cfg := config.Config{Issuer: issuer, DatabaseURL: dbURL, Secret: testSecret, Now: c.now}
	logs := &syncBuffer{}
	a, err := newApp(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	f := &facet{app: a, srv: srv, issuer: issuer, addr: ln.Addr().String(), dbURL: dbURL}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
		// The store may be closed already (the SQLite outage); a second Close is harmless.
		_ = a.Close()
	})
	return f, logs
}

// accountRP is newRP for a client that may also ask for the account API's scope.
func accountRP(t *testing.T, f *facet) *rp {
	t.Helper()
	c, secret, err := registration.Create(t.Context(), f.app.store, registration.Spec{
		Name:         "Outage RP",
		RedirectURIs: []string{rpRedirect},
		GrantTypes:   []string{"authorization_code", "refresh_token", "client_credentials"},
		Scopes:       []string{"openid", "profile", "email", "offline_access", profile.AccountScope},
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(context.Background(), f.client()), f.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		f: f, clientID: c.ID, secret: secret, provider: provider,
		conf: oauth2.Config{
			ClientID: c.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{"openid", "profile", "offline_access", profile.AccountScope},
		},
	}
}

// outageCall is one request made while the database is away.
type outageCall struct {
	name string
	do   func() *http.Response
}

// TestDatabaseOutage: with the database gone, every protocol endpoint and the account API
// answer 503 temporarily_unavailable with Retry-After — never invalid_client, invalid_grant,
// invalid_token or "active": false, which would make apps drop valid tokens and secrets —
// both while the client is still in the node's cache and after it expired; the cause is
// logged at ERROR. Once PostgreSQL is back, the same tokens work at once: no failure was
// cached and nothing was revoked.
func TestDatabaseOutage(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			db := newOutageDB(t, be)
			c := newClock()
			f, logs := startFacetLogged(t, db.url, c)
			r := accountRP(t, f)
			b := newAgent(t, f.issuer)
			ar := r.start()
			tok := exchange(t, r, ar, signUp(t, b, r, ar, "oona@example.com", "correct horse battery", "Oona Outage"))
			// A second code, redeemed during the outage.
			ar2 := r.start()
			code2 := approve(t, b, b.get(ar2.url), ar2, f.issuer)

			post := func(path string, form url.Values, basic bool) func() *http.Response {
				return func() *http.Response {
					req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					if basic {
						req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
					}
					resp, err := f.client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					return resp
				}
			}
			bearer := func(path string) func() *http.Response {
				return func() *http.Response {
					req, err := http.NewRequest(http.MethodGet, f.issuer+path, nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					resp, err := f.client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					return resp
				}
			}
			calls := []outageCall{
				{"token authorization_code", post("/oauth2/token", url.Values{"grant_type": {"authorization_code"},
					"code": {code2}, "redirect_uri": {rpRedirect}, "code_verifier": {ar2.verifier}}, true)},
				{"token refresh_token", post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, true)},
				{"token client_credentials", post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true)},
				{"token client_secret_post", post("/oauth2/token", url.Values{"grant_type": {"client_credentials"},
					"client_id": {r.clientID}, "client_secret": {r.secret}}, false)},
				{"introspection access token", post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, true)},
				{"introspection refresh token", post("/oauth2/introspect", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, true)},
				{"revocation", post("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, true)},
				{"userinfo", bearer("/userinfo")},
				{"account API bearer", bearer("/api/account/profile")},
				{"account API session", func() *http.Response {
					req, err := http.NewRequest(http.MethodGet, f.issuer+"/api/account/profile", nil)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := b.client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					return resp
				}},
			}

			db.stop(t, f.app)
			// First with the client in the node's cache, then once its entry expired and the
			// client itself must be read.
			for _, phase := range []string{"client cached", "client cache expired"} {
				if phase == "client cache expired" {
					c.advance(10 * time.Second)
				}
				for _, call := range calls {
					resp := call.do()
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"temporarily_unavailable"`) {
						t.Errorf("%s, %s: %d %s, want 503 temporarily_unavailable", phase, call.name, resp.StatusCode, body)
					}
					if resp.Header.Get("Retry-After") == "" {
						t.Errorf("%s, %s: no Retry-After", phase, call.name)
					}
					for _, bad := range []string{"invalid_client", "invalid_grant", "invalid_token", `"active"`} {
						if strings.Contains(string(body), bad) || strings.Contains(resp.Header.Get("WWW-Authenticate"), bad) {
							t.Errorf("%s, %s: the outage is reported as %s: %s", phase, call.name, bad, body)
						}
					}
				}
				// The authorization endpoint: the error goes back to the client when its
				// redirect URI is known (client cached), else it is a 503 page — never the
				// "unknown client" page.
				p := b.get(r.start().url)
				switch {
				case p.location != "":
					if u, err := url.Parse(p.location); err != nil || u.Query().Get("error") != "temporarily_unavailable" {
						t.Errorf("%s, authorize: redirected to %s, want error=temporarily_unavailable", phase, p.location)
					}
				case p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "":
					t.Errorf("%s, authorize: %d %.300s, want a 503 page with Retry-After", phase, p.status, p.body)
				}
			}
			cause := "sql: database is closed"
			if be.Name == sqlstore.DialectPostgres {
				cause = "pq: "
			}
			var logged bool
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=ERROR") && strings.Contains(line, "storage unavailable") && strings.Contains(line, cause) {
					logged = true
				}
				if strings.Contains(line, "level=ERROR") && strings.Contains(line, "error=temporarily_unavailable") && !strings.Contains(line, cause) {
					t.Errorf("ERROR line without the database's error: %s", line)
				}
			}
			if !logged {
				t.Errorf("no ERROR line carries the database's error %q", cause)
			}
			if db.name == "" {
				return
			}

			db.restart(t)
			if !active(t, r, tok.AccessToken) {
				t.Error("the access token is inactive after the outage")
			}
			if _, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
				t.Errorf("refresh after the outage: %v", err)
			}
			resp := post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true)()
			drain(resp)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("client_credentials after the outage: %d", resp.StatusCode)
			}
		})
	}
}

// TestStorageFaultAnswersServerError: a storage failure that is not an outage (here the
// tokens table is gone) is answered with a standard server_error at every endpoint — not
// fosite's {"error": "error", "error_description": "The error is unrecognizable"}, not
// invalid_client, and not "active": false.
func TestStorageFaultAnswersServerError(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			db := newOutageDB(t, be)
			f, logs := startFacetLogged(t, db.url, newClock())
			r := accountRP(t, f)
			tok, err := (&clientcredentials.Config{ClientID: r.clientID, ClientSecret: r.secret,
				TokenURL: f.issuer + oauth.PathToken}).Token(r.ctx())
			if err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
			driver, dsn := "postgres", db.url
			if rest, ok := strings.CutPrefix(db.url, "sqlite://"); ok {
				driver, dsn = "sqlite", rest
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.ExecContext(t.Context(), `ALTER TABLE tokens RENAME TO tokens_gone`); err != nil {
				t.Fatal(err)
			}

			form := func(path string, v url.Values) (int, string) {
				req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(v.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
				return send(t, f, req)
			}
			userinfo := func() (int, string) {
				req, err := http.NewRequest(http.MethodGet, f.issuer+oauth.PathUserinfo, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				return send(t, f, req)
			}
			for name, call := range map[string]func() (int, string){
				"token client_credentials": func() (int, string) {
					return form(oauth.PathToken, url.Values{"grant_type": {"client_credentials"}})
				},
				"introspection": func() (int, string) { return form(oauth.PathIntrospect, url.Values{"token": {tok.AccessToken}}) },
				"revocation":    func() (int, string) { return form(oauth.PathRevoke, url.Values{"token": {tok.AccessToken}}) },
				"userinfo":      userinfo,
			} {
				status, body := call()
				if status != http.StatusInternalServerError || !strings.Contains(body, `"error":"server_error"`) {
					t.Errorf("%s: %d %s, want 500 server_error", name, status, body)
				}
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "tokens") {
				t.Error("no ERROR line names the failed query")
			}
		})
	}
}

func send(t *testing.T, f *facet, req *http.Request) (int, string) {
	t.Helper()
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
