package main

// Conformance-style replay of the OpenID Foundation conformance suite's OP test plans
// (openid/conformance-suite): oidcc-config-certification-test-plan,
// oidcc-basic-certification-test-plan, oidcc-formpost-basic-certification-test-plan and
// oidcc-rp-initiated-logout-certification-test-plan, with the variants Facet can be
// certified under: server_metadata=discovery, client_registration=static_client,
// client_auth_type client_secret_basic (and client_secret_post for its module). One subtest
// per module, named after it; the checks are ours, written from each module's expectations,
// black-box through HTTP against the real router. The suite's client is registered as an
// operator would: confidential, `--pkce optional` (the suite sends no PKCE), the suite's
// redirect and post-logout URIs.
//
// Not applicable, on purpose: the dynamic-registration variants and plan (Facet has no
// dynamic client registration), and the https-only checks (the suite's TLS checks run
// against a deployment behind TLS, not this loopback listener).

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage/sqltest"
)

const (
	suiteEmail    = "suite@example.com"
	suitePassword = "correct horse battery"
	// suiteLogoutQuery is a registered post-logout URI with a query of its own.
	suiteLogoutQuery = rpPostLogout + "?from=suite"
)

// suiteOP is one Facet with the suite's clients and a browser signed in as the suite's user.
type suiteOP struct {
	f          *facet
	c          *clock
	b          *agent
	id, secret string // client_secret_basic, pkce optional
	postID     string // client_secret_post, pkce optional
	postSecret string
	mode       string // response_mode to send: "" (default) or "form_post"
	verifier   *oidc.IDTokenVerifier
}

func newSuiteOP(t *testing.T, be sqltest.Backend) *suiteOP {
	t.Helper()
	op := &suiteOP{c: newClock()}
	op.f = startFacet(t, be.NewURL(t), op.c)
	spec := registration.Spec{
		Name: "OpenID conformance suite", RedirectURIs: []string{rpRedirect},
		PostLogoutRedirectURIs: []string{rpPostLogout, suiteLogoutQuery},
		Scopes:                 []string{"openid", "profile", "email", "phone", "address", "offline_access"},
		PKCE:                   "optional",
	}
	c, secret, err := registration.Create(t.Context(), op.f.app.store, spec)
	if err != nil {
		t.Fatal(err)
	}
	op.id, op.secret = c.ID, secret
	spec.TokenEndpointAuthMethod = "client_secret_post"
	c, secret, err = registration.Create(t.Context(), op.f.app.store, spec)
	if err != nil {
		t.Fatal(err)
	}
	op.postID, op.postSecret = c.ID, secret
	provider, err := oidc.NewProvider(oidc.ClientContext(t.Context(), op.f.client()), op.f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	op.verifier = provider.Verifier(&oidc.Config{ClientID: op.id, Now: op.c.now})
	op.b = newAgent(t, op.f.issuer)
	q := op.query(url.Values{"scope": {"openid profile email phone address offline_access"}, "prompt": {"consent"}})
	signUp(t, op.b, &rp{f: op.f}, authRequest{url: op.f.issuer + oauth.PathAuth + "?" + q.Encode(), state: q.Get("state")},
		suiteEmail, suitePassword, "Suite User")
	return op
}

// query is an authorization request of the suite's client: response_type code, scope
// openid, a state and a nonce, the response mode of the plan; set overrides (an empty value
// removes the parameter).
func (op *suiteOP) query(set url.Values) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {op.id}, "redirect_uri": {rpRedirect},
		"scope": {"openid"}, "state": {rand.Text()}, "nonce": {rand.Text()}}
	if op.mode != "" {
		q.Set("response_mode", op.mode)
	}
	for k, v := range set {
		if len(v) == 0 || v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return q
}

