package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestRestart stops the server and starts a new one on the same database and address:
// signing keys, browser sessions and refresh tokens survive.
func TestRestart(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			dbURL := be.NewURL(t)
			f1 := startFacet(t, dbURL, nil)
			r1 := newRP(t, f1)
			b := newAgent(t, f1.issuer)
			ar := r1.start()
			code := signUp(t, b, r1, ar, "restart@example.com", "correct horse battery", "")
			tok, err := r1.conf.Exchange(r1.ctx(), code, oauth2.VerifierOption(ar.verifier))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			addr := f1.addr
			f1.stop(t)

			f2 := startFacetAt(t, dbURL, nil, addr)
			// The same client, seen through the new node.
			r2 := *r1
			r2.f = f2
			// The ID token signed before the restart still verifies against the new JWKS.
			if _, err := r2.provider.Verifier(&oidcConfig{ClientID: r2.clientID}).Verify(r2.ctx(), raw); err != nil {
				t.Fatalf("ID token from before the restart: %v", err)
			}
			// The refresh token still works.
			if _, err := r2.conf.TokenSource(r2.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
				t.Fatalf("refresh after restart: %v", err)
			}
			// The browser session still works: prompt=none gives a code.
			ar2 := r2.start(oauth2.SetAuthURLParam("prompt", "none"))
			q := callback(t, b.get(ar2.url), ar2, f2.issuer)
			if q.Get("code") == "" {
				t.Fatalf("session lost across restart: %v", q)
			}
		})
	}
}

// benchFacet prepares a server, a confidential client and a user with tokens.
func benchFacet(b *testing.B, be sqltest.Backend) (*facet, *rp, *oauth2.Token) {
	s := signUpAndExchange(b, be, "bench@example.com", "Bench Mark")
	return s.f, s.r, s.tok
}

func BenchmarkTokenClientCredentials(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f, r, _ := benchFacet(b, be)
			body := url.Values{"grant_type": {"client_credentials"}}.Encode()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				benchPost(b, f, "/oauth2/token", r, body)
			}
		})
	}
}

// BenchmarkTokenRefresh measures a refresh (rotation) with the served default reuse grace.
func BenchmarkTokenRefresh(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := signUpAndExchangeOn(b, be, nil, "bench@example.com", "Bench Mark", withGrace(testGrace))
			r, tok := s.r, s.tok
			refresh := tok.RefreshToken
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				nt, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: refresh}).Token()
				if err != nil {
					b.Fatal(err)
				}
				refresh = nt.RefreshToken
			}
		})
	}
}

func BenchmarkIntrospect(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f, r, tok := benchFacet(b, be)
			body := url.Values{"token": {tok.AccessToken}}.Encode()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				benchPost(b, f, "/oauth2/introspect", r, body)
			}
		})
	}
}

func BenchmarkUserinfo(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f, _, tok := benchFacet(b, be)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, f.issuer+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := f.client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				drain(resp)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

func benchPost(b *testing.B, f *facet, path string, r *rp, body string) {
	req, _ := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := f.client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: status %d", path, resp.StatusCode)
	}
}

// BenchmarkUserinfo20Fields is BenchmarkUserinfo for a user with 20 populated profile rows
// (every catalog field, public, plus six rows the catalog does not know, which consent
// skips), so each call releases the full profile and keeps the disclosure record.
func BenchmarkUserinfo20Fields(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := startFacet(b, be.NewURL(b), nil)
			r := newRP(b, f, "openid", "profile", "email", "phone", "address")
			br := newAgent(b, f.issuer)
			ar := r.start()
			code := signUp(b, br, r, ar, "bench20@example.com", "correct horse battery", "Bench Mark")
			u, err := f.app.store.GetUserByEmail(b.Context(), "bench20@example.com")
			if err != nil {
				b.Fatal(err)
			}
			values := map[string]string{
				"given_name": "Bench", "family_name": "Mark", "middle_name": "M", "nickname": "bm",
				"preferred_username": "bench", "birthdate": "1990-01-02", "gender": "other", "locale": "en-GB",
				"zoneinfo": "Europe/Berlin", "website": "https://bench.example.org",
				"address": `{"street_address":"1 Main St","locality":"Berlin","country":"Germany"}`,
				"email":   "", "phone_number": "+4915550100", "picture": "/public/images/profile/abcdefgh12345678",
				"x_extra_1": "1", "x_extra_2": "2", "x_extra_3": "3", "x_extra_4": "4", "x_extra_5": "5", "x_extra_6": "6",
			}
			var rows []storage.ProfileField
			for k, v := range values {
				rows = append(rows, storage.ProfileField{UserID: u.ID, Field: k, Value: v, Privacy: "public", UpdatedAt: time.Now()})
			}
			if err := f.app.store.PutProfileFields(b.Context(), rows); err != nil {
				b.Fatal(err)
			}
			tok := exchange(b, r, ar, code)
			req, _ := http.NewRequest(http.MethodGet, f.issuer+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := f.client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var claims map[string]any
			if err := jsonDecode(resp, &claims); err != nil || len(claims) != 19 {
				b.Fatalf("userinfo releases %d claims (%v), want the full profile (19 with sub, name, updated_at and the verified flags)", len(claims), err)
			}
			resp.Body.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, f.issuer+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := f.client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				drain(resp)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
