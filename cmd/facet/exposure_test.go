package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage/sqltest"
)

// TestConfigMetricsListen: the metrics listener defaults to loopback; off or an empty value
// disables it; the flag and YAML set it; a value that is not host:port stops the start.
func TestConfigMetricsListen(t *testing.T) {
	cfg, err := config.Load("", envOf(nil), serveFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsListen != "127.0.0.1:9464" {
		t.Errorf("default metrics_listen = %q, want 127.0.0.1:9464", cfg.MetricsListen)
	}
	for name, c := range map[string]struct {
		yaml  string
		env   map[string]string
		flags []string
		want  string
	}{
		"env off":        {env: map[string]string{"FACET_METRICS_LISTEN": "off"}},
		"env OFF":        {env: map[string]string{"FACET_METRICS_LISTEN": "OFF"}},
		"flag empty":     {flags: []string{"--metrics-listen="}},
		"yaml empty":     {yaml: "metrics_listen: \"\"\n"},
		"flag over env":  {env: map[string]string{"FACET_METRICS_LISTEN": "off"}, flags: []string{"--metrics-listen", "10.0.0.5:9100"}, want: "10.0.0.5:9100"},
		"yaml any iface": {yaml: "metrics_listen: \":9100\"\n", want: ":9100"},
	} {
		t.Run(name, func(t *testing.T) {
			path := ""
			if c.yaml != "" {
				path = writeFile(t, "facet.yaml", c.yaml)
			}
			cfg, err := config.Load(path, envOf(c.env), serveFlags(t, c.flags...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsListen != c.want {
				t.Errorf("metrics_listen = %q, want %q", cfg.MetricsListen, c.want)
			}
		})
	}
	if _, err := config.Load("", envOf(map[string]string{"FACET_METRICS_LISTEN": "9464"}), nil); err == nil || !strings.Contains(err.Error(), "metrics_listen") {
		t.Errorf("metrics_listen without a port separator: err = %v", err)
	}
}

// TestDevelopmentPublicIssuer: development mode (the default) starts only on an issuer of
// this machine unless allow_dev_on_public_issuer says otherwise, since it lists every user's
// codes at /dev/mail. Production is not concerned.
func TestDevelopmentPublicIssuer(t *testing.T) {
	be := sqltest.Backends(t)[0]
	logger := slog.New(slog.DiscardHandler)
	for _, issuer := range []string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "http://127.0.0.2"} {
		a, err := newApp(t.Context(), config.Config{Issuer: issuer, DatabaseURL: be.NewURL(t)}, logger)
		if err != nil {
			t.Fatalf("development on %s: %v", issuer, err)
		}
		a.Close()
	}
	for _, issuer := range []string{"https://id.example.com", "http://192.168.1.10:8080", "http://0.0.0.0:8080", "http://localhost.example.com"} {
		dbPath := filepath.Join(t.TempDir(), "never.db")
		_, err := newApp(t.Context(), config.Config{Issuer: issuer, DatabaseURL: "sqlite://" + dbPath}, logger)
		if err == nil || !strings.Contains(err.Error(), "allow_dev_on_public_issuer") || !strings.Contains(err.Error(), "mode=production") {
			t.Errorf("development on %s: err = %v, want a refusal naming mode=production and allow_dev_on_public_issuer", issuer, err)
		}
		if _, statErr := os.Stat(dbPath); !os.IsNotExist(statErr) {
			t.Errorf("development on %s: the database was created although the start is refused", issuer)
		}
	}
	a, err := newApp(t.Context(), config.Config{Issuer: "https://id.example.com", DatabaseURL: be.NewURL(t), AllowDevPublicIssuer: true}, logger)
	if err != nil {
		t.Fatalf("development on a public issuer, allowed: %v", err)
	}
	a.Close()
	a, err = newApp(t.Context(), config.Config{Issuer: "https://id.example.com", DatabaseURL: be.NewURL(t), Mode: config.ModeProduction, Secret: testSecret}, logger)
	if err != nil {
		t.Fatalf("production on a public issuer: %v", err)
	}
	a.Close()

	// The whole program: serve refuses before touching the database; the flag, or its
	// variable, lets it start.
	dir := t.TempDir()
	env := map[string]string{"FACET_ISSUER": "https://id.example.com", "FACET_DATABASE_URL": "sqlite://" + dir + "/facet.db",
		"FACET_LISTEN": "127.0.0.1:0", "FACET_METRICS_LISTEN": "off"}
	// An address serve cannot listen on: were the start not refused, serve would fail there
	// (and would have created the database) instead of blocking the test.
	refused := map[string]string{}
	for k, v := range env {
		refused[k] = v
	}
	refused["FACET_LISTEN"] = "127.0.0.1:-1"
	var stdout, stderr syncBuffer
	err = run(t.Context(), []string{"facet", "serve"}, envOf(refused), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--allow-dev-on-public-issuer") {
		t.Fatalf("serve in development on a public issuer: err = %v", err)
	}
	if _, statErr := os.Stat(dir + "/facet.db"); !os.IsNotExist(statErr) {
		t.Errorf("the database was created although serve refused")
	}
	for _, allow := range []struct {
		env  map[string]string
		args []string
	}{
		{args: []string{"--allow-dev-on-public-issuer"}},
		{env: map[string]string{"FACET_ALLOW_DEV_ON_PUBLIC_ISSUER": "true"}},
	} {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range allow.env {
			e[k] = v
		}
		ctx, cancel := context.WithCancel(t.Context())
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"facet", "serve"}, allow.args...), envOf(e), nil, stdout, stderr)
		}()
		waitLog(t, stderr, done, listeningRE)
		if !strings.Contains(stderr.String(), "development mode on a public issuer") {
			t.Errorf("%v %v: no warning about development on a public issuer:\n%s", allow.args, allow.env, stderr.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%v %v: serve: %v", allow.args, allow.env, err)
		}
	}
}

