package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage/sqltest"
)

// TestConsentPageSecurityHeaders: the consent page is rendered by the authorization endpoint,
// a protocol path without cross-origin protection; it still carries the browser headers, so
// no other site can frame it and clickjack Allow (CSP frame-ancestors, OWASP ASVS 5.0 V3.4). So do the HTML error pages
// of protocol endpoints; their JSON does not get the page CSP.
func TestConsentPageSecurityHeaders(t *testing.T) {
	f := startFacet(t, sqltest.Backends(t)[0].NewURL(t), nil)
	r := newRP(t, f)
	b := newAgent(t, f.issuer)
	ar := r.start()
	p := b.get(ar.url)
	reg := b.get(registerLink(t, p))
	p = b.submit(reg, reg.formWith(t, "/register"), url.Values{
		"email": {"frame@example.com"}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}, "name": {"Frame Less"},
	}, "")
	if p.status != http.StatusOK || p.url.Path != "/oauth2/auth" || !strings.Contains(p.body, `action="/oauth2/consent"`) {
		t.Fatalf("want the consent page at /oauth2/auth, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	browserHeaders(t, "consent page", p.header)

	// An HTML error page of the authorization endpoint (unknown client).
	p = b.get("/oauth2/auth?client_id=nobody&response_type=code")
	if p.status != http.StatusBadRequest {
		t.Fatalf("unknown client: %d", p.status)
	}
	browserHeaders(t, "authorize error page", p.header)

	// The logout confirmation page of end_session (cross-site by design, HTML all the same).
	p = b.get("/oauth2/sessions/logout")
	if p.status != http.StatusOK || !strings.Contains(p.body, `action="/oauth2/sessions/logout/confirm"`) {
		t.Fatalf("logout page: %d\n%s", p.status, p.body)
	}
	browserHeaders(t, "logout page", p.header)

	// JSON from the token endpoint keeps its own headers.
	res := postForm(t, f, "/oauth2/token", r, url.Values{"grant_type": {"client_credentials"}})
	if res.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", res.status, res.code)
	}
	req, _ := http.NewRequest(http.MethodPost, f.issuer+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "" {
		t.Errorf("token response carries the page CSP %q", csp)
	}
}

func browserHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q lacks frame-ancestors 'none'", what, csp)
	}
	if xfo := h.Get("X-Frame-Options"); xfo != "DENY" {
		t.Errorf("%s: X-Frame-Options %q, want DENY for browsers without CSP frame-ancestors", what, xfo)
	}
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: Referrer-Policy %q, X-Content-Type-Options %q", what, h.Get("Referrer-Policy"), h.Get("X-Content-Type-Options"))
	}
}

