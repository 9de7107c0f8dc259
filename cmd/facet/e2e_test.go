package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	stdhtml "html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

const rpRedirect = "https://rp.example.com/cb"
const rpPostLogout = "https://rp.example.com/bye"

// rp is a relying party built from golang.org/x/oauth2 and go-oidc, registered on f.
type rp struct {
	f        *facet
	clientID string
	secret   string
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t testing.TB, f *facet, scopes ...string) *rp {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	c, secret, err := registration.Create(t.Context(), f.app.store, registration.Spec{
		Name:                   "Relying Party",
		RedirectURIs:           []string{rpRedirect},
		PostLogoutRedirectURIs: []string{rpPostLogout},
		GrantTypes:             []string{"authorization_code", "refresh_token", "client_credentials"},
		Scopes:                 []string{"openid", "profile", "email", "phone", "address", "offline_access"},
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	ctx := oidc.ClientContext(context.Background(), f.client())
	provider, err := oidc.NewProvider(ctx, f.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		f: f, clientID: c.ID, secret: secret, provider: provider,
		conf: oauth2.Config{
			ClientID: c.ID, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: rpRedirect, Scopes: scopes,
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: c.ID}),
	}
}

func (r *rp) ctx() context.Context {
	return oidc.ClientContext(context.Background(), r.f.client())
}

// authRequest is one authorization request the RP starts.
type authRequest struct {
	url, state, nonce, verifier string
}

func (r *rp) start(extra ...oauth2.AuthCodeOption) authRequest {
	ar := authRequest{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(ar.nonce), oauth2.S256ChallengeOption(ar.verifier)}, extra...)
	ar.url = r.conf.AuthCodeURL(ar.state, opts...)
	return ar
}

// exchange redeems code for tokens with the request's PKCE verifier.
func exchange(t testing.TB, r *rp, ar authRequest, code string) *oauth2.Token {
	t.Helper()
	tok, err := r.conf.Exchange(r.ctx(), code, oauth2.VerifierOption(ar.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// signedUp is a server with a relying party, and a person who signed up through it in a
// browser: the authorization request and the tokens of that first code exchange.
type signedUp struct {
	f   *facet
	r   *rp
	b   *agent
	ar  authRequest
	tok *oauth2.Token
}

// signUpAndExchange starts a server on be, signs a new person up through a relying party
// and redeems the code.
func signUpAndExchange(t testing.TB, be sqltest.Backend, email, name string) signedUp {
	t.Helper()
	return signUpAndExchangeOn(t, be, nil, email, name)
}

// signUpAndExchangeOn is signUpAndExchange on a server with clock c (nil: the wall clock)
// and opts applied to its config.Config.
func signUpAndExchangeOn(t testing.TB, be sqltest.Backend, c *clock, email, name string, opts ...func(*config.Config)) signedUp {
	t.Helper()
	s := signedUp{f: startFacet(t, be.NewURL(t), c, opts...)}
	s.r = newRP(t, s.f)
	s.b = newAgent(t, s.f.issuer)
	s.ar = s.r.start()
	code := signUp(t, s.b, s.r, s.ar, email, "correct horse battery", name)
	s.tok = exchange(t, s.r, s.ar, code)
	return s
}

// callback checks a redirect to the RP and returns its query.
func callback(t testing.TB, p page, ar authRequest, issuer string) url.Values {
	t.Helper()
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("want a redirect to the RP, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.location, rpRedirect) {
		t.Fatalf("redirected to %q, want the RP", p.location)
	}
	q := u.Query()
	if q.Get("state") != ar.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), ar.state)
	}
	if q.Get("iss") != issuer {
		t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), issuer)
	}
	return q
}

// signUp walks register → consent (allow) from the login page the authorization request
// lands on and returns the authorization code.
func signUp(t testing.TB, b *agent, r *rp, ar authRequest, email, password, name string) string {
	t.Helper()
	p := b.get(ar.url)
	if !strings.Contains(p.url.Path, "/login") {
		t.Fatalf("authorize without a session should land on /login, got %s (%d)", p.url, p.status)
	}
	reg := b.get(registerLink(t, p))
	p = b.submit(reg, reg.formWith(t, "/register"), url.Values{
		"email": {email}, "password": {password}, "confirm": {password}, "name": {name},
	}, "")
	return approve(t, b, p, ar, r.f.issuer)
}

// logIn walks login → consent (when shown) and returns the code.
func logIn(t testing.TB, b *agent, r *rp, ar authRequest, email, password string) string {
	t.Helper()
	p := b.get(ar.url)
	if strings.Contains(p.url.Path, "/login") {
		p = b.submit(p, p.formWith(t, "/login"), url.Values{"email": {email}, "password": {password}}, "")
	}
	return approve(t, b, p, ar, r.f.issuer)
}

