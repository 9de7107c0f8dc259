package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/facetid/facet/storage/sqltest"
)

// TestInvalidTextRefused: NUL and invalid UTF-8 in a path, query, form, JSON body or OAuth2
// parameter are a 400 on both backends — PostgreSQL would otherwise fail the query (SQLSTATE
// 22021) with a 500 where SQLite stores the text or answers 404.
func TestInvalidTextRefused(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "nul@example.com", "Nul Byte")
			base := s.f.issuer
			do := func(method, path, contentType, body string) (int, string) {
				req, err := http.NewRequest(method, base+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				req.Header.Set("Origin", base)
				return send(t, s.f, req)
			}
			// The signed-in browser's requests, with its session cookie.
			signedIn := func(method, path, contentType, body string) (int, string) {
				req, err := http.NewRequest(method, base+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				req.Header.Set("Origin", base)
				p := s.b.do(req)
				return p.status, p.body
			}
			const form, jsonType = "application/x-www-form-urlencoded", "application/json"
			authorize := url.Values{"client_id": {"a\x00b"}, "response_type": {"code"}, "redirect_uri": {rpRedirect},
				"scope": {"openid"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
			cases := []struct {
				name string
				call func() (int, string)
				want string // in the body
			}{
				{"login email with NUL", func() (int, string) {
					return do(http.MethodPost, "/login", form, "email=a%00b&password=correct+horse+battery")
				}, ""},
				{"login email not UTF-8", func() (int, string) {
					return do(http.MethodPost, "/login", form, "email=a%FFb&password=correct+horse+battery")
				}, ""},
				{"query with NUL", func() (int, string) { return do(http.MethodGet, "/login?return_to=/profile%00", "", "") }, ""},
				{"photo delete id NUL", func() (int, string) {
					return signedIn(http.MethodPost, "/profile/photo/delete", form, "id=%00")
				}, ""},
				{"event id not UTF-8", func() (int, string) { return signedIn(http.MethodGet, "/profile/events/%FF", "", "") }, ""},
				{"event id NUL", func() (int, string) { return signedIn(http.MethodGet, "/profile/events/%00", "", "") }, ""},
				{"account API JSON field with NUL", func() (int, string) {
					return signedIn(http.MethodPatch, "/api/account/profile", jsonType, `{"given_name":"a\u0000b"}`)
				}, `"invalid_request"`},
				{"account API JSON name with NUL", func() (int, string) {
					return signedIn(http.MethodPatch, "/api/account/profile", jsonType, `{"given\u0000name":"a"}`)
				}, `"invalid_request"`},
				{"token client_id with NUL", func() (int, string) {
					return do(http.MethodPost, "/oauth2/token", form, url.Values{"grant_type": {"client_credentials"},
						"client_id": {"a\x00b"}, "client_secret": {"x"}}.Encode())
				}, `"invalid_request"`},
				{"token code with NUL", func() (int, string) {
					return do(http.MethodPost, "/oauth2/token", form, url.Values{"grant_type": {"authorization_code"},
						"client_id": {s.r.clientID}, "client_secret": {s.r.secret}, "code": {"a\x00b"},
						"redirect_uri": {rpRedirect}, "code_verifier": {strings.Repeat("v", 43)}}.Encode())
				}, `"invalid_request"`},
				{"authorize client_id with NUL", func() (int, string) {
					return signedIn(http.MethodGet, "/oauth2/auth?"+authorize.Encode(), "", "")
				}, ""},
			}
			for _, c := range cases {
				status, body := c.call()
				if status != http.StatusBadRequest || !strings.Contains(body, c.want) {
					t.Errorf("%s: %d %.300s, want 400 %s", c.name, status, body, c.want)
				}
			}
			// A body beyond the pages' own 64 KiB bound is not buffered by the check: the
			// handler refuses it as too large, NUL or not.
			big := "email=a%00b&password=" + strings.Repeat("x", 100<<10)
			if status, body := do(http.MethodPost, "/login", form, big); status != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized login form: %d %.300s, want 413", status, body)
			}
			// Valid text still goes through.
			if status, body := signedIn(http.MethodPatch, "/api/account/profile", jsonType, `{"given_name":"Zoë"}`); status != http.StatusOK {
				t.Errorf("account API with valid text: %d %.300s", status, body)
			}
		})
	}
}
