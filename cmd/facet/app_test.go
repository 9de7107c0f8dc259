package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a whole Facet node behind httptest, its issuer being the server's own URL.
type testServer struct {
	*httptest.Server
	app  *app
	logs *syncBuffer
}

func newTestServer(t *testing.T, b sqltest.Backend, env map[string]string) *testServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	all := map[string]string{"FACET_ISSUER": issuer, "FACET_DATABASE_URL": b.NewURL(t), "FACET_LOG_LEVEL": "debug"}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load("", envOf(all), nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	a, err := newApp(t.Context(), cfg, newLogger(cfg, logs))
	if err != nil {
		t.Fatalf("newApp: %v\nlogs:\n%s", err, logs.String())
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	return &testServer{Server: srv, app: a, logs: logs}
}

func (s *testServer) do(t *testing.T, method, path string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHealth(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestServer(t, b, nil)
			for _, path := range []string{"/health/alive", "/health/ready"} {
				resp, body := s.do(t, http.MethodGet, path, nil, nil)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
					t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
				}
				if resp.Header.Get("Content-Security-Policy") != "" {
					t.Errorf("GET %s carries the browser CSP", path)
				}
			}
		})
	}
}

func TestReadyWhenDatabaseDown(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	if err := s.app.store.Close(); err != nil {
		t.Fatal(err)
	}
	resp, body := s.do(t, http.MethodGet, "/health/ready", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ready with a closed database: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do(t, http.MethodGet, "/health/alive", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("alive with a closed database: %d", resp.StatusCode)
	}
}

// TestBrowserProtections: cross-origin protection and the page headers (CSP frame-ancestors,
// Referrer-Policy, nosniff, X-Frame-Options) on browser pages, not on protocol endpoints.
func TestBrowserProtections(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)

	for _, path := range []string{"/demo", "/login", "/register", "/"} {
		resp, _ := s.do(t, http.MethodGet, path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if xfo := h.Get("X-Frame-Options"); xfo != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q, want DENY", path, xfo)
		}
		if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Referrer-Policy %q, X-Content-Type-Options %q", path, h.Get("Referrer-Policy"), h.Get("X-Content-Type-Options"))
		}
		if len(h.Get("X-Request-Id")) < 16 {
			t.Errorf("GET %s: X-Request-Id %q", path, h.Get("X-Request-Id"))
		}
	}

	resp, _ := s.do(t, http.MethodGet, "/.well-known/openid-configuration", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("discovery: %d, CSP %q (protocol endpoints get no page CSP)", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	crossSite := http.Header{
		"Sec-Fetch-Site": {"cross-site"},
		"Origin":         {"https://evil.example"},
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Accept":         {"text/html"},
	}
	for _, path := range []string{"/demo/login", "/login", "/register", "/logout", "/oauth2/consent"} {
		resp, body := s.do(t, http.MethodPost, path, crossSite, strings.NewReader("email=a%40example.com&password=x"))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST %s: %d, want 403", path, resp.StatusCode)
		}
		if !strings.Contains(body, "another site") {
			t.Errorf("cross-origin POST %s: the page does not say why:\n%s", path, body)
		}
	}
	// The token endpoint is called cross-site by design: no 403 (fosite answers instead).
	resp, body := s.do(t, http.MethodPost, "/oauth2/token", crossSite, strings.NewReader("grant_type=authorization_code&code=x"))
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
		t.Errorf("cross-origin POST /oauth2/token: %d %s", resp.StatusCode, body)
	}

	// Same-origin POSTs pass.
	sameSite := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {s.URL}}
	resp, body = s.do(t, http.MethodPost, "/demo/login", sameSite, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), s.URL+"/oauth2/auth?") {
		t.Errorf("same-origin POST /demo/login: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func TestNotFound(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	resp, body := s.do(t, http.MethodGet, "/no/such/page", http.Header{"Accept": {"text/html"}}, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("browser 404: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if id := resp.Header.Get("X-Request-Id"); !strings.Contains(body, id) {
		t.Errorf("the 404 page does not show the request id %s", id)
	}
	resp, body = s.do(t, http.MethodGet, "/no/such/thing", nil, nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"request_id"`) {
		t.Errorf("API 404: %d %s", resp.StatusCode, body)
	}
}

func TestMetricsAndAccessLog(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	s.do(t, http.MethodGet, "/health/alive", nil, nil)
	s.do(t, http.MethodGet, "/demo/callback?code=SECRETCODE123&state=STATE456", nil, nil)

	// The public router does not serve the metrics; the metrics listener's handler does.
	if resp, body := s.do(t, http.MethodGet, "/metrics", nil, nil); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "facet_http_requests_total") {
		t.Errorf("public GET /metrics: %d, want 404\n%s", resp.StatusCode, body)
	}
	rec := httptest.NewRecorder()
	s.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`facet_http_requests_total\{code="200",method="GET",route="/health/alive"\} 1`),
		regexp.MustCompile(`facet_http_requests_total\{code="400",method="GET",route="/demo/callback"\} 1`),
		regexp.MustCompile(`facet_http_request_duration_seconds_count\{route="/health/alive"\} 1`),
		regexp.MustCompile(`go_goroutines`),
	} {
		if !want.MatchString(body) {
			t.Errorf("metrics lack %s", want)
		}
	}

	logs := s.logs.String()
	if !strings.Contains(logs, "route=/demo/callback") || !strings.Contains(logs, "status=400") || !strings.Contains(logs, "request_id=") {
		t.Errorf("access log lacks route, status or request id:\n%s", logs)
	}
	for _, secret := range []string{"SECRETCODE123", "STATE456"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the query value %s", secret)
		}
	}
}

// TestPanicRecovery: a panicking handler answers 500 with a request id and logs the panic.
func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(requestIDHandler{slog.NewTextHandler(&logs, nil)})
	m, err := newHTTPMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h := observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), logger, m, nil, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d", rec.Code)
	}
	id := rec.Header().Get("X-Request-Id")
	if !strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("body %q: want the request id and not the panic value", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "panic=boom") || !strings.Contains(logs.String(), "request_id="+id) {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestBodyLimit: bodies beyond maxBodyBytes are cut off.
func TestBodyLimit(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	m, err := newHTTPMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var readErr error
	h := observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}), logger, m, nil, nil)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(make([]byte, maxBodyBytes+1))))
	var tooLarge *http.MaxBytesError
	if !errors.As(readErr, &tooLarge) {
		t.Errorf("reading an oversized body: %v", readErr)
	}
}

// listeningRE matches serve's "listening" log line: the public and the metrics address.
var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+) metrics=(\S+)`)

// waitLog waits until serve's log matches re and returns the match; it fails the test when
// serve stops first or takes longer than 30 s to start.
func waitLog(t *testing.T, stderr *syncBuffer, done <-chan error, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
	}
}

// TestServe runs `facet serve` on a free port, calls it, and stops it the way SIGTERM does.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"FACET_DATABASE_URL": "sqlite://" + dir + "/facet.db", "FACET_LISTEN": "127.0.0.1:0", "FACET_METRICS_LISTEN": "127.0.0.1:0",
		pprofEnv: "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"facet", "serve"}, env, nil, stdout, stderr) }()

	m := waitLog(t, stderr, done, listeningRE)
	addr, metricsAddr := m[1], m[2]
	if want := "Facet is running at http://localhost:8080 — demo app: http://localhost:8080/demo"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "DEVELOPMENT MODE") {
		t.Errorf("no loud warning about the generated secret:\n%s", stderr.String())
	}
	// The log names the signing key it generated (and on the next start, loaded).
	kid := regexp.MustCompile(`generated the first signing key"? kid=(\S+)`).FindStringSubmatch(stderr.String())
	if kid == nil {
		t.Errorf("the log does not say which signing key was generated:\n%s", stderr.String())
	}
	resp, err := http.Get("http://" + addr + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("ready: %d", resp.StatusCode)
	}
	// The metrics are on their own listener, not on the public one.
	for _, c := range []struct {
		addr string
		want int
	}{{metricsAddr, http.StatusOK}, {addr, http.StatusNotFound}} {
		resp, err := http.Get("http://" + c.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == http.StatusOK) != strings.Contains(string(b), "facet_http_requests_total") {
			t.Errorf("GET %s/metrics: %d, want %d\n%.300s", c.addr, resp.StatusCode, c.want, b)
		}
	}
	// serve starts the profiling listener it is asked for, on its own address.
	pm := regexp.MustCompile(`msg="profiling listener" addr=(\S+)`).FindStringSubmatch(stderr.String())
	if pm == nil {
		t.Fatalf("no profiling listener in the log:\n%s", stderr.String())
	}
	for _, c := range []struct {
		addr string
		want int
	}{{pm[1], http.StatusOK}, {addr, http.StatusNotFound}} {
		resp, err := http.Get("http://" + c.addr + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s/debug/pprof/cmdline: %d, want %d", c.addr, resp.StatusCode, c.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	// A second start loads the key the first one generated.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	stderr2 := &syncBuffer{}
	done2 := make(chan error, 1)
	go func() { done2 <- run(ctx2, []string{"facet", "serve"}, env, nil, &syncBuffer{}, stderr2) }()
	waitLog(t, stderr2, done2, listeningRE)
	if kid != nil && !strings.Contains(stderr2.String(), "loaded the signing key\" kid="+kid[1]) {
		t.Errorf("the second start does not say it loaded key %s:\n%s", kid[1], stderr2.String())
	}
	cancel2()
	<-done2
}

// TestCleanup: the maintenance job removes expired tokens and sessions, on the lease holder
// only.
func TestCleanup(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestServer(t, b, map[string]string{"FACET_DEMO": "false"})
			ctx := t.Context()
			st := s.app.store
			now := time.Now().UTC()
			u := storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
				tok := storage.Token{Kind: storage.KindAccessToken, Signature: fmt.Sprint("sig", i), RequestID: fmt.Sprint("req", i),
					ClientID: "", Subject: u.ID, Active: true, RequestedAt: now.Add(-2 * time.Hour), ExpiresAt: exp, Data: []byte("{}")}
				if err := st.CreateToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				sess := storage.Session{ID: fmt.Sprint("s", i), UserID: u.ID, AuthTime: now, CreatedAt: now.Add(-2 * time.Hour),
					LastSeenAt: now, ExpiresAt: exp, AMR: []string{"pwd"}}
				if err := st.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}

			s.app.cleanupOnce(ctx, "node-a")
			if _, err := st.GetToken(ctx, storage.KindAccessToken, "sig1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetToken(ctx, storage.KindAccessToken, "sig0"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("expired token: %v, want ErrNotFound", err)
			}
			if _, err := st.GetSession(ctx, "s0"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("expired session: %v, want ErrNotFound", err)
			}
			if _, err := st.GetSession(ctx, "s1"); err != nil {
				t.Errorf("live session: %v", err)
			}

			// Another node finds the lease held and leaves the rows to node-a.
			late := storage.Token{Kind: storage.KindAccessToken, Signature: "sig2", RequestID: "req2", Subject: u.ID,
				Active: true, RequestedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Minute), Data: []byte("{}")}
			if err := st.CreateToken(ctx, late); err != nil {
				t.Fatal(err)
			}
			s.app.cleanupOnce(ctx, "node-b")
			if _, err := st.GetToken(ctx, storage.KindAccessToken, "sig2"); err != nil {
				t.Errorf("node-b cleaned up without the lease: %v", err)
			}
		})
	}
}

