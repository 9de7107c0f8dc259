package oauth

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/oauth/registration"
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
			_, secret, err := registration.Create(b.Context(), db, registration.Spec{ID: "rs", Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
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

// BenchmarkIntrospectHandler measures introspecting an access token (a client_credentials
// token, so no user data is loaded) through the router without HTTP transport: one stored
// request decoded per call, the denominator for the stored form's cost.
func BenchmarkIntrospectHandler(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b)
			p, _ := fuzzProviderOn(b, db)
			_, secret, err := registration.Create(b.Context(), db, registration.Spec{ID: "rs", Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
			if err != nil {
				b.Fatal(err)
			}
			post := func(h http.HandlerFunc, path string, form url.Values) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("rs", secret)
				rec := httptest.NewRecorder()
				h(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
				}
				return rec
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			rec := post(p.tokenInput(p.handleToken), PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}})
			if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
				b.Fatalf("token: %v %s", err, rec.Body)
			}
			h := p.introspectInput(p.handleIntrospect)
			form := url.Values{"token": {tok.AccessToken}}
			b.ReportAllocs()
			for b.Loop() {
				if rec := post(h, PathIntrospect, form); !strings.Contains(rec.Body.String(), `"active":true`) {
					b.Fatalf("introspection: %s", rec.Body)
				}
			}
		})
	}
}

// benchRow is an access token's stored request as the code exchange writes it (four scopes,
// three form members, a session with expiries and no extra claims) in version 1 of the stored
// form; benchRequest decodes it.
func benchRequest(b *testing.B) (*store, *fosite.Request, []byte) {
	db := sqltest.Backends(b)[0].Open(b)
	if _, _, err := registration.Create(b.Context(), db, registration.Spec{ID: "app", Name: "App", RedirectURIs: []string{"https://app.example/cb"}}); err != nil {
		b.Fatal(err)
	}
	st := &store{db: db, clients: newClientCache(db, time.Now)}
	v1, err := hex.DecodeString("012434663163326433652d616161612d626262622d636363632d303132333435363738396162f6a1abfef962036170700406" +
		"6f70656e69640770726f66696c6505656d61696c0e6f66666c696e655f61636365737304066f70656e69640770726f66696c" +
		"6505656d61696c0e6f66666c696e655f6163636573730000030c72656469726563745f757269011668747470733a2f2f6170" +
		"702e6578616d706c652f6362056e6f6e6365010c6e2d303132333435363738390a6772616e745f747970650112617574686f" +
		"72697a6174696f6e5f636f6465012430663765366435632d313131312d323232322d333333332d3434343435353535363636" +
		"3680c49fd50cecc39fd50c0d75726e3a66616365743a707764010370776400030c6163636573735f746f6b656ea0fc9fd50c" +
		"0e617574686f72697a655f636f6465d8c89fd50c0d726566726573685f746f6b656e80f8dbd70cfec39fd50c00")
	if err != nil {
		b.Fatal(err)
	}
	r, err := st.decodeRequest(b.Context(), v1)
	if err != nil {
		b.Fatal(err)
	}
	return st, r, v1
}

// BenchmarkDecodeRequest decodes a stored access-token request (the introspection and
// userinfo hot path, minus the database): a row of version 1 and the same request in CBOR.
func BenchmarkDecodeRequest(b *testing.B) {
	st, r, v1 := benchRequest(b)
	row, err := encodeRequest(r)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		row  []byte
	}{{"v1", v1}, {"cbor", row}} {
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

// BenchmarkEncodeRequest encodes the request of BenchmarkDecodeRequest (each code exchange and
// refresh writes two or three).
func BenchmarkEncodeRequest(b *testing.B) {
	_, r, _ := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}