// crossSite sends req from the agent's browser (its cookies) as another site's page would.
func crossSite(b *agent, method, path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://rp.example.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

// TestEndSessionCrossSite: a relying party may POST to end_session from its own origin
// (RP-Initiated Logout 1.0 §2), while the user's confirmation goes to a same-origin form
// endpoint another site cannot submit.
func TestEndSessionCrossSite(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "bye@example.com", "Bye Bye")
			f, r, b, tok := s.f, s.r, s.b, s.tok
			idToken, _ := tok.Extra("id_token").(string)
			signedIn := func() bool {
				t.Helper()
				ar := r.start(oauth2.SetAuthURLParam("prompt", "none"))
				return callback(t, b.get(ar.url), ar, f.issuer).Get("error") == ""
			}

			// Without a hint, a cross-site POST only asks the user.
			p := crossSite(b, http.MethodPost, "/oauth2/sessions/logout", url.Values{"post_logout_redirect_uri": {rpPostLogout}, "state": {"s1"}})
			if p.status != http.StatusOK || p.location != "" || !strings.Contains(p.body, `action="/oauth2/sessions/logout/confirm"`) {
				t.Fatalf("cross-site POST without hint: %d %q\n%s", p.status, p.location, p.body)
			}
			// Another site submitting the confirmation is refused.
			if q := crossSite(b, http.MethodPost, "/oauth2/sessions/logout/confirm", url.Values{"facet_logout": {"yes"}}); q.status != http.StatusForbidden {
				t.Fatalf("cross-site confirmation: %d, want 403", q.status)
			}
			// A forged "confirmation" sent to end_session itself does not end the session.
			crossSite(b, http.MethodPost, "/oauth2/sessions/logout", url.Values{"facet_logout": {"yes"}})
			if !signedIn() {
				t.Fatal("a cross-site POST without a valid hint ended the session")
			}

			// With a valid hint and a registered URI, the RP's cross-site POST logs out and
			// redirects with state.
			p = crossSite(b, http.MethodPost, "/oauth2/sessions/logout", url.Values{
				"id_token_hint": {idToken}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"bye-1"},
			})
			if p.status != http.StatusSeeOther || p.location != rpPostLogout+"?state=bye-1" {
				t.Fatalf("cross-site POST with hint: %d %q\n%s", p.status, p.location, p.body)
			}
			if signedIn() {
				t.Fatal("still signed in after RP-initiated logout")
			}

			// The user's own confirmation (same origin) ends a session.
			ar := r.start()
			logIn(t, b, r, ar, "bye@example.com", "correct horse battery")
			p = b.get("/oauth2/sessions/logout?client_id=" + url.QueryEscape(r.clientID))
			p = b.submit(p, p.formWith(t, "/oauth2/sessions/logout/confirm"), nil, "yes")
			if p.status != http.StatusOK || !strings.Contains(p.body, "signed out") {
				t.Fatalf("confirmed logout: %d\n%s", p.status, p.body)
			}
			if signedIn() {
				t.Fatal("still signed in after confirming")
			}
		})
	}
}

// TestIDTokenNumericClaims: numbers in ID tokens are JSON integers, also after the session
// went through storage (code exchange). updated_at comes with released
// profile claims, so the user makes given_name public first.
func TestIDTokenNumericClaims(t *testing.T) {
	f := startFacet(t, sqltest.Backends(t)[0].NewURL(t), nil)
	r := newRP(t, f)
	b := newAgent(t, f.issuer)
	ar := r.start()
	signUp(t, b, r, ar, "num@example.com", "correct horse battery", "Num Bers")
	u, err := f.app.store.GetUserByEmail(t.Context(), "num@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.app.grants.SetLevel(t.Context(), u.ID, "given_name", consent.LevelPublic); err != nil || !ok {
		t.Fatalf("make given_name public: %v %v", ok, err)
	}
	// Profile claims go to userinfo unless the ID token asks for them (OIDC Core §5.4, §5.5).
	ar = r.start(oauth2.SetAuthURLParam("claims", `{"id_token":{"given_name":null,"updated_at":null}}`))
	code := approve(t, b, b.get(ar.url), ar, f.issuer)
	tok := exchange(t, r, ar, code)
	// A refresh returns no ID token unless id_token_on_refresh is set (OIDC Core §12.2);
	// oauth.TestRefreshIDToken checks the numbers of a refreshed ID token with it on.
	refreshed, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := refreshed.Extra("id_token").(string); raw != "" {
		t.Errorf("refresh returned an ID token with the default configuration")
	}
	exponent := regexp.MustCompile(`:-?[0-9.]+[eE][+-]?[0-9]+`)
	for name, tk := range map[string]*oauth2.Token{"code exchange": tok} {
		raw, _ := tk.Extra("id_token").(string)
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			t.Fatalf("%s: no ID token", name)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`"updated_at":[0-9]+[,}]`).Match(payload) {
			t.Errorf("%s: updated_at missing or not an integer: %s", name, payload)
		}
		if m := exponent.Find(payload); m != nil {
			t.Errorf("%s: number in exponent form %s in %s", name, m, payload)
		}
	}
}

