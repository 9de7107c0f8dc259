package oauth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
)

func TestRedirectURIAllowed(t *testing.T) {
	reg := []string{"https://app.example/cb", "http://127.0.0.1:8080/cb?x=1", "http://localhost:3000/cb"}
	for _, c := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://app.example/CB", false},
		{"https://app.example/cb?extra=1", false},
		{"http://127.0.0.1:8080/cb?x=1", true},
		{"http://127.0.0.1:9999/cb?x=1", true}, // loopback IP literal: any port
		{"http://127.0.0.1:9999/cb", false},    // but the same query
		{"http://127.0.0.1:9999/other?x=1", false},
		{"https://127.0.0.1:9999/cb?x=1", false}, // and the same scheme
		{"http://localhost:4000/cb", false},      // a host name is matched exactly
	} {
		if got := redirectURIAllowed(c.uri, reg); got != c.ok {
			t.Errorf("redirectURIAllowed(%q) = %v, want %v", c.uri, got, c.ok)
		}
	}
}

func TestSecretHasher(t *testing.T) {
	ctx := t.Context()
	secret := "a client secret"
	h, err := secretHasher{}.Hash(ctx, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if string(h) != string(registration.HashSecret(secret)) {
		t.Fatal("Hash and registration.HashSecret disagree")
	}
	if err := (secretHasher{}).Compare(ctx, h, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	if err := (secretHasher{}).Compare(ctx, h, []byte(secret+"x")); err == nil {
		t.Fatal("wrong secret accepted")
	}
	if err := (secretHasher{}).Compare(ctx, nil, []byte(secret)); err == nil {
		t.Fatal("empty hash accepted")
	}
}

func TestJWKSAndRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		s := newTestServer(t, db, func(c *Config) { c.Now = now })
		rec := s.do(httptest.NewRequest(http.MethodGet, PathJWKS, nil))
		etag := rec.Header().Get("ETag")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 || etag == "" {
			t.Fatalf("JWKS: %s etag %q", rec.Body, etag)
		}
		if set.Keys[0].Algorithm != "RS256" || !set.Keys[0].IsPublic() || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("JWKS key: %+v", set.Keys[0])
		}
		req := httptest.NewRequest(http.MethodGet, PathJWKS, nil)
		req.Header.Set("If-None-Match", etag)
		if rec = s.do(req); rec.Code != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", rec.Code)
		}

		old := set.Keys[0].KeyID
		kid, err := keys.Rotate(t.Context(), db, []byte(strings.Repeat("k", 32)), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// Another node's rotation shows up once the cache is stale.
		offset.Store(int64(keys.CacheTTL + time.Second))
		rec = s.do(httptest.NewRequest(http.MethodGet, PathJWKS, nil))
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 2 {
			t.Fatalf("after rotation: %s", rec.Body)
		}
		if len(set.Key(old)) != 1 || len(set.Key(kid)) != 1 || rec.Header().Get("ETag") == etag {
			t.Fatal("old and new key must both be published, with a new ETag")
		}
	})
}

func TestIDTokenHint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		s := newTestServer(t, db)
		signKID, signKey, err := s.p.keys.SigningKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.Claims{Issuer: testIssuer, Subject: "u1", Audience: jwt.Audience{"app"},
			Expiry: jwt.NewNumericDate(time.Now().Add(-time.Hour))} // expired hints are fine
		sign := func(alg jose.SignatureAlgorithm, key any, kid string) string {
			sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
				(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := jwt.Signed(sig).Claims(claims).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		good := sign(jose.RS256, signKey, signKID)
		if h, err := s.p.parseIDTokenHint(ctx, good); err != nil || h.Subject != "u1" {
			t.Fatalf("valid hint: %v", err)
		}

		// HS256 keyed with the public modulus (the classic confusion attack).
		hs := sign(jose.HS256, signKey.PublicKey.N.Bytes(), signKID)
		// alg none, built by hand.
		enc := base64.RawURLEncoding.EncodeToString
		body := strings.Split(good, ".")[1]
		none := enc([]byte(`{"alg":"none","kid":"`+signKID+`"}`)) + "." + body + "."
		// Tampered payload, original signature.
		parts := strings.Split(good, ".")
		tampered := parts[0] + "." + enc([]byte(`{"iss":"`+testIssuer+`","sub":"admin","aud":"app"}`)) + "." + parts[2]
		// Another issuer.
		claims.Issuer = "https://evil.example"
		evil := sign(jose.RS256, signKey, signKID)
		for name, raw := range map[string]string{"HS256": hs, "none": none, "tampered": tampered, "issuer": evil, "garbage": "a.b.c"} {
			if _, err := s.p.parseIDTokenHint(ctx, raw); err == nil {
				t.Errorf("%s hint accepted", name)
			}
		}
	})
}

func TestEndSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		s := newTestServer(t, db)
		signKID, signKey, _ := s.p.keys.SigningKey(ctx)
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: signKey}, (&jose.SignerOptions{}).WithHeader("kid", signKID))
		hint, _ := jwt.Signed(sig).Claims(jwt.Claims{Issuer: testIssuer, Subject: "u1", Audience: jwt.Audience{"app"}}).Serialize()

		// Valid hint + registered URI + the hint's user: end the session and redirect with state.
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now()}
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:5555/bye"}, "state": {"st-1"}}
		loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathEndSession+"?"+q.Encode(), nil)))
		if loc.String() != "http://127.0.0.1:5555/bye?state=st-1" || s.sessions.ended != 1 {
			t.Fatalf("logout redirect %s ended %d", loc, s.sessions.ended)
		}

		// An unregistered URI: ask the user, never redirect there.
		s.sessions.sess = &storage.Session{ID: "s2", UserID: "u1", AuthTime: time.Now()}
		q.Set("post_logout_redirect_uri", "https://evil.example/")
		rec := s.do(httptest.NewRequest(http.MethodGet, PathEndSession+"?"+q.Encode(), nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="facet_logout"`) || s.sessions.ended != 1 {
			t.Fatalf("confirm page: %d %s", rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `action="`+PathLogoutConfirm+`"`) {
			t.Fatalf("the confirmation form does not post to %s: %s", PathLogoutConfirm, rec.Body)
		}
		// The end_session endpoint is cross-site by design, so a "confirmation" sent to it
		// (another site's auto-submitting form) only shows the question again.
		form := url.Values{"post_logout_redirect_uri": {"https://evil.example/"}, logoutField: {"yes"}}
		rec = s.postForm(PathEndSession, form)
		if rec.Code != http.StatusOK || s.sessions.ended != 1 || !strings.Contains(rec.Body.String(), `name="facet_logout"`) {
			t.Fatalf("confirmation posted to end_session: %d ended %d %s", rec.Code, s.sessions.ended, rec.Body)
		}
		// The confirm path without the button's value is a bad request.
		if rec = s.postForm(PathLogoutConfirm, url.Values{}); rec.Code != http.StatusBadRequest || s.sessions.ended != 1 {
			t.Fatalf("confirm without the button: %d ended %d", rec.Code, s.sessions.ended)
		}
		// Confirming ends the session and shows the result (still no redirect to evil).
		rec = s.postForm(PathLogoutConfirm, form)
		if rec.Code != http.StatusOK || s.sessions.ended != 2 || !strings.Contains(rec.Body.String(), "signed out") {
			t.Fatalf("confirmed logout: %d %s", rec.Code, rec.Body)
		}
		if rec.Header().Get("Location") != "" {
			t.Fatalf("confirmed logout redirected to %q", rec.Header().Get("Location"))
		}

		// Registered URI without a hint: ask.
		s.sessions.sess = &storage.Session{ID: "s3", UserID: "u1", AuthTime: time.Now()}
		rec = s.do(httptest.NewRequest(http.MethodGet, PathEndSession+"?post_logout_redirect_uri=http://127.0.0.1:5555/bye&client_id=app", nil))
		if rec.Code != http.StatusOK || s.sessions.ended != 2 {
			t.Fatalf("no hint: %d", rec.Code)
		}
		// Confirmed with the app named: End records the registered app, never an unknown one.
		for _, id := range []string{"app", "no-such-app"} {
			s.sessions.sess = &storage.Session{ID: "s4", UserID: "u1", AuthTime: time.Now()}
			if rec = s.postForm(PathLogoutConfirm, url.Values{"client_id": {id}, logoutField: {"yes"}}); rec.Code != http.StatusOK {
				t.Fatalf("confirm for %s: %d", id, rec.Code)
			}
		}
		if got, want := s.sessions.endedFor, []string{"app", "", "app", ""}; !slices.Equal(got, want) {
			t.Errorf("End was told the apps %q, want %q", got, want)
		}
	})
}

func TestDiscovery(t *testing.T) {
	b, err := discoveryDocument(testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"issuer": testIssuer, "jwks_uri": testIssuer + PathJWKS, "end_session_endpoint": testIssuer + PathEndSession,
	} {
		if d[k] != want {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	if d["authorization_response_iss_parameter_supported"] != true || d["request_parameter_supported"] != false ||
		d["request_uri_parameter_supported"] != false {
		t.Error("flags wrong")
	}
	if d["backchannel_logout_supported"] != true || d["backchannel_logout_session_supported"] != true {
		t.Errorf("back-channel logout flags: %v, %v", d["backchannel_logout_supported"], d["backchannel_logout_session_supported"])
	}
	if m, _ := json.Marshal(d["code_challenge_methods_supported"]); string(m) != `["S256"]` {
		t.Errorf("code_challenge_methods_supported %s", m)
	}
	if m, _ := json.Marshal(d["response_types_supported"]); string(m) != `["code"]` {
		t.Errorf("response_types_supported %s", m)
	}
}

func TestSanitizeDescription(t *testing.T) {
	got := sanitizeDescription("a \"quoted\" \\ back\nslash é ok")
	for _, c := range got {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			t.Fatalf("char %q left in %q", c, got)
		}
	}
	if len(sanitizeDescription(strings.Repeat("x", 1000))) > 300 {
		t.Fatal("not truncated")
	}
}

// TestValidCodeChallenge: RFC 7636 §4.2's form, 43–128 unreserved characters.
func TestValidCodeChallenge(t *testing.T) {
	s256 := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
	for s, want := range map[string]bool{
		s256: true, strings.Repeat("a", 43): true, strings.Repeat("~._-", 32): true,
		"": false, "abc": false, strings.Repeat("a", 42): false, strings.Repeat("a", 129): false,
		s256[:42] + "=": false, s256[:42] + "+": false, s256[:42] + "/": false, s256[:42] + " ": false,
		s256[:41] + "é": false,
	} {
		if got := validCodeChallenge(s); got != want {
			t.Errorf("validCodeChallenge(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRepeatedParameter: only recognised parameters count, and the check allocates nothing
// on the normal path (it runs on every authorization and token request).
func TestRepeatedParameter(t *testing.T) {
	form := url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}, "audience": {"a", "b"}, "resource": {"https://api.example/", "https://b.example/"},
		"utm_source": {"x", "y"},
	}
	if name, ok := repeatedParameter(form, authorizeParameter); ok {
		t.Fatalf("repeatedParameter found %q in a request without repeated known parameters", name)
	}
	if n := testing.AllocsPerRun(100, func() { repeatedParameter(form, authorizeParameter) }); n != 0 {
		t.Errorf("repeatedParameter allocates %v times per call", n)
	}
	form.Add("state", "t")
	if name, ok := repeatedParameter(form, authorizeParameter); !ok || name != "state" {
		t.Errorf("repeatedParameter = %q, %v; want state", name, ok)
	}
	token := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"a", "b"}}
	if name, ok := repeatedParameter(token, tokenParameter); !ok || name != "refresh_token" {
		t.Errorf("token: repeatedParameter = %q, %v; want refresh_token", name, ok)
	}
}
