package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/passkeytest"
	"github.com/facetid/facet/storage/sqltest"
)

// postJSON sends body as JSON from the agent, with its origin as a browser's fetch would.
func (b *agent) postJSON(path string, body []byte) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

// passkeyRedirect is the redirect of a passkey sign-in's answer.
func passkeyRedirect(t testing.TB, p page) string {
	t.Helper()
	var a struct {
		Redirect string `json:"redirect"`
	}
	if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &a) != nil || a.Redirect == "" {
		t.Fatalf("passkey sign-in: %d %s", p.status, p.body)
	}
	return a.Redirect
}

// TestPasskeyIDToken: through the whole app, with the go-oidc relying party, a passkey added
// in the account signs in to an app on its own — the ID token says amr [hwk mfa] and acr
// urn:facet:mfa — and completes a password sign-in as the second factor — amr [pwd hwk mfa].
// The issuer is http://localhost:PORT, which can have passkeys (an IP address cannot), so the
// login page offers its passkey button. Cross-site POSTs to the ceremonies are refused.
func TestPasskeyIDToken(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			localhost := func(s string) string { return strings.Replace(s, "http://127.0.0.1:", "http://localhost:", 1) }
			f := startFacet(t, be.NewURL(t), newClock(), func(cfg *config.Config) { cfg.Issuer = localhost(cfg.Issuer) })
			f.issuer = localhost(f.issuer)
			r := newRP(t, f)
			b := newAgent(t, f.issuer)
			ar := r.start()
			exchange(t, r, ar, signUp(t, b, r, ar, "pia@example.com", "correct horse battery", "Pia Key"))

			k := passkeytest.New(t, f.issuer, "localhost")
			begin := b.postJSON("/api/account/mfa/passkeys/register/begin", []byte("{}"))
			if begin.status != http.StatusOK {
				t.Fatalf("register begin: %d %s", begin.status, begin.body)
			}
			if fin := b.postJSON("/api/account/mfa/passkeys/register/finish?name=Key", k.Create([]byte(begin.body))); fin.status != http.StatusCreated {
				t.Fatalf("register finish: %d %s", fin.status, fin.body)
			}

			// Another site's page cannot drive the ceremonies (cross-origin protection).
			for _, path := range []string{"/login/passkey/begin", "/login/passkey/finish", "/login/mfa/passkey/finish", "/api/account/mfa/passkeys/register/begin"} {
				req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", "https://evil.example")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				if p := b.do(req); p.status != http.StatusForbidden {
					t.Errorf("cross-site POST %s: %d, want 403", path, p.status)
				}
			}

			// Passwordless, from the login page an app sent the browser to.
			b2 := newAgent(t, f.issuer)
			ar = r.start()
			p := b2.get(ar.url)
			if p.url.Path != "/login" || !strings.Contains(p.body, "data-passkey-login") {
				t.Fatalf("login page without the passkey button: %s\n%s", p.url, p.body)
			}
			returnTo := p.url.Query().Get("return_to")
			lb := b2.postJSON("/login/passkey/begin", nil)
			k.Count++
			next := passkeyRedirect(t, b2.postJSON("/login/passkey/finish?return_to="+url.QueryEscape(returnTo), k.Get([]byte(lb.body))))
			tok := exchange(t, r, ar, approve(t, b2, b2.get(next), ar, f.issuer))
			if got := idTokenAuth(t, r, tok); got.ACR != "urn:facet:mfa" || !slices.Equal(got.AMR, []string{"hwk", "mfa"}) {
				t.Fatalf("passwordless: acr %q amr %v", got.ACR, got.AMR)
			}

			// The password, then the passkey as the second factor.
			b3 := newAgent(t, f.issuer)
			ar = r.start()
			p = b3.get(ar.url)
			p = b3.submit(p, p.formWith(t, "/login"), url.Values{"email": {"pia@example.com"}, "password": {"correct horse battery"}}, "")
			if p.url.Path != "/login/mfa" || !strings.Contains(p.body, `data-begin="/login/mfa/passkey/begin"`) {
				t.Fatalf("password of an account with a passkey: %s (%d)\n%s", p.url, p.status, p.body)
			}
			sb := b3.postJSON("/login/mfa/passkey/begin", nil)
			k.Count++
			next = passkeyRedirect(t, b3.postJSON("/login/mfa/passkey/finish", k.Get([]byte(sb.body))))
			tok = exchange(t, r, ar, approve(t, b3, b3.get(next), ar, f.issuer))
			if got := idTokenAuth(t, r, tok); got.ACR != "urn:facet:mfa" || !slices.Equal(got.AMR, []string{"pwd", "hwk", "mfa"}) {
				t.Fatalf("password and passkey: acr %q amr %v", got.ACR, got.AMR)
			}
		})
	}
}
