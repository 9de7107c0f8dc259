package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/storage/sqltest"
)

// logoutReceiver is an app's back-channel logout endpoint recording the tokens it gets.
type logoutReceiver struct {
	mu     sync.Mutex
	tokens []string
	srv    *httptest.Server
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	t.Helper()
	r := &logoutReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tokens = append(r.tokens, req.PostFormValue("logout_token"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *logoutReceiver) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.tokens
	r.tokens = nil
	return out
}

// registerBackchannel gives rp's client the back-channel logout URI of rec.
func registerBackchannel(t *testing.T, f *facet, r *rp, rec *logoutReceiver) {
	t.Helper()
	c, err := f.app.store.GetClient(t.Context(), r.clientID)
	if err != nil {
		t.Fatal(err)
	}
	c.BackchannelLogoutURI = rec.srv.URL + "/logout"
	if err := f.app.store.UpdateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// logoutClaims verifies raw against the server's JWKS and returns its claims.
func logoutClaims(t *testing.T, f *facet, raw string) map[string]any {
	t.Helper()
	resp, err := f.client().Get(f.issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := jsonDecode(resp, &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	if typ := tok.Headers[0].ExtraHeaders["typ"]; typ != "logout+jwt" {
		t.Errorf("typ %v", typ)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", tok.Headers[0].KeyID)
	}
	c := map[string]any{}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	return c
}

func idTokenSID(t *testing.T, r *rp, raw string) (string, string) {
	t.Helper()
	idt, err := r.verifier.Verify(r.ctx(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return idt.Subject, c.SID
}

// TestBackchannelLogout: two apps signed in through one browser session. RP-initiated logout
// by A tells B (not A) with B's sid; a password change tells every app.
func TestBackchannelLogout(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			s := signUpAndExchange(t, be, "bcl@example.com", "Back Channel")
			f, a, b := s.f, s.r, s.b
			recA, recB := newLogoutReceiver(t), newLogoutReceiver(t)
			registerBackchannel(t, f, a, recA)
			rb := newRP(t, f)
			registerBackchannel(t, f, rb, recB)
			arB := rb.start()
			tokB := exchange(t, rb, arB, approve(t, b, b.get(arB.url), arB, f.issuer))

			rawA, _ := s.tok.Extra("id_token").(string)
			rawB, _ := tokB.Extra("id_token").(string)
			sub, sidA := idTokenSID(t, a, rawA)
			_, sidB := idTokenSID(t, rb, rawB)
			if sidA == "" || sidA != sidB {
				t.Fatalf("sid of one browser session: %q and %q", sidA, sidB)
			}

			// A asks for the logout: B hears of it, A does not.
			q := url.Values{"id_token_hint": {rawA}, "post_logout_redirect_uri": {rpPostLogout}}
			if p := b.get("/oauth2/sessions/logout?" + q.Encode()); !strings.HasPrefix(p.location, rpPostLogout) {
				t.Fatalf("end_session: %d %q", p.status, p.location)
			}
			if n, err := f.app.logouts.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("deliveries: %d, %v; want 1", n, err)
			}
			if got := recA.take(); len(got) != 0 {
				t.Errorf("the app that asked for the logout got %d logout tokens", len(got))
			}
			got := recB.take()
			if len(got) != 1 {
				t.Fatalf("B got %d logout tokens, want 1", len(got))
			}
			c := logoutClaims(t, f, got[0])
			events, _ := c["events"].(map[string]any)
			if c["iss"] != f.issuer || c["aud"] != rb.clientID || c["sub"] != sub || c["sid"] != sidB ||
				events[backchannel.EventURI] == nil || c["jti"] == "" || c["nonce"] != nil {
				t.Errorf("logout token claims: %v", c)
			}

			// Signed in again through A; a password change tells every app of the user.
			arA := a.start()
			exchange(t, a, arA, logIn(t, b, a, arA, "bcl@example.com", "correct horse battery"))
			body, _ := json.Marshal(map[string]string{"current_password": "correct horse battery", "new_password": "another good passphrase"})
			req, _ := http.NewRequest(http.MethodPut, f.issuer+"/api/account/password", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", f.issuer)
			resp, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			drain(resp)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("password change: %d", resp.StatusCode)
			}
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			gotA, gotB := recA.take(), recB.take()
			if len(gotA) != 1 || len(gotB) != 1 {
				t.Fatalf("after the password change A got %d, B %d logout tokens; want 1 each", len(gotA), len(gotB))
			}
			if c := logoutClaims(t, f, gotA[0]); c["aud"] != a.clientID || c["sub"] != sub || c["sid"] == "" {
				t.Errorf("A's logout token after the password change: %v", c)
			}
			if c := logoutClaims(t, f, gotB[0]); c["aud"] != rb.clientID || c["sub"] != sub || c["sid"] != nil {
				t.Errorf("B's logout token (no session signed B in any more: no sid): %v", c)
			}

			// Signed in through A once more; logging out at Facet itself tells A, with the new
			// session's sid.
			arA = a.start()
			tokA := exchange(t, a, arA, logIn(t, b, a, arA, "bcl@example.com", "another good passphrase"))
			rawA, _ = tokA.Extra("id_token").(string)
			_, sidNew := idTokenSID(t, a, rawA)
			if sidNew == "" || sidNew == sidA {
				t.Errorf("a new browser session's sid %q (the old one was %q)", sidNew, sidA)
			}
			// A login that replaces the browser session (prompt=login) ends the old one: A
			// hears of the old sid and has the new one in its new ID token.
			arA = a.start(oauth2.SetAuthURLParam("prompt", "login"))
			tokA = exchange(t, a, arA, logIn(t, b, a, arA, "bcl@example.com", "another good passphrase"))
			rawA, _ = tokA.Extra("id_token").(string)
			_, sidThird := idTokenSID(t, a, rawA)
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			gotA = recA.take()
			if len(gotA) != 1 || sidThird == sidNew {
				t.Fatalf("after a new login A got %d logout tokens (want 1); sids %q, %q", len(gotA), sidNew, sidThird)
			}
			if c := logoutClaims(t, f, gotA[0]); c["sid"] != sidNew {
				t.Errorf("A's logout token after a new login: %v, want the old sid %q", c, sidNew)
			}
			sidNew = sidThird

			p := b.get("/profile")
			if p = b.submit(p, p.formWith(t, "/logout"), nil, ""); p.url.Path != "/login" {
				t.Fatalf("log out: %d at %s", p.status, p.url)
			}
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			gotA = recA.take()
			if len(gotA) != 1 {
				t.Fatalf("after logging out at Facet A got %d logout tokens, want 1", len(gotA))
			}
			if c := logoutClaims(t, f, gotA[0]); c["aud"] != a.clientID || c["sid"] != sidNew {
				t.Errorf("A's logout token after the logout at Facet: %v", c)
			}
		})
	}
}
