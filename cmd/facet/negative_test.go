package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/storage/sqltest"
)

// TestAuthorizeRejects covers bad authorization requests: each gets the right OAuth2 error
// (or an error page when the redirect URI cannot be trusted) and stores nothing.
func TestAuthorizeRejects(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f)
			b := newAgent(t, f.issuer)
			// A signed-in user with a grant, so only the request itself can fail.
			ar := r.start()
			signUp(t, b, r, ar, "neg@example.com", "correct horse battery", "")
			base := f.countTokens(t)

			errorPage := func(t *testing.T, u string) {
				t.Helper()
				p := b.get(u)
				if p.location != "" {
					t.Fatalf("redirected to %q; an untrusted redirect URI must get an error page", p.location)
				}
				if p.status != http.StatusBadRequest || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
					t.Fatalf("status %d (%s), want a 400 HTML error page", p.status, p.header.Get("Content-Type"))
				}
			}
			redirectError := func(t *testing.T, ar authRequest, want string) {
				t.Helper()
				p := b.get(ar.url)
				if got := callback(t, p, ar, f.issuer).Get("error"); got != want {
					t.Fatalf("error = %q, want %q", got, want)
				}
			}
			withParam := func(ar authRequest, k, v string) authRequest {
				u, _ := url.Parse(ar.url)
				q := u.Query()
				if v == "" {
					q.Del(k)
				} else {
					q.Set(k, v)
				}
				u.RawQuery = q.Encode()
				ar.url = u.String()
				return ar
			}

			t.Run("unregistered redirect_uri", func(t *testing.T) {
				errorPage(t, withParam(r.start(), "redirect_uri", "https://evil.example.com/cb").url)
			})
			t.Run("modified redirect_uri", func(t *testing.T) {
				errorPage(t, withParam(r.start(), "redirect_uri", rpRedirect+"/extra").url)
				errorPage(t, withParam(r.start(), "redirect_uri", rpRedirect+"?x=1").url)
			})
			t.Run("unknown client", func(t *testing.T) {
				errorPage(t, withParam(r.start(), "client_id", "nobody").url)
			})
			t.Run("missing PKCE", func(t *testing.T) {
				ar := withParam(withParam(r.start(), "code_challenge", ""), "code_challenge_method", "")
				redirectError(t, ar, "invalid_request")
			})
			t.Run("plain PKCE", func(t *testing.T) {
				ar := r.start()
				ar = withParam(withParam(ar, "code_challenge", ar.verifier), "code_challenge_method", "plain")
				redirectError(t, ar, "invalid_request")
			})
			// RFC 7636 §4.2: a challenge is 43–128 unreserved characters; anything else is
			// refused before the user is asked anything.
			t.Run("short code_challenge", func(t *testing.T) {
				redirectError(t, withParam(r.start(), "code_challenge", "abc"), "invalid_request")
			})
			t.Run("code_challenge too long", func(t *testing.T) {
				redirectError(t, withParam(r.start(), "code_challenge", strings.Repeat("a", 129)), "invalid_request")
			})
			t.Run("code_challenge outside the unreserved set", func(t *testing.T) {
				redirectError(t, withParam(r.start(), "code_challenge", strings.Repeat("a", 42)+"="), "invalid_request")
				redirectError(t, withParam(r.start(), "code_challenge", strings.Repeat("a", 42)+"+"), "invalid_request")
			})
			// RFC 6749 §3.1: parameters must not be included more than once.
			t.Run("repeated parameter", func(t *testing.T) {
				for _, extra := range []string{"scope=openid", "nonce=other", "code_challenge_method=S256", "response_type=code"} {
					ar := r.start()
					ar.url += "&" + extra
					redirectError(t, ar, "invalid_request")
				}
			})
			t.Run("repeated client_id or redirect_uri", func(t *testing.T) {
				for _, extra := range []string{"client_id=" + url.QueryEscape(r.clientID), "redirect_uri=" + url.QueryEscape(rpRedirect)} {
					errorPage(t, r.start().url+"&"+extra)
				}
			})
			t.Run("repeated parameter in a POST", func(t *testing.T) {
				ar := r.start()
				u, _ := url.Parse(ar.url)
				form := u.Query()
				form.Add("nonce", "other")
				if got := callback(t, b.post("/oauth2/auth", form), ar, f.issuer).Get("error"); got != "invalid_request" {
					t.Fatalf("error = %q, want invalid_request", got)
				}
				// The same parameter once in the query and once in the body.
				ar = r.start()
				u, _ = url.Parse(ar.url)
				form = u.Query()
				if got := callback(t, b.post("/oauth2/auth?nonce=other", form), ar, f.issuer).Get("error"); got != "invalid_request" {
					t.Fatalf("query and body: error = %q, want invalid_request", got)
				}
			})
			t.Run("unknown scope", func(t *testing.T) {
				redirectError(t, withParam(r.start(), "scope", "openid admin:everything"), "invalid_scope")
			})
			t.Run("implicit flow", func(t *testing.T) {
				redirectError(t, withParam(r.start(), "response_type", "token"), "unsupported_response_type")
			})
			if got := f.countTokens(t); got != base {
				t.Fatalf("rejected requests stored tokens: %d rows before, %d after", base, got)
			}
			t.Run("repeated unknown parameter is ignored", func(t *testing.T) {
				ar := r.start()
				ar.url += "&utm_source=a&utm_source=b"
				q := callback(t, b.get(ar.url), ar, f.issuer)
				if q.Get("error") != "" || q.Get("code") == "" {
					t.Fatalf("want a code, got error %q: %s", q.Get("error"), q.Get("error_description"))
				}
			})
		})
	}
}

