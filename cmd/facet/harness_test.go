package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/facetid/facet/cmd/facet/config"
)

type oidcConfig = oidc.Config

// clock is a settable test clock shared by every module of one server.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newClock() *clock { return &clock{} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// facet is one running server under test, built by newApp and served over loopback.
type facet struct {
	app    *app
	srv    *httptest.Server
	issuer string
	addr   string
	dbURL  string
	once   sync.Once
}

// testSecret is the system secret every test server shares, so a restarted server reads what
// the previous one wrote.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// startFacet starts a server on a free loopback port; each opt adjusts its config.Config before
// newApp (the issuer, database, secret and clock are set already).
func startFacet(t testing.TB, dbURL string, c *clock, opts ...func(*config.Config)) *facet {
	t.Helper()
	return startFacetAt(t, dbURL, c, "127.0.0.1:0", opts...)
}

func startFacetAt(t testing.TB, dbURL string, c *clock, addr string, opts ...func(*config.Config)) *facet {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	issuer := "http://" + ln.Addr().String()
	var cfg config.Config
	cfg.Issuer = issuer
	cfg.DatabaseURL = dbURL
	cfg.Secret = testSecret
	cfg.Demo = false
	if c != nil {
		cfg.Now = c.now
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(testLogOut, nil))
	a, err := newApp(context.Background(), cfg, logger)
	if err != nil {
		ln.Close()
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	f := &facet{app: a, srv: srv, issuer: issuer, addr: ln.Addr().String(), dbURL: dbURL}
	t.Cleanup(func() { f.stop(t) })
	return f
}

func (f *facet) stop(t testing.TB) {
	f.once.Do(func() {
		f.srv.Close()
		if err := f.app.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
}

// client is a plain HTTP client for the relying party's back channel.
func (f *facet) client() *http.Client { return f.srv.Client() }

// countTokens counts every stored OAuth2 artefact (codes, tokens, PKCE and OIDC sessions).
func (f *facet) countTokens(t testing.TB) int {
	t.Helper()
	return f.countTokensWhere(t, "TRUE")
}

// countTokensWhere counts the stored OAuth2 artefacts that match the SQL condition where (a
// constant of the test).
func (f *facet) countTokensWhere(t testing.TB, where string) int {
	t.Helper()
	driver, dsn := "postgres", f.dbURL
	if rest, ok := strings.CutPrefix(f.dbURL, "sqlite://"); ok {
		driver, dsn = "sqlite", rest
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM tokens WHERE "+where).Scan(&n); err != nil {
		t.Fatalf("count tokens: %v", err)
	}
	return n
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

var testLogOut io.Writer = io.Discard
