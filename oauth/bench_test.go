package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage/storagetest"
)

// BenchmarkTokenHandler measures the token endpoint's client_credentials grant through the
// router without HTTP transport, with fosite's token handlers guarded (skipOtherGrants, as
// served) and unguarded (fosite's default), to keep the guard's gain visible.
func BenchmarkTokenHandler(b *testing.B) {
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b)
			p, _ := fuzzProviderOn(b, db)
			_, secret, err := CreateClient(b.Context(), db, ClientSpec{ID: "rs", Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
			if err != nil {
				b.Fatal(err)
			}
			h := p.tokenInput(p.handleToken)
			body := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}.Encode()
			fc := p.oauth.(*fosite.Fosite).Config.(*fosite.Config)
			guarded := fc.TokenEndpointHandlers
			unguarded := make(fosite.TokenEndpointHandlers, len(guarded))
			for i, th := range guarded {
				unguarded[i] = th.(skipOtherGrants).TokenEndpointHandler
			}
			for _, v := range []struct {
				name     string
				handlers fosite.TokenEndpointHandlers
			}{{"guarded", guarded}, {"unguarded", unguarded}} {
				b.Run(v.name, func(b *testing.B) {
					fc.TokenEndpointHandlers = v.handlers
					defer func() { fc.TokenEndpointHandlers = guarded }()
					b.ReportAllocs()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.SetBasicAuth("rs", secret)
						rec := httptest.NewRecorder()
						h(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("status %d: %s", rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}
