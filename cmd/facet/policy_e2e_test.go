package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestPolicyDownload: /profile/policy downloads the configured policy_file with its type
// and file name, and without one the shipped default in the reader's language.
func TestPolicyDownload(t *testing.T) {
	be := sqltest.Backends(t)[0]
	pdf := []byte("%PDF-1.4\n% the operator's policy\n%%EOF\n")
	path := filepath.Join(t.TempDir(), "our-policy.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	configured := startFacet(t, be.NewURL(t), nil, func(c *config.Config) { c.PolicyFile = path })
	shipped := startFacet(t, be.NewURL(t), nil)
	for _, tc := range []struct {
		name, lang, wantType, wantFile, wantText string
		f                                        *facet
	}{
		{"configured", "en", "application/pdf", "our-policy.pdf", "the operator's policy", configured},
		{"default", "en", "text/markdown; charset=utf-8", "personal-data-processing-policy.md", "# Personal Data Processing Policy", shipped},
		{"default ru", "ru", "text/markdown; charset=utf-8", "personal-data-processing-policy.md", "# Политика обработки персональных данных", shipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newAgent(t, tc.f.issuer)
			b.header = http.Header{"Accept-Language": {tc.lang}}
			p := b.get("/profile/policy")
			if p.status != http.StatusOK || p.header.Get("Content-Type") != tc.wantType {
				t.Fatalf("%d %q", p.status, p.header.Get("Content-Type"))
			}
			disp, params, err := mime.ParseMediaType(p.header.Get("Content-Disposition"))
			if err != nil || disp != "attachment" || params["filename"] != tc.wantFile {
				t.Errorf("Content-Disposition %q, want attachment %s", p.header.Get("Content-Disposition"), tc.wantFile)
			}
			if !strings.Contains(p.body, tc.wantText) || p.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("body %.80q, nosniff %q", p.body, p.header.Get("X-Content-Type-Options"))
			}
		})
	}
	// A policy file of an unknown kind stops the start.
	bad := filepath.Join(t.TempDir(), "policy.docx")
	if err := os.WriteFile(bad, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Issuer: "http://127.0.0.1:1", DatabaseURL: be.NewURL(t), Secret: testSecret, PolicyFile: bad}
	if a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler)); err == nil {
		a.Close()
		t.Error("a .docx policy_file started")
	}
}

// BenchmarkExportLargeLog exports an account with 100,000 activity-log events through GET
// /api/account/export and reports the peak heap in use while it streams (sampled every
// millisecond) next to the size of the document: the log is streamed, so the peak stays far
// below the document's size.
func BenchmarkExportLargeLog(b *testing.B) {
	be := sqltest.Backends(b)[0]
	if os.Getenv(sqltest.EnvDatabaseURL) != "" {
		be = sqltest.Backends(b)[1]
	}
	f := startFacet(b, be.NewURL(b), nil)
	ag := newAgent(b, f.issuer)
	if p := ag.post("/register", map[string][]string{"email": {"big@example.com"}, "password": {"correct horse battery"},
		"confirm": {"correct horse battery"}, "name": {"Big Log"}}); p.status >= 400 {
		b.Fatalf("register: %d", p.status)
	}
	ctx := context.Background()
	users, err := f.app.store.ListUsers(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sub := users[0].ID
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const events = 100000
	for chunk := 0; chunk < events; chunk += 5000 {
		err := f.app.store.InTx(ctx, func(ctx context.Context) error {
			for i := chunk; i < chunk+5000; i++ {
				if err := f.app.store.AddEvent(ctx, storage.Event{ID: profile.NewID(), UserID: sub, Category: profile.CategoryLogin,
					At: start.Add(time.Duration(i) * time.Second), Device: "desktop", Browser: "Firefox", OS: "Linux", IP: "192.0.2.7",
					Details: map[string]string{"method": "password"}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var peak, size int64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var top atomic.Int64
		done := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if d := int64(m.HeapInuse) - int64(base.HeapInuse); d > top.Load() {
					top.Store(d)
				}
			}
		}()
		req, err := http.NewRequest(http.MethodGet, f.issuer+"/api/account/export", nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := ag.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		close(done)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("export: %d %v", res.StatusCode, err)
		}
		size, peak = n, max(peak, top.Load())
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(size)/(1<<20), "export-MiB")
	// The last page must hold the first event: nothing was cut.
	res, err := ag.client.Get(f.issuer + "/api/account/export")
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	if got := bytes.Count(body, []byte(`"category":"login"`)); got < events {
		b.Fatalf("export holds %d login events, want at least %d", got, events)
	}
}
