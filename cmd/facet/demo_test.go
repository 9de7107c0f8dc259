package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/facetid/facet/cmd/facet/demo"
	"github.com/facetid/facet/storage/sqltest"
)

// browser is a cookie-keeping HTTP client that follows redirects, like a person's browser
// without JavaScript.
type browser struct {
	t      *testing.T
	client *http.Client
	base   string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{Jar: jar}, base: base}
}

// page fetches rawURL (absolute or a path) and returns the final URL and body.
func (b *browser) page(method, rawURL string, form url.Values) (*url.URL, int, string) {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.base + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.Request.URL, resp.StatusCode, string(out)
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)">(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	buttonRE = regexp.MustCompile(`<button type="submit" name="([^"]*)" value="([^"]*)"`)
	// checkedRE finds pre-checked checkboxes (the consent page's on-request claims), which a
	// browser submits as they are.
	checkedRE = regexp.MustCompile(`<input type="checkbox" name="([^"]*)" value="([^"]*)" checked>`)
	codeRE    = regexp.MustCompile(`(?s)<pre><code>(.*?)</code></pre>`)
	hrefRE    = regexp.MustCompile(`<a href="([^"]*)" class="demo-button">Log out</a>`)
)

// submit posts the first form of body with its hidden fields, the extra values, and the
// submit button whose value is button (if any).
func (b *browser) submit(body string, extra url.Values, button string) (*url.URL, int, string) {
	b.t.Helper()
	// The page's own forms: the site header's account menu (Log out) is on every page.
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	m := formRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no form in page:\n%s", body)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	for _, c := range checkedRE.FindAllStringSubmatch(m[2], -1) {
		form.Add(html.UnescapeString(c[1]), html.UnescapeString(c[2]))
	}
	for _, btn := range buttonRE.FindAllStringSubmatch(m[2], -1) {
		if btn[2] == button {
			form.Set(btn[1], btn[2])
		}
	}
	for k, v := range extra {
		form[k] = v
	}
	return b.page(http.MethodPost, html.UnescapeString(m[1]), form)
}

// TestDemoSignInAndOut walks the demo relying party through the whole flow: sign in with
// Facet (registration, consent), back at /demo/callback with verified ID token claims and
// userinfo, then RP-initiated logout back to /demo.
func TestDemoSignInAndOut(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend.Name, func(t *testing.T) {
			s := newTestServer(t, backend, nil)
			b := newBrowser(t, s.URL)

			_, status, body := b.page(http.MethodGet, "/demo", nil)
			if status != http.StatusOK || !strings.Contains(body, "Sign in with Facet") {
				t.Fatalf("GET /demo: %d\n%s", status, body)
			}
			// Sign in: the authorization request sends us to Facet's login page.
			u, status, body := b.submit(body, nil, "")
			if status != http.StatusOK || u.Path != "/login" {
				t.Fatalf("after Sign in: %d at %s\n%s", status, u, body)
			}
			returnTo := u.Query().Get("return_to")
			if !strings.HasPrefix(returnTo, "/oauth2/auth?") || !strings.Contains(returnTo, "code_challenge_method=S256") {
				t.Fatalf("login return_to %q is not the PKCE authorization request", returnTo)
			}
			// Create an account on the way, keeping return_to.
			u, status, body = b.page(http.MethodGet, "/register?return_to="+url.QueryEscape(returnTo), nil)
			if status != http.StatusOK {
				t.Fatalf("GET /register: %d at %s", status, u)
			}
			u, status, body = b.submit(body, url.Values{
				"name": {"Ada Lovelace"}, "email": {"ada@example.com"},
				"password": {"analytical engine 1843"}, "confirm": {"analytical engine 1843"},
			}, "")
			if status != http.StatusOK || !strings.Contains(body, "Facet demo app") {
				t.Fatalf("after registration: %d at %s, want the consent page\n%s", status, u, body)
			}
			// Allow: back at the demo with the claims.
			u, status, body = b.submit(body, nil, "allow")
			if status != http.StatusOK || u.Path != "/demo/callback" {
				t.Fatalf("after Allow: %d at %s\n%s", status, u, body)
			}
			if u.Query().Get("iss") != s.URL {
				t.Errorf("authorization response iss = %q, want %q (RFC 9207)", u.Query().Get("iss"), s.URL)
			}
			if !strings.Contains(body, "Signed in") {
				t.Errorf("callback page does not say Signed in:\n%s", body)
			}
			blocks := codeRE.FindAllStringSubmatch(body, -1)
			if len(blocks) != 2 {
				t.Fatalf("callback page shows %d JSON blocks, want ID token claims and userinfo:\n%s", len(blocks), body)
			}
			var claims, userinfo map[string]any
			if err := json.Unmarshal([]byte(html.UnescapeString(blocks[0][1])), &claims); err != nil {
				t.Fatalf("ID token claims: %v", err)
			}
			if err := json.Unmarshal([]byte(html.UnescapeString(blocks[1][1])), &userinfo); err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if claims["iss"] != s.URL || fmt.Sprint(claims["aud"]) != "[facet-demo]" || claims["nonce"] == "" || claims["sub"] == "" {
				t.Errorf("ID token claims: %v", claims)
			}
			if userinfo["sub"] != claims["sub"] || userinfo["email"] != "ada@example.com" {
				t.Errorf("userinfo: %v (ID token sub %v)", userinfo, claims["sub"])
			}

			// Reloading the callback cannot redeem the code again.
			_, status, again := b.page(http.MethodGet, u.String(), nil)
			if status != http.StatusBadRequest || !strings.Contains(again, "expired or was already completed") {
				t.Errorf("reloaded callback: %d\n%s", status, again)
			}

			// Log out with id_token_hint: Facet ends the session and returns to /demo.
			m := hrefRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no Log out link:\n%s", body)
			}
			logout := html.UnescapeString(m[1])
			if !strings.HasPrefix(logout, s.URL+"/oauth2/sessions/logout?") || !strings.Contains(logout, "id_token_hint=") {
				t.Errorf("logout link %q", logout)
			}
			u, status, body = b.page(http.MethodGet, logout, nil)
			if status != http.StatusOK || u.Path != "/demo" || !strings.Contains(body, "You are signed out of Facet") {
				t.Fatalf("after Log out: %d at %s\n%s", status, u, body)
			}
			// Facet's session is gone: signing in again asks for the password.
			u, _, _ = b.submit(body, nil, "")
			if u.Path != "/login" {
				t.Errorf("signing in after logout went to %s, want the login page", u)
			}
		})
	}
}

// TestDemoOff: with demo off there is no /demo and no demo client.
func TestDemoOff(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], map[string]string{"FACET_DEMO": "false"})
	resp, _ := s.do(t, http.MethodGet, "/demo", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /demo with demo off: %d", resp.StatusCode)
	}
	if _, err := s.app.store.GetClient(t.Context(), demo.ClientID); err == nil {
		t.Error("the demo client was registered with demo off")
	}
}