// authorize sends the request in b, signs in when the login page appears, allows on the
// consent page, and returns the authorization response's parameters as the client receives
// them (query, or form_post body), after checking that iss and state are where the response is.
func (op *suiteOP) authorize(t *testing.T, b *agent, q url.Values) url.Values {
	t.Helper()
	return op.response(t, op.walk(t, b, b.get(op.f.issuer+oauth.PathAuth+"?"+q.Encode())), q)
}

// walk goes through the login, profile completion and consent pages from p.
func (op *suiteOP) walk(t *testing.T, b *agent, p page) page {
	t.Helper()
	if p.location == "" && strings.Contains(p.url.Path, "/login") {
		p = b.submit(p, p.formWith(t, "/login"), url.Values{"email": {suiteEmail}, "password": {suitePassword}}, "")
	}
	if p.location == "" && p.status == http.StatusOK && strings.Contains(p.body, `action="/oauth2/consent"`) {
		p = b.submit(p, p.formWith(t, "/oauth2/consent"), nil, "allow")
	}
	return p
}

func (op *suiteOP) response(t *testing.T, p page, q url.Values) url.Values {
	t.Helper()
	var got url.Values
	if op.mode == "form_post" {
		if p.status != http.StatusOK || p.location != "" {
			t.Fatalf("form_post: want the auto-submit page, got %d location %q:\n%s", p.status, p.location, p.body)
		}
		if cc := p.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("form_post page Cache-Control = %q, want no-store", cc)
		}
		if csp := p.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || csp == "" {
			t.Errorf("form_post page CSP = %q", csp)
		}
		if strings.Contains(p.body, "onload") || strings.Contains(p.body, "<script>") {
			t.Errorf("form_post page has inline script:\n%s", p.body)
		}
		f := p.formWith(t, rpRedirect)
		if f.action != rpRedirect || !strings.Contains(p.body, `type="submit"`) {
			t.Fatalf("form_post form: action %q, body:\n%s", f.action, p.body)
		}
		got = f.values
	} else {
		if !strings.HasPrefix(p.location, rpRedirect) {
			t.Fatalf("want a redirect to %s, got %d location %q at %s:\n%s", rpRedirect, p.status, p.location, p.url, p.body)
		}
		u, err := url.Parse(p.location)
		if err != nil || u.Fragment != "" {
			t.Fatalf("redirect %q: a query response, no fragment (%v)", p.location, err)
		}
		got = u.Query()
	}
	if got.Get("iss") != op.f.issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", got.Get("iss"), op.f.issuer)
	}
	if got.Get("state") != q.Get("state") {
		t.Errorf("state = %q, want %q", got.Get("state"), q.Get("state"))
	}
	return got
}

// code runs an authorization request that must succeed and returns its code.
func (op *suiteOP) code(t *testing.T, set url.Values) (string, url.Values) {
	t.Helper()
	q := op.query(set)
	got := op.authorize(t, op.b, q)
	if got.Get("error") != "" || got.Get("code") == "" {
		t.Fatalf("authorization: %v", got)
	}
	return got.Get("code"), q
}

// token posts form to the token endpoint as client id (Basic, or in the body with post).
func (op *suiteOP) token(t *testing.T, form url.Values, post bool) (map[string]any, *http.Response) {
	t.Helper()
	id, secret := op.id, op.secret
	if post {
		id, secret = op.postID, op.postSecret
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, op.f.issuer+oauth.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !post {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := op.f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out, resp
}

func (op *suiteOP) exchange(t *testing.T, code string, extra url.Values) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}
	for k, v := range extra {
		form[k] = v
	}
	out, resp := op.token(t, form, false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, out)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token response Cache-Control = %q", cc)
	}
	if out["access_token"] == "" || !strings.EqualFold(str(out["token_type"]), "bearer") || out["id_token"] == nil {
		t.Fatalf("token response: %v", out)
	}
	return out
}