// TestTokenRejects covers bad token requests.
func TestTokenRejects(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			clock := newClock()
			f := startFacet(t, be.NewURL(t), clock)
			r := newRP(t, f)
			other := newRP(t, f)
			b := newAgent(t, f.issuer)
			ar := r.start()
			signUp(t, b, r, ar, "tok@example.com", "correct horse battery", "")

			freshCode := func() (string, authRequest) {
				ar := r.start()
				return callback(t, b.get(ar.url), ar, f.issuer).Get("code"), ar
			}

			t.Run("wrong verifier", func(t *testing.T) {
				code, _ := freshCode()
				_, err := r.conf.Exchange(r.ctx(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				if got := oauthError(t, err); got != "invalid_grant" {
					t.Fatalf("error %q, want invalid_grant", got)
				}
			})
			t.Run("no verifier", func(t *testing.T) {
				code, _ := freshCode()
				_, err := r.conf.Exchange(r.ctx(), code)
				if got := oauthError(t, err); got != "invalid_grant" && got != "invalid_request" {
					t.Fatalf("error %q, want invalid_grant", got)
				}
			})
			t.Run("code reuse revokes", func(t *testing.T) {
				code, ar := freshCode()
				tok := exchange(t, r, ar, code)
				_, err := r.conf.Exchange(r.ctx(), code, oauth2.VerifierOption(ar.verifier))
				if got := oauthError(t, err); got != "invalid_grant" {
					t.Fatalf("second use: %q, want invalid_grant", got)
				}
				if active(t, r, tok.AccessToken) {
					t.Fatalf("access token from a replayed code still active")
				}
				if _, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
					t.Fatalf("refresh token from a replayed code still works")
				}
			})
			t.Run("code of another client", func(t *testing.T) {
				code, ar := freshCode()
				_, err := other.conf.Exchange(other.ctx(), code, oauth2.VerifierOption(ar.verifier))
				if got := oauthError(t, err); got != "invalid_grant" {
					t.Fatalf("error %q, want invalid_grant", got)
				}
			})
			t.Run("expired code", func(t *testing.T) {
				code, ar := freshCode()
				clock.advance(6 * time.Minute)
				defer clock.advance(-6 * time.Minute)
				_, err := r.conf.Exchange(r.ctx(), code, oauth2.VerifierOption(ar.verifier))
				if got := oauthError(t, err); got != "invalid_grant" {
					t.Fatalf("error %q, want invalid_grant", got)
				}
			})
			t.Run("wrong client secret", func(t *testing.T) {
				code, ar := freshCode()
				conf := r.conf
				conf.ClientSecret = "not-the-secret"
				_, err := conf.Exchange(r.ctx(), code, oauth2.VerifierOption(ar.verifier))
				if got := oauthError(t, err); got != "invalid_client" {
					t.Fatalf("error %q, want invalid_client", got)
				}
			})
			// RFC 6749 §3.2: parameters must not be included more than once.
			t.Run("repeated parameter", func(t *testing.T) {
				for _, form := range []url.Values{
					{"grant_type": {"client_credentials", "client_credentials"}},
					{"grant_type": {"client_credentials"}, "scope": {"openid", "profile"}},
				} {
					resp := postForm(t, f, "/oauth2/token", r, form)
					if resp.status != http.StatusBadRequest || resp.code != "invalid_request" {
						t.Fatalf("%v: %d %q, want 400 invalid_request", form, resp.status, resp.code)
					}
				}
				code, ar := freshCode()
				resp := postForm(t, f, "/oauth2/token", r, url.Values{
					"grant_type": {"authorization_code"}, "code": {code, code}, "redirect_uri": {rpRedirect}, "code_verifier": {ar.verifier},
				})
				if resp.status != http.StatusBadRequest || resp.code != "invalid_request" {
					t.Fatalf("repeated code: %d %q, want 400 invalid_request", resp.status, resp.code)
				}
				// The code was not spent by the refused request.
				exchange(t, r, ar, code)
			})
			t.Run("password grant", func(t *testing.T) {
				resp := postForm(t, f, "/oauth2/token", r, url.Values{"grant_type": {"password"}, "username": {"tok@example.com"}, "password": {"correct horse battery"}})
				if resp.code != "unsupported_grant_type" {
					t.Fatalf("error %q (status %d), want unsupported_grant_type", resp.code, resp.status)
				}
			})
			t.Run("userinfo token in query", func(t *testing.T) {
				code, ar := freshCode()
				tok := exchange(t, r, ar, code)
				resp, err := f.client().Get(f.issuer + "/userinfo?access_token=" + url.QueryEscape(tok.AccessToken))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", resp.StatusCode)
				}
			})
			t.Run("tampered id_token_hint", func(t *testing.T) {
				code, ar := freshCode()
				tok := exchange(t, r, ar, code)
				raw, _ := tok.Extra("id_token").(string)
				parts := strings.Split(raw, ".")
				parts[1] = parts[1][:len(parts[1])-2] + flip(parts[1][len(parts[1])-2:])
				q := url.Values{"id_token_hint": {strings.Join(parts, ".")}, "post_logout_redirect_uri": {rpPostLogout}}
				p := b.get("/oauth2/sessions/logout?" + q.Encode())
				if p.location != "" {
					t.Fatalf("tampered hint redirected to %q", p.location)
				}
				if p.status >= 500 {
					t.Fatalf("status %d", p.status)
				}
			})
			t.Run("prompt=none without session", func(t *testing.T) {
				fresh := newAgent(t, f.issuer)
				ar := r.start(oauth2.SetAuthURLParam("prompt", "none"))
				if got := callback(t, fresh.get(ar.url), ar, f.issuer).Get("error"); got != "login_required" {
					t.Fatalf("error %q, want login_required", got)
				}
			})
		})
	}
}

func flip(s string) string {
	if s == "AA" {
		return "AB"
	}
	return "AA"
}

type formResult struct {
	status int
	code   string
}

func postForm(t testing.TB, f *facet, path string, r *rp, form url.Values) formResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	_ = jsonDecode(resp, &out)
	return formResult{status: resp.StatusCode, code: out.Error}
}