// approve completes the profile when p asks for it (a user registered without a name has
// no given and family name, which are mandatory), presses Allow on the consent page when p
// is one, and returns the code.
func approve(t testing.TB, b *agent, p page, ar authRequest, issuer string) string {
	t.Helper()
	if p.location == "" && p.status == http.StatusOK && p.url.Path == oauth.PathComplete {
		f := p.formWith(t, oauth.PathComplete)
		p = b.submit(p, f, url.Values{"given_name": {"Test"}, "family_name": {"User"}}, "")
	}
	if p.location == "" && p.status == http.StatusOK {
		f := p.formWith(t, "/oauth2/consent")
		p = b.submit(p, f, nil, "allow")
	}
	q := callback(t, p, ar, issuer)
	if q.Get("error") != "" {
		t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code")
}

func registerLink(t testing.TB, p page) string {
	t.Helper()
	i := strings.Index(p.body, `href="/register`)
	if i < 0 {
		t.Fatalf("login page has no link to /register:\n%s", p.body)
	}
	rest := p.body[i+len(`href="`):]
	link := rest[:strings.IndexByte(rest, '"')]
	return stdhtml.UnescapeString(link)
}

// oauthError returns the OAuth2 error code of a failed token request.
func oauthError(t testing.TB, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an OAuth2 error response, got %v", err)
	}
	if re.Response.StatusCode >= 500 {
		t.Fatalf("server error %d: %s", re.Response.StatusCode, re.Body)
	}
	return re.ErrorCode
}

func TestFullFlow(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "alex@example.com", "Alex Timofeeva")
			f, r, b, ar, tok := s.f, s.r, s.b, s.ar, s.tok
			raw, _ := tok.Extra("id_token").(string)
			idt, err := r.verifier.Verify(r.ctx(), raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if idt.Nonce != ar.nonce {
				t.Fatalf("nonce = %q, want %q", idt.Nonce, ar.nonce)
			}
			if idt.Issuer != f.issuer {
				t.Fatalf("iss = %q", idt.Issuer)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("at_hash: %v", err)
			}
			var idClaims map[string]any
			if err := idt.Claims(&idClaims); err != nil {
				t.Fatal(err)
			}
			if idClaims["auth_time"] == nil {
				t.Errorf("ID token lacks auth_time: %v", idClaims)
			}

			ui, err := r.provider.UserInfo(r.ctx(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != idt.Subject || ui.Email != "alex@example.com" {
				t.Fatalf("userinfo = %+v, want sub %q and the email", ui, idt.Subject)
			}
			var uiClaims map[string]any
			if err := ui.Claims(&uiClaims); err != nil {
				t.Fatal(err)
			}
			if uiClaims["given_name"] != "Alex" || uiClaims["family_name"] != "Timofeeva" {
				t.Errorf("userinfo names = %v", uiClaims)
			}

			// Refresh: rotation, then reuse of the old token revokes the family.
			refreshed, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh token not rotated")
			}
			_, err = r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if code := oauthError(t, err); code != "invalid_grant" {
				t.Fatalf("reused refresh token: error %q, want invalid_grant", code)
			}
			_, err = r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
			if code := oauthError(t, err); code != "invalid_grant" {
				t.Fatalf("refresh token of a replayed family: error %q, want invalid_grant", code)
			}
			if active(t, r, refreshed.AccessToken) {
				t.Fatalf("access token of a replayed family still active")
			}

			// A fresh grant (session is still there: consent is remembered, no page).
			ar2 := r.start()
			p := b.get(ar2.url)
			code2 := callback(t, p, ar2, f.issuer).Get("code")
			tok2, err := r.conf.Exchange(r.ctx(), code2, oauth2.VerifierOption(ar2.verifier))
			if err != nil {
				t.Fatalf("second exchange: %v", err)
			}
			if !active(t, r, tok2.AccessToken) {
				t.Fatalf("fresh access token inactive")
			}
			revoke(t, r, tok2.AccessToken)
			if active(t, r, tok2.AccessToken) {
				t.Fatalf("revoked access token still active")
			}
			if _, err := r.provider.UserInfo(r.ctx(), oauth2.StaticTokenSource(tok2)); err == nil {
				t.Fatalf("userinfo accepted a revoked token")
			}

			// RP-initiated logout with id_token_hint and a registered post-logout URI.
			raw2, _ := tok2.Extra("id_token").(string)
			q := url.Values{"id_token_hint": {raw2}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"bye-state"}}
			p = b.get("/oauth2/sessions/logout?" + q.Encode())
			if !strings.HasPrefix(p.location, rpPostLogout) || !strings.Contains(p.location, "state=bye-state") {
				t.Fatalf("end_session: status %d location %q", p.status, p.location)
			}
			// The browser session is gone: prompt=none now says login_required.
			ar3 := r.start(oauth2.SetAuthURLParam("prompt", "none"))
			p = b.get(ar3.url)
			if got := callback(t, p, ar3, f.issuer).Get("error"); got != "login_required" {
				t.Fatalf("prompt=none after logout: error %q, want login_required", got)
			}
		})
	}
}

func active(t testing.TB, r *rp, token string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.f.issuer+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := r.f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: status %d", resp.StatusCode)
	}
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Active
}

func revoke(t testing.TB, r *rp, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.f.issuer+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := r.f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: status %d", resp.StatusCode)
	}
}

var _ = storage.ErrNotFound