// idToken verifies the response's ID token (signature, iss, aud, exp) and its nonce.
func (op *suiteOP) idToken(t *testing.T, tok map[string]any, q url.Values) map[string]any {
	t.Helper()
	idt, err := op.verifier.Verify(t.Context(), str(tok["id_token"]))
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if n := q.Get("nonce"); claims["nonce"] != nil && str(claims["nonce"]) != n || n != "" && str(claims["nonce"]) != n {
		t.Errorf("nonce = %v, want %q", claims["nonce"], n)
	}
	if claims["iat"] == nil || claims["sub"] == "" || claims["auth_time"] == nil {
		t.Errorf("ID token claims: %v", claims)
	}
	return claims
}

// userinfo calls the UserInfo endpoint as how says: GET with the header, POST with the
// header, or POST with the token in the body.
func (op *suiteOP) userinfo(t *testing.T, access, how string) map[string]any {
	t.Helper()
	var req *http.Request
	switch how {
	case "get":
		req, _ = http.NewRequest(http.MethodGet, op.f.issuer+oauth.PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+access)
	case "post-header":
		req, _ = http.NewRequest(http.MethodPost, op.f.issuer+oauth.PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+access)
	case "post-body":
		req, _ = http.NewRequest(http.MethodPost, op.f.issuer+oauth.PathUserinfo, strings.NewReader(url.Values{"access_token": {access}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := op.f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out["sub"] == nil {
		t.Fatalf("userinfo %s: %d %v %v", how, resp.StatusCode, out, err)
	}
	return out
}

// flow is a whole code flow: authorization, token, ID token, userinfo's sub.
func (op *suiteOP) flow(t *testing.T, set url.Values) (map[string]any, map[string]any) {
	t.Helper()
	code, q := op.code(t, set)
	tok := op.exchange(t, code, nil)
	claims := op.idToken(t, tok, q)
	if ui := op.userinfo(t, str(tok["access_token"]), "get"); ui["sub"] != claims["sub"] {
		t.Errorf("userinfo sub %v != ID token sub %v", ui["sub"], claims["sub"])
	}
	return tok, claims
}

func (op *suiteOP) wantError(t *testing.T, got url.Values, codes ...string) {
	t.Helper()
	for _, c := range codes {
		if got.Get("error") == c {
			return
		}
	}
	t.Fatalf("error = %q (%v), want one of %v", got.Get("error"), got, codes)
}

func str(v any) string { s, _ := v.(string); return s }

// unsignedRequestObject is an alg=none request object (OIDC Core §6.1) with claims.
func unsignedRequestObject(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestConformance(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			op := newSuiteOP(t, be)
			t.Run("oidcc-config-certification-test-plan", func(t *testing.T) { configPlan(t, op) })
			t.Run("oidcc-basic-certification-test-plan", func(t *testing.T) { op.mode = ""; basicPlan(t, op) })
			t.Run("oidcc-formpost-basic-certification-test-plan", func(t *testing.T) {
				op.mode = "form_post"
				defer func() { op.mode = "" }()
				basicPlan(t, op)
			})
			t.Run("oidcc-rp-initiated-logout-certification-test-plan", func(t *testing.T) { op.mode = ""; logoutPlan(t, op) })
		})
	}
}

func getJSON(t *testing.T, op *suiteOP, path string) (map[string]any, []byte) {
	t.Helper()
	resp, err := op.f.client().Get(op.f.issuer + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return out, raw
}

func configPlan(t *testing.T, op *suiteOP) {
	t.Run("oidcc-discovery-endpoint-verification", func(t *testing.T) {
		doc, _ := getJSON(t, op, oauth.PathDiscovery)
		if doc["issuer"] != op.f.issuer {
			t.Errorf("issuer %v", doc["issuer"])
		}
		for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
			"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
			"scopes_supported", "claims_supported", "end_session_endpoint"} {
			if doc[k] == nil {
				t.Errorf("discovery lacks %s", k)
			}
		}
		has := func(k, v string) bool {
			l, _ := doc[k].([]any)
			for _, x := range l {
				if x == v {
					return true
				}
			}
			return false
		}
		for k, v := range map[string]string{"response_types_supported": "code", "id_token_signing_alg_values_supported": "RS256",
			"scopes_supported": "openid", "response_modes_supported": "form_post", "prompt_values_supported": "create",
			"code_challenge_methods_supported": "S256", "introspection_endpoint_auth_methods_supported": "client_secret_post"} {
			if !has(k, v) {
				t.Errorf("%s lacks %q: %v", k, v, doc[k])
			}
		}
		if doc["request_parameter_supported"] != false || doc["request_uri_parameter_supported"] != false {
			t.Errorf("request objects are not supported; discovery says %v / %v", doc["request_parameter_supported"], doc["request_uri_parameter_supported"])
		}
		// jwks_uri serves the RS256 key that signs ID tokens.
		resp, err := op.f.client().Get(str(doc["jwks_uri"]))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 || set.Keys[0].Algorithm != "RS256" {
			t.Errorf("jwks: %v %+v", err, set)
		}
	})
	t.Run("rfc8414-oauth-authorization-server-metadata", func(t *testing.T) {
		oidcDoc, _ := getJSON(t, op, oauth.PathDiscovery)
		as, _ := getJSON(t, op, oauth.PathAuthServerMetadata)
		if !reflect.DeepEqual(oidcDoc, as) {
			t.Errorf("RFC 8414 metadata differs from OIDC discovery:\n%v\n%v", as, oidcDoc)
		}
	})
}

func basicPlan(t *testing.T, op *suiteOP) {
	t.Run("oidcc-server", func(t *testing.T) { op.flow(t, nil) })
	t.Run("oidcc-response-type-missing", func(t *testing.T) {
		q := op.query(url.Values{"response_type": {""}})
		op.wantError(t, op.authorize(t, op.b, q), "invalid_request", "unsupported_response_type")
	})
	for _, how := range []string{"get", "post-header", "post-body"} {
		t.Run("oidcc-userinfo-"+how, func(t *testing.T) {
			tok, _ := op.flow(t, nil)
			op.userinfo(t, str(tok["access_token"]), how)
		})
	}
	t.Run("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", func(t *testing.T) {
		_, claims := op.flow(t, url.Values{"nonce": {""}})
		if claims["nonce"] != nil {
			t.Errorf("nonce %v without one requested", claims["nonce"])
		}
	})
	for _, sc := range []struct{ module, scope, claim string }{
		{"oidcc-scope-profile", "openid profile", "name"},
		{"oidcc-scope-email", "openid email", "email"},
		{"oidcc-scope-address", "openid address", ""}, // the user has no address: sub only (the suite warns)
		{"oidcc-scope-phone", "openid phone", ""},     // no phone number either
		{"oidcc-scope-all", "openid profile email address phone", "email"},
		{"oidcc-ensure-other-scope-order-succeeds", "email openid", "email"},
	} {
		t.Run(sc.module, func(t *testing.T) {
			tok, _ := op.flow(t, url.Values{"scope": {sc.scope}})
			ui := op.userinfo(t, str(tok["access_token"]), "get")
			if sc.claim != "" && ui[sc.claim] == nil {
				t.Errorf("userinfo for %q lacks %s: %v", sc.scope, sc.claim, ui)
			}
		})
	}
	t.Run("oidcc-display-page", func(t *testing.T) { op.flow(t, url.Values{"display": {"page"}}) })
	t.Run("oidcc-display-popup", func(t *testing.T) { op.flow(t, url.Values{"display": {"popup"}}) })
	t.Run("oidcc-prompt-login", func(t *testing.T) {
		_, first := op.flow(t, nil)
		time.Sleep(1100 * time.Millisecond) // auth_time has whole seconds
		q := op.query(url.Values{"prompt": {"login"}})
		p := op.b.get(op.f.issuer + oauth.PathAuth + "?" + q.Encode())
		if !strings.Contains(p.url.Path, "/login") {
			t.Fatalf("prompt=login did not ask to sign in again: %s", p.url)
		}
		got := op.response(t, op.walk(t, op.b, p), q)
		claims := op.idToken(t, op.exchange(t, got.Get("code"), nil), q)
		if claims["auth_time"].(float64) <= first["auth_time"].(float64) {
			t.Errorf("auth_time %v not after the first %v", claims["auth_time"], first["auth_time"])
		}
	})
	t.Run("oidcc-prompt-none-not-logged-in", func(t *testing.T) {
		fresh := newAgent(t, op.f.issuer)
		op.wantError(t, op.authorize(t, fresh, op.query(url.Values{"prompt": {"none"}})), "login_required")
	})
	t.Run("oidcc-prompt-none-logged-in", func(t *testing.T) { op.flow(t, url.Values{"prompt": {"none"}}) })
	t.Run("oidcc-max-age-1", func(t *testing.T) {
		time.Sleep(2 * time.Second)
		q := op.query(url.Values{"max_age": {"1"}})
		p := op.b.get(op.f.issuer + oauth.PathAuth + "?" + q.Encode())
		if !strings.Contains(p.url.Path, "/login") {
			t.Fatalf("max_age=1 after 2 s did not ask to sign in again: %s", p.url)
		}
		got := op.response(t, op.walk(t, op.b, p), q)
		op.idToken(t, op.exchange(t, got.Get("code"), nil), q)
	})
	t.Run("oidcc-max-age-10000", func(t *testing.T) { op.flow(t, url.Values{"max_age": {"10000"}}) })
	t.Run("oidcc-ensure-request-with-unknown-parameter-succeeds", func(t *testing.T) {
		op.flow(t, url.Values{"extra_suite_param": {"x"}})
	})
	t.Run("oidcc-id-token-hint", func(t *testing.T) {
		tok, _ := op.flow(t, nil)
		op.flow(t, url.Values{"prompt": {"none"}, "id_token_hint": {str(tok["id_token"])}})
	})
	t.Run("oidcc-login-hint", func(t *testing.T) { op.flow(t, url.Values{"login_hint": {suiteEmail}}) })
	t.Run("oidcc-ui-locales", func(t *testing.T) { op.flow(t, url.Values{"ui_locales": {"se"}}) })
	t.Run("oidcc-claims-locales", func(t *testing.T) { op.flow(t, url.Values{"claims_locales": {"se"}}) })
	t.Run("oidcc-ensure-request-with-acr-values-succeeds", func(t *testing.T) {
		op.flow(t, url.Values{"acr_values": {"1 2"}})
	})
	for _, wait := range []time.Duration{0, 30 * time.Second} {
		name := "oidcc-codereuse"
		if wait > 0 {
			name += "-30seconds"
		}
		t.Run(name, func(t *testing.T) {
			code, _ := op.code(t, nil)
			op.exchange(t, code, nil)
			// The server's clock moves; logins stay on the wall clock fosite's request times use.
			op.c.advance(wait)
			defer op.c.advance(-wait)
			out, resp := op.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}, false)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("reused code: %d %v", resp.StatusCode, out)
			}
		})
	}
	t.Run("oidcc-ensure-registered-redirect-uri", func(t *testing.T) {
		q := op.query(url.Values{"redirect_uri": {"https://rp.example.com/unregistered"}})
		p := op.b.get(op.f.issuer + oauth.PathAuth + "?" + q.Encode())
		if p.location != "" || p.status != http.StatusBadRequest || strings.Contains(p.body, "rp.example.com/unregistered") {
			t.Fatalf("unregistered redirect_uri: %d location %q", p.status, p.location)
		}
	})
	t.Run("oidcc-ensure-post-request-succeeds", func(t *testing.T) {
		q := op.query(nil)
		got := op.response(t, op.walk(t, op.b, op.b.post(op.f.issuer+oauth.PathAuth, q)), q)
		op.idToken(t, op.exchange(t, got.Get("code"), nil), q)
	})
	t.Run("oidcc-server-client-secret-post", func(t *testing.T) {
		code, q := op.code(t, url.Values{"client_id": {op.postID}})
		out, resp := op.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}, true)
		if resp.StatusCode != http.StatusOK || out["id_token"] == nil {
			t.Fatalf("client_secret_post: %d %v", resp.StatusCode, out)
		}
		_ = q
	})
	t.Run("oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", func(t *testing.T) {
		q := op.query(nil)
		q.Set("request", unsignedRequestObject(map[string]any{"client_id": op.id, "response_type": "code",
			"scope": "openid", "state": q.Get("state"), "nonce": q.Get("nonce"), "redirect_uri": rpRedirect}))
		op.wantError(t, op.authorize(t, op.b, q), "request_not_supported")
	})
	t.Run("oidcc-claims-essential", func(t *testing.T) {
		tok, _ := op.flow(t, url.Values{"claims": {`{"userinfo":{"name":{"essential":true}}}`}})
		if ui := op.userinfo(t, str(tok["access_token"]), "get"); ui["name"] == nil {
			t.Errorf("essential name not in userinfo: %v", ui)
		}
	})
	t.Run("oidcc-ensure-request-object-with-redirect-uri", func(t *testing.T) {
		// Request objects are not supported: refused at the registered redirect URI.
		q := op.query(nil)
		q.Set("request", unsignedRequestObject(map[string]any{"redirect_uri": rpRedirect, "client_id": op.id}))
		op.wantError(t, op.authorize(t, op.b, q), "request_not_supported")
		q = op.query(url.Values{"request_uri": {"https://rp.example.com/request.jwt"}})
		op.wantError(t, op.authorize(t, op.b, q), "request_uri_not_supported")
	})
	t.Run("oidcc-refresh-token", func(t *testing.T) {
		tok, _ := op.flow(t, url.Values{"scope": {"openid offline_access"}, "prompt": {"consent"}})
		if tok["refresh_token"] == nil {
			t.Fatalf("no refresh token: %v", tok)
		}
		out, resp := op.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}}, false)
		if resp.StatusCode != http.StatusOK || out["access_token"] == nil {
			t.Fatalf("refresh: %d %v", resp.StatusCode, out)
		}
	})
	t.Run("oidcc-ensure-request-with-valid-pkce-succeeds", func(t *testing.T) {
		verifier := rand.Text() + rand.Text()
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		code, _ := op.code(t, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		op.exchange(t, code, url.Values{"code_verifier": {verifier}})
		// A challenge sent is a challenge enforced, even for a pkce-optional client.
		code, _ = op.code(t, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		if out, resp := op.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}, false); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("challenge without verifier: %d %v", resp.StatusCode, out)
		}
		op.wantError(t, op.authorize(t, op.b, op.query(url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}})), "invalid_request")
	})
}