// badResult is what a protocol endpoint answered to a bad request.
type badResult struct {
	status      int
	contentType string
	code        string // OAuth2 "error", when the body is JSON
	body        string
}

func rawRequest(t *testing.T, f *facet, method, path, contentType string, body io.Reader, header http.Header) badResult {
	t.Helper()
	req, err := http.NewRequest(method, f.issuer+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res := badResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
	var out struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &out) == nil {
		res.code = out.Error
	}
	return res
}

// TestProtocolBadInput: malformed, oversized, non-UTF-8 and
// mistyped requests to the protocol endpoints get the right OAuth2 error or a readable HTML
// page, never a 5xx, and store nothing.
func TestProtocolBadInput(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "bad@example.com", "Bad Input")
			f, r, ar, tok := s.f, s.r, s.ar, s.tok
			base := f.countTokens(t)

			form := "application/x-www-form-urlencoded"
			basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(r.clientID)+":"+url.QueryEscape(r.secret)))}}
			badBasic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("%FF%FE:secret"))}}
			unknown := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:secret"))}}
			bearer := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
			big := "grant_type=client_credentials&pad=" + strings.Repeat("x", 100<<10)
			huge := strings.Repeat("a", 3<<20)

			tests := []struct {
				name, method, path, ct, body string
				header                       http.Header
				status                       int
				code                         string // "" for HTML answers
			}{
				// token endpoint
				{"token malformed form", "POST", "/oauth2/token", form, "grant_type=%zz&x=%", basic, 400, "invalid_request"},
				{"token oversized", "POST", "/oauth2/token", form, big, basic, 400, "invalid_request"},
				{"token over the global limit", "POST", "/oauth2/token", form, huge, basic, 400, "invalid_request"},
				{"token invalid UTF-8 value", "POST", "/oauth2/token", form, "grant_type=client_credentials&scope=%FF", basic, 400, "invalid_request"},
				{"token invalid UTF-8 client_id", "POST", "/oauth2/token", form, "grant_type=client_credentials&client_id=%C3%28", nil, 400, "invalid_request"},
				{"token invalid UTF-8 Basic", "POST", "/oauth2/token", form, "grant_type=client_credentials", badBasic, 400, "invalid_request"},
				{"token unknown client", "POST", "/oauth2/token", form, "grant_type=client_credentials", unknown, 401, "invalid_client"},
				{"token JSON body", "POST", "/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`, basic, 400, "invalid_request"},
				{"token no content type", "POST", "/oauth2/token", "", "grant_type=client_credentials", basic, 400, "invalid_request"},
				// revocation
				{"revoke malformed form", "POST", "/oauth2/revoke", form, "token=%zz", basic, 400, "invalid_request"},
				{"revoke oversized", "POST", "/oauth2/revoke", form, "token=" + strings.Repeat("x", 100<<10), basic, 400, "invalid_request"},
				{"revoke invalid UTF-8", "POST", "/oauth2/revoke", form, "token=%FF", basic, 400, "invalid_request"},
				{"revoke unknown client", "POST", "/oauth2/revoke", form, "token=abc", unknown, 401, "invalid_client"},
				{"revoke JSON body", "POST", "/oauth2/revoke", "application/json", `{"token":"abc"}`, basic, 400, "invalid_request"},
				// introspection
				{"introspect malformed form", "POST", "/oauth2/introspect", form, "token=%zz", basic, 400, "invalid_request"},
				{"introspect oversized", "POST", "/oauth2/introspect", form, "token=" + strings.Repeat("x", 100<<10), basic, 400, "invalid_request"},
				{"introspect invalid UTF-8", "POST", "/oauth2/introspect", form, "token=%FF%FE", basic, 400, "invalid_request"},
				{"introspect invalid UTF-8 Basic", "POST", "/oauth2/introspect", form, "token=abc", badBasic, 400, "invalid_request"},
				{"introspect unknown client", "POST", "/oauth2/introspect", form, "token=" + url.QueryEscape(tok.AccessToken), unknown, 401, "invalid_client"},
				{"introspect JSON body", "POST", "/oauth2/introspect", "application/json", `{"token":"abc"}`, basic, 400, "invalid_request"},
				// userinfo
				{"userinfo malformed form", "POST", "/userinfo", form, "access_token=%zz", nil, 400, "invalid_request"},
				{"userinfo oversized", "POST", "/userinfo", form, "access_token=" + strings.Repeat("x", 100<<10), nil, 400, "invalid_request"},
				{"userinfo invalid UTF-8", "POST", "/userinfo", form, "access_token=%FF", nil, 400, "invalid_request"},
				{"userinfo invalid UTF-8 header", "GET", "/userinfo", "", "", http.Header{"Authorization": {"Bearer \xff\xfe"}}, 400, "invalid_request"},
				{"userinfo JSON body", "POST", "/userinfo", "application/json", `{"access_token":"` + tok.AccessToken + `"}`, nil, 401, ""},
				{"userinfo unknown token", "GET", "/userinfo", "", "", http.Header{"Authorization": {"Bearer nope.nope"}}, 401, "invalid_token"},
				{"userinfo with bad body but bearer", "POST", "/userinfo", "application/json", `{{{`, bearer, 200, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := rawRequest(t, f, tt.method, tt.path, tt.ct, strings.NewReader(tt.body), tt.header)
					if res.status >= 500 {
						t.Fatalf("status %d: %s", res.status, res.body)
					}
					if res.status != tt.status || res.code != tt.code {
						t.Fatalf("status %d error %q, want %d %q\n%s", res.status, res.code, tt.status, tt.code, res.body)
					}
					if res.status >= 400 && tt.code != "" && !strings.HasPrefix(res.contentType, "application/json") {
						t.Errorf("Content-Type %q, want JSON", res.contentType)
					}
				})
			}

			// Browser endpoints: a readable HTML page, never a redirect.
			page := []struct {
				name, method, path, ct, body string
				status                       int
			}{
				{"authorize invalid UTF-8", "GET", "/oauth2/auth?" + strings.Replace(strings.TrimPrefix(ar.url[strings.Index(ar.url, "?"):], "?"), "state=", "state=%FF", 1), "", "", 400},
				{"authorize invalid UTF-8 client", "GET", "/oauth2/auth?response_type=code&client_id=%C3%28&redirect_uri=" + url.QueryEscape(rpRedirect), "", "", 400},
				{"authorize malformed POST", "POST", "/oauth2/auth", form, "client_id=%zz", 400},
				{"authorize oversized POST", "POST", "/oauth2/auth", form, "client_id=" + strings.Repeat("x", 100<<10), 413},
				{"end_session invalid UTF-8", "GET", "/oauth2/sessions/logout?client_id=%FF&post_logout_redirect_uri=" + url.QueryEscape(rpPostLogout), "", "", 400},
			}
			for _, tt := range page {
				t.Run(tt.name, func(t *testing.T) {
					res := rawRequest(t, f, tt.method, tt.path, tt.ct, strings.NewReader(tt.body), http.Header{"Accept": {"text/html"}})
					if res.status != tt.status || !strings.HasPrefix(res.contentType, "text/html") {
						t.Fatalf("status %d (%s), want %d HTML:\n%s", res.status, res.contentType, tt.status, res.body)
					}
					if !strings.Contains(res.body, "<h1>") || strings.Contains(res.body, "UTF-8") && strings.Contains(res.body, "err") {
						t.Errorf("not a readable page:\n%s", res.body)
					}
				})
			}

			if got := f.countTokens(t); got != base {
				t.Fatalf("bad requests stored tokens: %d rows before, %d after", base, got)
			}
		})
	}
}
