package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkTokenHandler measures the token endpoint's client_credentials grant through the
// router without HTTP transport, with fosite's token handlers guarded (skipOtherGrants, as
// served) and unguarded (fosite's default), to keep the guard's gain visible.
func BenchmarkTokenHandler(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
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

// BenchmarkDecodeRequest decodes a stored access-token request (the introspection and
// userinfo hot path, minus the database), in the JSON form of older rows and the binary form.
func BenchmarkDecodeRequest(b *testing.B) {
	db := sqltest.Backends(b)[0].Open(b)
	if _, _, err := CreateClient(b.Context(), db, ClientSpec{ID: "app", Name: "App", RedirectURIs: []string{"https://app.example/cb"}}); err != nil {
		b.Fatal(err)
	}
	st := &store{db: db, clients: newClientCache(db, time.Now)}
	row := []byte(`{"id":"4f1c2d3e-aaaa-bbbb-cccc-0123456789ab","at":1700000000123,"client_id":"app",` +
		`"scopes":["openid","profile","email","offline_access"],"granted_scopes":["openid","profile","email","offline_access"],` +
		`"form":{"grant_type":["authorization_code"],"nonce":["n-0123456789"],"redirect_uri":["https://app.example/cb"]},` +
		`"session":{"sub":"0f7e6d5c-1111-2222-3333-444455556666","auth_time":1700000000,"rat":1699999990,"acr":"urn:facet:pwd","amr":["pwd"],` +
		`"exp":{"access_token":1700003600,"authorize_code":1700000300,"refresh_token":1702592000},"granted_at":1699999999}}`)
	r, err := st.decodeRequest(b.Context(), row)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := encodeRequest(r)
	if err != nil {
		b.Fatal(err)
	}
	// json: a row written before the binary form (codec.go); binary: the same request now.
	for _, c := range []struct {
		name string
		row  []byte
	}{{"json", row}, {"binary", bin}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.decodeRequest(b.Context(), c.row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
