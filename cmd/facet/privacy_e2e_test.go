package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestPrivacyConsent walks per-field privacy and consent end to end with the go-oidc relying party on both
// databases: selective consent, a field made private after consent, a field moved from
// private to on request, the private profile, and Deny.
func TestPrivacyConsent(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "email")
			b := newAgent(t, f.issuer)
			ctx := t.Context()

			// Sign up; the consent page lists the on-request claims, each pre-checked.
			ar := r.start(oauth2.SetAuthURLParam("claims", `{"id_token":{"given_name":{"essential":true},"birthdate":null}}`))
			p := b.get(ar.url)
			reg := b.get(registerLink(t, p))
			b.submit(reg, reg.formWith(t, "/register"), url.Values{
				"email": {"privacy@example.com"}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"},
				"name": {"Alex Timofeeva"},
			}, "")
			user, err := f.app.store.GetUserByEmail(ctx, "privacy@example.com")
			if err != nil {
				t.Fatal(err)
			}
			// A birth date (private by default) and a public nickname.
			if err := f.app.store.PutProfileFields(ctx, []storage.ProfileField{
				{UserID: user.ID, Field: "birthdate", Value: "1990-05-06", UpdatedAt: time.Now()},
				{UserID: user.ID, Field: "nickname", Value: "Sasha", Privacy: "public", UpdatedAt: time.Now()},
			}); err != nil {
				t.Fatal(err)
			}
			p = b.get(ar.url) // the consent page again, now with those fields
			form := p.formWith(t, "/oauth2/consent")
			if got := form.values["claim"]; !slices.Equal(got, []string{"given_name", "family_name", "email"}) {
				t.Fatalf("pre-checked claims = %v, want given_name, family_name, email\n%s", got, p.body)
			}
			for _, want := range []string{"Shared, because you made it public", "Kept private", `href="/profile?return_to=%2Foauth2%2Fauth%3F`} {
				if !strings.Contains(p.body, want) {
					t.Errorf("consent page lacks %q", want)
				}
			}
			// Untick family_name and allow.
			p = b.submit(p, form, url.Values{"claim": {"given_name", "email"}}, "allow")
			q := callback(t, p, ar, f.issuer)
			tok, err := r.conf.Exchange(r.ctx(), q.Get("code"), oauth2.VerifierOption(ar.verifier))
			if err != nil {
				t.Fatal(err)
			}
			idClaims := idTokenClaims(t, r, tok)
			if idClaims["given_name"] != "Alex" || idClaims["birthdate"] != nil || idClaims["email"] != nil {
				t.Errorf("ID token claims = %v, want given_name only (claims parameter; birthdate private)", idClaims)
			}
			ui := userinfo(t, r, tok)
			if ui["family_name"] != nil || ui["given_name"] != "Alex" || ui["email"] != "privacy@example.com" ||
				ui["nickname"] != "Sasha" || ui["birthdate"] != nil {
				t.Fatalf("userinfo after selective consent = %v", ui)
			}

			// Make given_name private: the next userinfo (same token) lacks it.
			setLevel(t, b, "given_name", "private")
			if ui := userinfo(t, r, tok); ui["given_name"] != nil || ui["name"] != nil {
				t.Fatalf("userinfo after given_name went private = %v", ui)
			}

			// Move birthdate from private to on request: the next authorization asks for it,
			// and prompt=none says consent_required.
			setLevel(t, b, "birthdate", "on_request")
			arNone := r.start(oauth2.SetAuthURLParam("prompt", "none"))
			if got := callback(t, b.get(arNone.url), arNone, f.issuer).Get("error"); got != "consent_required" {
				t.Fatalf("prompt=none with a new on-request claim: error %q, want consent_required", got)
			}
			ar2 := r.start()
			p = b.get(ar2.url)
			form = p.formWith(t, "/oauth2/consent")
			// birthdate is ticked; family_name, declined before, stays unticked.
			if !slices.Contains(form.values["claim"], "birthdate") || slices.Contains(form.values["claim"], "family_name") {
				t.Fatalf("consent page: ticked %v, want birthdate and not the declined family_name", form.values["claim"])
			}
			tok2 := exchange(t, r, ar2, approve(t, b, p, ar2, f.issuer))
			if ui := userinfo(t, r, tok2); ui["birthdate"] != "1990-05-06" || ui["family_name"] != nil {
				t.Fatalf("userinfo after allowing birthdate = %v, want birthdate and not family_name", ui)
			}
			// Everything requested is granted now: no page.
			ar3 := r.start()
			tok3 := exchange(t, r, ar3, callback(t, b.get(ar3.url), ar3, f.issuer).Get("code"))

			// Private profile on: the public nickname stops flowing until consent.
			p = b.post("/profile/private-profile", url.Values{"enabled": {"on"}})
			if p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Fatalf("private profile: %d at %s", p.status, p.url)
			}
			if ui := userinfo(t, r, tok3); ui["nickname"] != nil {
				t.Fatalf("public claim released with the private profile on: %v", ui)
			}
			ar4 := r.start()
			p = b.get(ar4.url)
			form = p.formWith(t, "/oauth2/consent")
			if !slices.Contains(form.values["claim"], "nickname") {
				t.Fatalf("consent page does not ask for nickname: %v", form.values["claim"])
			}
			tok4 := exchange(t, r, ar4, approve(t, b, p, ar4, f.issuer))
			if ui := userinfo(t, r, tok4); ui["nickname"] != "Sasha" {
				t.Fatalf("nickname after consent = %v", ui)
			}

			// The account API sets levels too: unknown field 404, bad level 422.
			for _, c := range []struct {
				path, body string
				status     int
			}{
				{"/api/account/privacy/email", `{"level":"private"}`, http.StatusOK},
				{"/api/account/privacy/shoe_size", `{"level":"private"}`, http.StatusNotFound},
				{"/api/account/privacy/identifier:42", `{"level":"private"}`, http.StatusNotFound},
				{"/api/account/privacy/email", `{"level":"friends"}`, http.StatusUnprocessableEntity},
				{"/api/account/private-profile", `{"enabled":false}`, http.StatusOK},
				{"/api/account/private-profile", `{}`, http.StatusUnprocessableEntity},
			} {
				if got := apiPut(t, b, c.path, c.body); got != c.status {
					t.Errorf("PUT %s %s: status %d, want %d", c.path, c.body, got, c.status)
				}
			}
			if ui := userinfo(t, r, tok4); ui["email"] != nil {
				t.Errorf("email after the API made it private: %v", ui)
			}

			// The disclosure record saw the releases.
			ds, err := f.app.store.ListDisclosures(ctx, user.ID)
			if err != nil || len(ds) == 0 || ds[0].ClientID != r.clientID {
				t.Errorf("disclosures = %+v (%v)", ds, err)
			}

			// Deny → access_denied.
			r2 := newRP(t, f, "openid", "profile")
			ar5 := r2.start()
			p = b.get(ar5.url)
			form = p.formWith(t, "/oauth2/consent")
			p = b.submit(p, form, nil, "deny")
			if got := callback(t, p, ar5, f.issuer).Get("error"); got != "access_denied" {
				t.Fatalf("deny: error %q, want access_denied", got)
			}
		})
	}
}

func setLevel(t testing.TB, b *agent, field, level string) {
	t.Helper()
	p := b.post("/profile/privacy/"+field, url.Values{"level": {level}})
	if p.status != http.StatusOK || p.url.Path != "/profile" {
		t.Fatalf("set %s to %s: %d at %s\n%s", field, level, p.status, p.url, p.body)
	}
}

func apiPut(t testing.TB, b *agent, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, b.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.base)
	return b.do(req).status
}

func userinfo(t testing.TB, r *rp, tok *oauth2.Token) map[string]any {
	t.Helper()
	ui, err := r.provider.UserInfo(r.ctx(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func idTokenClaims(t testing.TB, r *rp, tok *oauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