// TestDevMailLoopbackOnly: /dev/mail holds every user's codes, so it answers only a caller on
// this machine, through the router: a remote peer, or a loopback peer that is a proxy
// forwarding someone (trusted or not), gets 404.
func TestDevMailLoopbackOnly(t *testing.T) {
	be := sqltest.Backends(t)[0]
	f := startFacet(t, be.NewURL(t), nil, func(c *config.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	h := f.app.Handler()
	for _, c := range []struct {
		remote string
		header http.Header
		want   int
	}{
		{"127.0.0.1:40000", nil, http.StatusOK},
		{"[::1]:40000", nil, http.StatusOK},
		{"[::ffff:127.0.0.1]:40000", nil, http.StatusOK},
		{"203.0.113.9:40000", nil, http.StatusNotFound},
		{"[2001:db8::1]:40000", nil, http.StatusNotFound},
		{"10.0.0.5:40000", http.Header{"X-Forwarded-For": {"127.0.0.1"}}, http.StatusNotFound},
		// A reverse proxy on this machine, trusted, forwarding an outside caller.
		{"127.0.0.1:40000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, http.StatusNotFound},
		// ... even when the caller claims to be local, or the proxy says so another way.
		{"127.0.0.1:40000", http.Header{"X-Forwarded-For": {"127.0.0.1"}}, http.StatusNotFound},
		{"127.0.0.1:40000", http.Header{"Forwarded": {"for=203.0.113.9"}}, http.StatusNotFound},
		{"127.0.0.1:40000", http.Header{"X-Real-Ip": {"203.0.113.9"}}, http.StatusNotFound},
		{"127.0.0.1:40000", http.Header{"Via": {"1.1 proxy"}}, http.StatusNotFound},
		{"not an address", nil, http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, "/dev/mail", nil)
		req.RemoteAddr = c.remote
		req.Header.Set("Accept", "text/html")
		for k, v := range c.header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("GET /dev/mail from %s %v: %d, want %d", c.remote, c.header, rec.Code, c.want)
		}
	}
	// Over a real loopback connection.
	resp, err := f.client().Get(f.issuer + "/dev/mail")
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /dev/mail over loopback: %d", resp.StatusCode)
	}
}