func logoutPlan(t *testing.T, op *suiteOP) {
	// Each module signs in first (a logout ends the session), then calls end_session.
	endSession := func(t *testing.T, q url.Values) page {
		t.Helper()
		return op.b.get(op.f.issuer + oauth.PathEndSession + "?" + q.Encode())
	}
	signIn := func(t *testing.T) string {
		t.Helper()
		tok, _ := op.flow(t, nil)
		return str(tok["id_token"])
	}
	signedOut := func(t *testing.T) {
		t.Helper()
		op.wantError(t, op.authorize(t, op.b, op.query(url.Values{"prompt": {"none"}})), "login_required")
	}
	// confirm answers the confirmation page when end_session shows one (no id_token_hint).
	confirm := func(t *testing.T, p page) page {
		t.Helper()
		if p.location == "" && p.status == http.StatusOK && strings.Contains(p.body, oauth.PathLogoutConfirm) {
			p = op.b.submit(p, p.formWith(t, oauth.PathLogoutConfirm), nil, "yes")
		}
		return p
	}
	t.Run("oidcc-rp-initiated-logout", func(t *testing.T) {
		p := endSession(t, url.Values{"id_token_hint": {signIn(t)}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"s1"}})
		if p.location != rpPostLogout+"?state=s1" {
			t.Fatalf("location %q", p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-no-state", func(t *testing.T) {
		p := endSession(t, url.Values{"id_token_hint": {signIn(t)}, "post_logout_redirect_uri": {rpPostLogout}})
		if p.location != rpPostLogout {
			t.Fatalf("location %q", p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri", func(t *testing.T) {
		p := endSession(t, url.Values{"id_token_hint": {signIn(t)}, "post_logout_redirect_uri": {suiteLogoutQuery}, "state": {"s2"}})
		u, err := url.Parse(p.location)
		if err != nil || u.Query().Get("from") != "suite" || u.Query().Get("state") != "s2" {
			t.Fatalf("location %q", p.location)
		}
	})
	t.Run("oidcc-rp-initiated-logout-bad-post-logout-redirect-uri", func(t *testing.T) {
		p := endSession(t, url.Values{"id_token_hint": {signIn(t)}, "post_logout_redirect_uri": {"https://rp.example.com/not-registered"}})
		if p.location != "" || p.status >= 500 {
			t.Fatalf("unregistered post-logout URI: %d location %q", p.status, p.location)
		}
	})
	t.Run("oidcc-rp-initiated-logout-modified-id-token-hint", func(t *testing.T) {
		raw := signIn(t)
		parts := strings.Split(raw, ".")
		parts[2] = parts[2][:len(parts[2])-2] + flip(parts[2][len(parts[2])-2:])
		p := endSession(t, url.Values{"id_token_hint": {strings.Join(parts, ".")}, "post_logout_redirect_uri": {rpPostLogout}})
		if p.location != "" || p.status >= 500 {
			t.Fatalf("modified hint: %d location %q", p.status, p.location)
		}
	})
	t.Run("oidcc-rp-initiated-logout-no-id-token-hint", func(t *testing.T) {
		signIn(t)
		p := confirm(t, endSession(t, url.Values{"client_id": {op.id}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"s3"}}))
		if p.location != "" && p.location != rpPostLogout+"?state=s3" {
			t.Fatalf("location %q", p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-no-params", func(t *testing.T) {
		signIn(t)
		p := confirm(t, endSession(t, url.Values{}))
		if p.location != "" || p.status != http.StatusOK {
			t.Fatalf("no params: %d location %q", p.status, p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-no-post-logout-redirect-uri", func(t *testing.T) {
		p := endSession(t, url.Values{"id_token_hint": {signIn(t)}})
		p = confirm(t, p)
		if p.location != "" || p.status != http.StatusOK {
			t.Fatalf("%d location %q", p.status, p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-only-state", func(t *testing.T) {
		signIn(t)
		p := confirm(t, endSession(t, url.Values{"state": {"s4"}}))
		if p.location != "" || p.status != http.StatusOK {
			t.Fatalf("%d location %q", p.status, p.location)
		}
		signedOut(t)
	})
	t.Run("oidcc-rp-initiated-logout-bad-id-token-hint", func(t *testing.T) {
		signIn(t)
		p := endSession(t, url.Values{"id_token_hint": {"not-a-jwt"}, "post_logout_redirect_uri": {rpPostLogout}})
		if p.location != "" || p.status >= 500 {
			t.Fatalf("%d location %q", p.status, p.location)
		}
	})
	// oidcc-rp-initiated-logout-session-management and the front-channel modules: not
	// applicable (Facet implements neither Session Management nor Front-Channel Logout;
	// back-channel logout is covered by backchannel_e2e_test.go).
}
