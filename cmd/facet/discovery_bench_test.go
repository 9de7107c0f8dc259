package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkDiscoveryHandler serves discovery and JWKS through the whole handler chain
// (middleware, router, handler) without a network connection: what Facet adds on top of
// net/http's own cost per request.
func BenchmarkDiscoveryHandler(b *testing.B) {
	f := startFacet(b, sqltest.Backends(b)[0].NewURL(b), nil)
	h := f.app.Handler()
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		b.Run(path[len("/.well-known/"):], func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, w.Code)
				}
			}
		})
	}
}