// TestNewAppMinimalConfig: a config.Config built in code needs only the issuer and the database;
// the rest takes the defaults, and the injected clock reaches the modules.
func TestNewAppMinimalConfig(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := config.Config{Issuer: "http://127.0.0.1:1/", DatabaseURL: sqltest.Backends(t)[0].NewURL(t), Now: func() time.Time { return fixed }}
	a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.cfg.Issuer != "http://127.0.0.1:1" || a.cfg.AccessTokenLifespan != 15*time.Minute || a.cfg.Mode != config.ModeDevelopment || a.cfg.Demo {
		t.Errorf("config after defaults: %+v", a.cfg)
	}
	if !a.cfg.Now().Equal(fixed) {
		t.Error("the injected clock was replaced")
	}
	if _, err := newApp(t.Context(), config.Config{DatabaseURL: cfg.DatabaseURL, CodeLifespan: time.Hour}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a one-hour code lifespan was accepted")
	}
}

// TestCleanupPurgesEvents: under the cleanup lease, activity-log events older than
// event_retention go and recent ones stay.
func TestCleanupPurgesEvents(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestServer(t, b, map[string]string{"FACET_DEMO": "false", "FACET_EVENT_RETENTION": "720h"})
			ctx := t.Context()
			st := s.app.store
			now := time.Now().UTC()
			u := storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for id, at := range map[string]time.Time{
				"old":    now.Add(-721 * time.Hour),
				"recent": now.Add(-719 * time.Hour),
				"new":    now.Add(-time.Minute),
			} {
				if err := st.AddEvent(ctx, storage.Event{ID: id, UserID: u.ID, Category: "login", At: at}); err != nil {
					t.Fatal(err)
				}
			}
			s.app.cleanupOnce(ctx, "node-a")
			got, err := st.ListEvents(ctx, u.ID, storage.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if strings.Join(ids, ",") != "new,recent" {
				t.Errorf("events after cleanup = %v, want new,recent", ids)
			}
		})
	}
}
