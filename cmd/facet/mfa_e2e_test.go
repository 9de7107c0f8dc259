package main

import (
	"encoding/json"
	stdhtml "html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage/sqltest"
)

var (
	totpSecretRE = regexp.MustCompile(`<code class="totp-key"[^>]*>([A-Z2-7]+)</code>`)
	continueRE   = regexp.MustCompile(`<a href="([^"]+)" role="button">`)
)

func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authClaims are the ID token's authentication claims, read by the go-oidc RP.
type authClaims struct {
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

func idTokenAuth(t testing.TB, r *rp, tok *oauth2.Token) authClaims {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c authClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// setUpTOTPIn turns the authenticator app on from b's profile and returns the secret.
func setUpTOTPIn(t testing.TB, b *agent, c *clock) string {
	t.Helper()
	p := b.post("/profile/security/totp", url.Values{})
	m := totpSecretRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("TOTP setup: %d\n%s", p.status, p.body)
	}
	p = b.post("/profile/security/totp/verify", url.Values{"code": {totpCode(t, m[1], c.now())}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Save your recovery codes") {
		t.Fatalf("TOTP confirm: %d\n%s", p.status, p.body)
	}
	c.advance(30 * time.Second)
	return m[1]
}

// TestMFAFlow: the ID token tells how the user signed in (acr, amr, as go-oidc reads them),
// and an authorization request that wants a second factor gets it by step-up: acr_values,
// a client registered with --require-mfa (which also enrols an account without a factor),
// max_age; prompt=none gets interaction_required.
func TestMFAFlow(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			// The clock starts 150 s behind the wall clock and the test moves it on to reach
			// later TOTP steps; it stays behind (fosite refuses an auth_time ahead of the wall
			// clock) by less than max_age (fosite checks max_age against the wall clock).
			c := newClock()
			c.advance(-150 * time.Second)
			s := signUpAndExchangeOn(t, be, c, "mia@example.com", "Mia Factor")
			if got := idTokenAuth(t, s.r, s.tok); got.ACR != "urn:facet:pwd" || !slices.Equal(got.AMR, []string{"pwd"}) {
				t.Fatalf("password sign-in: acr %q amr %v", got.ACR, got.AMR)
			}
			secret := setUpTOTPIn(t, s.b, c)

			// prompt=none cannot step up.
			ar := s.r.start(oauth2.SetAuthURLParam("acr_values", "urn:facet:mfa"), oauth2.SetAuthURLParam("prompt", "none"))
			if q := callback(t, s.b.get(ar.url), ar, s.f.issuer); q.Get("error") != "interaction_required" {
				t.Fatalf("prompt=none with acr_values: %v", q)
			}
			// acr_values=urn:facet:mfa on a password-only session: the second step, then back.
			ar = s.r.start(oauth2.SetAuthURLParam("acr_values", "urn:facet:mfa"))
			p := s.b.get(ar.url)
			if p.url.Path != "/login/mfa" {
				t.Fatalf("acr_values on a password session landed on %s (%d)", p.url, p.status)
			}
			p = s.b.submit(p, p.formWith(t, "/login/mfa"), url.Values{"code": {totpCode(t, secret, c.now())}}, "")
			tok := exchange(t, s.r, ar, approve(t, s.b, p, ar, s.f.issuer))
			got := idTokenAuth(t, s.r, tok)
			if got.ACR != "urn:facet:mfa" || !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) {
				t.Fatalf("after step-up: acr %q amr %v", got.ACR, got.AMR)
			}

			// A new browser: password, then the code; acr says mfa without being asked.
			c.advance(30 * time.Second)
			b2 := newAgent(t, s.f.issuer)
			ar = s.r.start()
			p = b2.get(ar.url)
			p = b2.submit(p, p.formWith(t, "/login"), url.Values{"email": {"mia@example.com"}, "password": {"correct horse battery"}}, "")
			if p.url.Path != "/login/mfa" {
				t.Fatalf("password sign-in with a factor landed on %s", p.url)
			}
			p = b2.submit(p, p.formWith(t, "/login/mfa"), url.Values{"code": {totpCode(t, secret, c.now())}}, "")
			tok = exchange(t, s.r, ar, approve(t, b2, p, ar, s.f.issuer))
			if got := idTokenAuth(t, s.r, tok); got.ACR != "urn:facet:mfa" || !slices.Contains(got.AMR, "otp") {
				t.Fatalf("two-factor sign-in: acr %q amr %v", got.ACR, got.AMR)
			}

			// max_age: a sign-in older than it is renewed by the factor alone.
			c.advance(65 * time.Second)
			ar = s.r.start(oauth2.SetAuthURLParam("max_age", "60"))
			p = b2.get(ar.url)
			if p.url.Path != "/login/mfa" {
				t.Fatalf("max_age with a factor landed on %s", p.url)
			}
			p = b2.submit(p, p.formWith(t, "/login/mfa"), url.Values{"code": {totpCode(t, secret, c.now())}}, "")
			tok = exchange(t, s.r, ar, approve(t, b2, p, ar, s.f.issuer))
			if got := idTokenAuth(t, s.r, tok); c.now().Unix()-got.AuthTime > 5 {
				t.Fatalf("auth_time %d after max_age step-up, now %d", got.AuthTime, c.now().Unix())
			}

			// A client that requires MFA enrols an account without a factor before it signs in.
			strict, secret2, err := registration.Create(t.Context(), s.f.app.store, registration.Spec{Name: "Strict App",
				RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"},
				RequireMFA: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strict.RequireMFA {
				t.Fatal("require_mfa not stored")
			}
			r2 := &rp{f: s.f, clientID: strict.ID, secret: secret2, provider: s.r.provider,
				conf:     oauth2.Config{ClientID: strict.ID, ClientSecret: secret2, Endpoint: s.r.provider.Endpoint(), RedirectURL: rpRedirect, Scopes: []string{"openid", "email"}},
				verifier: s.r.provider.Verifier(&oidc.Config{ClientID: strict.ID})}
			b3 := newAgent(t, s.f.issuer)
			ar = r2.start()
			p = b3.get(ar.url)
			reg := b3.get(registerLink(t, p))
			p = b3.submit(reg, reg.formWith(t, "/register"), url.Values{"email": {"noah@example.com"}, "password": {"correct horse battery"},
				"confirm": {"correct horse battery"}, "name": {"Noah Factor"}}, "")
			if p.url.Path != "/login/mfa" || !strings.Contains(p.body, "Set up two-factor authentication") {
				t.Fatalf("strict app without a factor: %s (%d)\n%s", p.url, p.status, p.body)
			}
			m := totpSecretRE.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatal("no secret on the enrolment page")
			}
			p = b3.submit(p, p.formWith(t, "/login/mfa"), url.Values{"code": {totpCode(t, m[1], c.now())}}, "")
			if !strings.Contains(p.body, "Save your recovery codes") {
				t.Fatalf("enrolment: %d\n%s", p.status, p.body)
			}
			cont := continueRE.FindStringSubmatch(p.body)
			if cont == nil {
				t.Fatalf("no Continue on the recovery codes page:\n%s", p.body)
			}
			p = b3.get(stdhtml.UnescapeString(cont[1]))
			tok = exchange(t, r2, ar, approve(t, b3, p, ar, s.f.issuer))
			if got := idTokenAuth(t, r2, tok); got.ACR != "urn:facet:mfa" {
				t.Fatalf("strict app: acr %q amr %v", got.ACR, got.AMR)
			}

			// Discovery lists the classes.
			resp, err := s.f.client().Get(s.f.issuer + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			var disc struct {
				ACR []string `json:"acr_values_supported"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !slices.Equal(disc.ACR, []string{"urn:facet:pwd", "urn:facet:mfa"}) {
				t.Errorf("acr_values_supported %v", disc.ACR)
			}
		})
	}
}

// TestMFARequiredPolicy: mfa=required makes every app sign-in step up, as the per-client
// switch does, and the config key is validated.
func TestMFARequiredPolicy(t *testing.T) {
	be := sqltest.Backends(t)[0]
	c := newClock()
	f := startFacet(t, be.NewURL(t), c, func(cfg *config.Config) { cfg.MFA = "required" })
	r := newRP(t, f)
	b := newAgent(t, f.issuer)
	ar := r.start()
	p := b.get(ar.url)
	reg := b.get(registerLink(t, p))
	p = b.submit(reg, reg.formWith(t, "/register"), url.Values{"email": {"req@example.com"}, "password": {"correct horse battery"},
		"confirm": {"correct horse battery"}, "name": {"Rita Quired"}}, "")
	if p.url.Path != "/login/mfa" || !strings.Contains(p.body, "Set up two-factor authentication") {
		t.Fatalf("mfa=required: %s (%d)", p.url, p.status)
	}
}
