package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

const testIssuer = "https://id.example"

// fakeSessions is the Sessions a test controls: signed in when sess is set.
type fakeSessions struct {
	sess     *storage.Session
	sessID   string // the id of the last session Current returned
	ended    int
	endedFor []string // the clientID of each End
}

func (f *fakeSessions) Current(*http.Request) (storage.Session, bool, error) {
	if f.sess == nil {
		return storage.Session{}, false, nil
	}
	f.sessID = f.sess.ID
	return *f.sess, true, nil
}

func (f *fakeSessions) End(_ http.ResponseWriter, _ *http.Request, clientID string) error {
	f.ended++
	f.endedFor = append(f.endedFor, clientID)
	f.sess = nil
	return nil
}

// FormLanguage keeps the request's language: these tests read English pages.
func (f *fakeSessions) FormLanguage(r *http.Request) *http.Request { return r }

type testServer struct {
	t        *testing.T
	db       storage.Storage
	p        *Endpoints
	h        http.Handler
	sessions *fakeSessions
	secret   string // of the confidential client "rs"
}

func newTestServer(t *testing.T, db storage.Storage, opts ...func(*Config)) *testServer {
	t.Helper()
	ctx := t.Context()
	secret := []byte(strings.Repeat("k", 32))
	if err := keys.Ensure(ctx, db, secret); err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSessions{}
	cfg := Config{Issuer: testIssuer, Secret: secret}
	for _, o := range opts {
		o(&cfg)
	}
	cs, err := consent.NewService(db, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	core, err := New(cfg, db, cs, tpl, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewEndpoints(core, fs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	p.Routes(r, r)
	if _, _, err := registration.Create(ctx, db, registration.Spec{ID: "app", Name: "Demo App", Public: true, Audience: []string{"rs"},
		RedirectURIs: []string{"http://127.0.0.1:5555/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:5555/bye"}}); err != nil {
		t.Fatal(err)
	}
	_, rsSecret, err := registration.Create(ctx, db, registration.Spec{ID: "rs", Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.CreateUser(ctx, storage.User{ID: "u1", Email: "alex@example.com", EmailVerified: true, Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, db: db, p: p, h: r, sessions: fs, secret: rsSecret}
}

func (s *testServer) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

func (s *testServer) postForm(path string, form url.Values, basic ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return s.do(req)
}

const verifier = "a-very-long-code-verifier-with-enough-entropy-0123456789"

func authorizeParams(extra ...string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {"app"},
		"redirect_uri":          {"http://127.0.0.1:5555/cb"},
		"scope":                 {"openid email offline_access"},
		"state":                 {"state-123456"},
		"nonce":                 {"nonce-123456"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func location(t *testing.T, rec *httptest.ResponseRecorder) *url.URL {
	t.Helper()
	if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound {
		t.Fatalf("status %d, want redirect; body: %s", rec.Code, rec.Body.String())
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAuthorizationCodeFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		s := newTestServer(t, db)

		// Not signed in: to the login page, which comes back here.
		rec := s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil))
		loc := location(t, rec)
		if loc.Path != "/login" || !strings.HasPrefix(loc.Query().Get("return_to"), PathAuth+"?") {
			t.Fatalf("login redirect: %s", loc)
		}

		// prompt=none without a session: login_required, with iss.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("prompt", "none").Encode(), nil))
		loc = location(t, rec)
		if loc.Query().Get("error") != "login_required" || loc.Query().Get("iss") != testIssuer || loc.Query().Get("state") != "state-123456" {
			t.Fatalf("prompt=none: %s", loc)
		}

		// A redirect URI that is not registered: an error page, never a redirect.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("redirect_uri", "https://evil.example/cb").Encode(), nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("bad redirect: %d %s", rec.Code, rec.Header())
		}

		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-10 * time.Minute), AMR: []string{"pwd"}}

		// prompt=login: to the login page with prompt=login; the return URL drops it.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("prompt", "login consent").Encode(), nil))
		loc = location(t, rec)
		ret, _ := url.Parse(loc.Query().Get("return_to"))
		if loc.Query().Get("prompt") != "login" || ret.Query().Get("prompt") != "consent" {
			t.Fatalf("prompt=login: %s", loc)
		}
		// max_age exceeded likewise.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("max_age", "60").Encode(), nil))
		if loc = location(t, rec); loc.Path != "/login" || loc.Query().Get("prompt") != "login" {
			t.Fatalf("max_age: %s", loc)
		}

		// Signed in, no consent yet: prompt=none says consent_required; otherwise the page.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("prompt", "none").Encode(), nil))
		if loc = location(t, rec); loc.Query().Get("error") != "consent_required" {
			t.Fatalf("consent_required: %s", loc)
		}
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Demo App") || !strings.Contains(rec.Body.String(), `name="code_challenge"`) {
			t.Fatalf("consent page: %d %s", rec.Code, rec.Body.String())
		}

		// Deny → access_denied with iss.
		deny := authorizeParams()
		deny.Set(consentField, "deny")
		loc = location(t, s.postForm(PathConsent, deny))
		if loc.Query().Get("error") != "access_denied" || loc.Query().Get("iss") != testIssuer {
			t.Fatalf("deny: %s", loc)
		}

		// Allow → code with state and iss.
		allow := authorizeParams()
		allow.Set(consentField, "allow")
		allow.Set(claimField, "email") // the page's pre-checked box
		loc = location(t, s.postForm(PathConsent, allow))
		code := loc.Query().Get("code")
		if code == "" || loc.Query().Get("iss") != testIssuer || loc.Query().Get("state") != "state-123456" || loc.Host != "127.0.0.1:5555" {
			t.Fatalf("allow: %s", loc)
		}

		// Consent remembered: the next request issues a code at once.
		loc = location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil)))
		if loc.Query().Get("code") == "" {
			t.Fatalf("remembered consent: %s", loc)
		}

		// Token exchange without the verifier fails (fosite then drops the PKCE data, so
		// that code is spent); with it the first code succeeds.
		noPKCE := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {"app"},
			"redirect_uri": {"http://127.0.0.1:5555/cb"}}
		if rec = s.postForm(PathToken, noPKCE); rec.Code != http.StatusBadRequest {
			t.Fatalf("no verifier: %d %s", rec.Code, rec.Body)
		}
		tokenForm := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"app"},
			"redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}}
		rec = s.postForm(PathToken, tokenForm)
		if rec.Code != http.StatusOK {
			t.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			IDToken      string `json:"id_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" {
			t.Fatalf("token response: %s", rec.Body)
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Error("token endpoint without CORS")
		}
		checkIDToken(t, s, tok.IDToken, tok.AccessToken, "nonce-123456")

		// Replaying the code fails and revokes what it issued.
		if rec = s.postForm(PathToken, tokenForm); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_grant") {
			t.Fatalf("code replay: %d %s", rec.Code, rec.Body)
		}
		req := httptest.NewRequest(http.MethodGet, PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if rec = s.do(req); rec.Code != http.StatusUnauthorized {
			t.Fatalf("userinfo after code replay: %d", rec.Code)
		}
	})
}

// checkIDToken verifies raw against the JWKS and checks its claims; nonce is the one expected
// (none on a refresh: OIDC Core §12.2).
func checkIDToken(t *testing.T, s *testServer, raw, accessToken, nonce string) {
	t.Helper()
	rec := s.do(httptest.NewRequest(http.MethodGet, PathJWKS, nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", tok.Headers[0].KeyID)
	}
	var std jwt.Claims
	var extra struct {
		Nonce    string   `json:"nonce"`
		AtHash   string   `json:"at_hash"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		Email    string   `json:"email"`
		SID      string   `json:"sid"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatal(err)
	}
	// sid names the browser session without revealing its id (Back-Channel Logout 1.0 §2.1).
	sids, err := backchannel.NewSIDs([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := sids.Of(s.sessions.sessID); extra.SID != want || len(extra.SID) < 22 || strings.Contains(extra.SID, s.sessions.sessID) {
		t.Errorf("sid = %q, want %q (the HMAC of session %q)", extra.SID, want, s.sessions.sessID)
	}
	if err := std.Validate(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{"app"}, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(accessToken))
	if std.Subject != "u1" || extra.Nonce != nonce || extra.AtHash != base64.RawURLEncoding.EncodeToString(sum[:16]) ||
		extra.AuthTime == 0 || extra.ACR != "urn:facet:pwd" || len(extra.AMR) != 1 ||
		extra.Email != "" { // scopes alone put email in userinfo, not in the ID token (OIDC Core §5.4)
		t.Fatalf("ID token claims: %+v %+v", std, extra)
	}
}

func TestRefreshUserinfoIntrospectRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		s := newTestServer(t, db)
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
		if err := s.p.consent.Grant(t.Context(), "u1", "app", []string{"openid", "email", "offline_access"}, []string{"email", "email_verified"}); err != nil {
			t.Fatal(err)
		}
		// The token names the resource server rs in its audience, so rs may introspect it.
		q := authorizeParams()
		q.Set("audience", "rs")
		loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+q.Encode(), nil)))
		rec := s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.RefreshToken == "" {
			t.Fatalf("token: %s", rec.Body)
		}
		// Another confidential client learns nothing of it (RFC 7662 §4: no cross-client
		// introspection), nor of its refresh token.
		_, otherSecret, err := registration.Create(t.Context(), db, registration.Spec{ID: "other", Name: "Other", GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
			if rec = s.postForm(PathIntrospect, url.Values{"token": {tk}}, "other", otherSecret); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"active":false}` {
				t.Fatalf("another client's introspection: %d %s", rec.Code, rec.Body)
			}
		}

		// Userinfo: header works, query string does not.
		req := httptest.NewRequest(http.MethodGet, PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec = s.do(req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"email":"alex@example.com"`) || !strings.Contains(rec.Body.String(), `"sub":"u1"`) {
			t.Fatalf("userinfo: %d %s", rec.Code, rec.Body)
		}
		if rec = s.do(httptest.NewRequest(http.MethodGet, PathUserinfo+"?access_token="+url.QueryEscape(tok.AccessToken), nil)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("userinfo query token: %d", rec.Code)
		}
		if rec = s.postForm(PathUserinfo, url.Values{"access_token": {tok.AccessToken}}); rec.Code != http.StatusOK {
			t.Fatalf("userinfo form token: %d", rec.Code)
		}

		// Introspection needs client authentication.
		form := url.Values{"token": {tok.AccessToken}}
		if rec = s.postForm(PathIntrospect, form); rec.Code != http.StatusUnauthorized {
			t.Fatalf("unauthenticated introspection: %d", rec.Code)
		}
		rec = s.postForm(PathIntrospect, form, "rs", s.secret)
		var intro map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &intro)
		if intro["active"] != true || intro["client_id"] != "app" || intro["sub"] != "u1" || intro["token_type"] != "Bearer" ||
			intro["exp"] == nil || intro["iat"] == nil || !strings.Contains(intro["scope"].(string), "email") ||
			intro["iss"] != testIssuer || fmt.Sprint(intro["aud"]) != "[rs]" {
			t.Fatalf("introspection: %s", rec.Body)
		}
		// A refresh token: no token_type (RFC 7662 §2.2 names access token types only).
		rec = s.postForm(PathIntrospect, url.Values{"token": {tok.RefreshToken}}, "rs", s.secret)
		intro = nil
		_ = json.Unmarshal(rec.Body.Bytes(), &intro)
		if _, has := intro["token_type"]; intro["active"] != true || has || intro["exp"] == nil {
			t.Fatalf("refresh token introspection: %s", rec.Body)
		}
		// Wrong credentials: invalid_client 401 with a Basic challenge; none: invalid_client.
		if rec = s.postForm(PathIntrospect, form, "rs", "wrong"); rec.Code != http.StatusUnauthorized ||
			!strings.Contains(rec.Body.String(), "invalid_client") || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("wrong secret: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		if rec = s.postForm(PathIntrospect, form); !strings.Contains(rec.Body.String(), "invalid_client") {
			t.Fatalf("no client authentication: %d %s", rec.Code, rec.Body)
		}

		// Refresh rotates; reusing the old refresh token revokes the family.
		rec = s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"app"}})
		var tok2 struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			IDToken      string `json:"id_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok2); err != nil || tok2.RefreshToken == "" || tok2.AccessToken == "" {
			t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
		}
		if tok2.IDToken != "" {
			t.Fatalf("refresh issued an ID token without IDTokenOnRefresh: %s", rec.Body)
		}
		rec = s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"app"}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_grant") {
			t.Fatalf("refresh reuse: %d %s", rec.Code, rec.Body)
		}
		rec = s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}, "client_id": {"app"}})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("family not revoked: %d %s", rec.Code, rec.Body)
		}
		rec = s.postForm(PathIntrospect, url.Values{"token": {tok2.AccessToken}}, "rs", s.secret)
		if !strings.Contains(rec.Body.String(), `"active":false`) {
			t.Fatalf("revoked family access token: %s", rec.Body)
		}

		// Client credentials + revocation.
		rec = s.postForm(PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, "rs", s.secret)
		var cc struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil || cc.AccessToken == "" {
			t.Fatalf("client credentials: %d %s", rec.Code, rec.Body)
		}
		if rec = s.postForm(PathRevoke, url.Values{"token": {cc.AccessToken}}, "rs", s.secret); rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		rec = s.postForm(PathIntrospect, url.Values{"token": {cc.AccessToken}}, "rs", s.secret)
		if !strings.Contains(rec.Body.String(), `"active":false`) {
			t.Fatalf("revoked token: %s", rec.Body)
		}
		if rec = s.postForm(PathToken, url.Values{"grant_type": {"client_credentials"}}, "rs", "wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", rec.Code)
		}
	})
}

// TestRefreshAbsoluteLifetime: fosite would give every rotated refresh token a fresh
// RefreshLifespan; Facet caps it at the original grant time + RefreshLifespan.
func TestRefreshAbsoluteLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		s := newTestServer(t, db)
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
		if err := s.p.consent.Grant(ctx, "u1", "app", []string{"openid", "email", "offline_access"}, []string{"email", "email_verified"}); err != nil {
			t.Fatal(err)
		}
		loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil)))
		rec := s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.RefreshToken == "" {
			t.Fatalf("token: %s", rec.Body)
		}

		// Pretend the user authorized this grant RefreshLifespan-5min ago.
		sig := refreshSignature(t, tok.RefreshToken)
		row, err := db.GetToken(ctx, storage.KindRefreshToken, sig)
		if err != nil {
			t.Fatal(err)
		}
		st := &store{db: db, clients: s.p.clients}
		req, err := st.decodeRequest(ctx, row.Data)
		if err != nil {
			t.Fatal(err)
		}
		granted := time.Now().UTC().Add(-s.p.cfg.RefreshLifespan + 5*time.Minute).Truncate(time.Second)
		req.Session.(*Session).GrantedAt = granted
		if row.Data, err = encodeRequest(req); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteToken(ctx, storage.KindRefreshToken, sig); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateToken(ctx, row); err != nil {
			t.Fatal(err)
		}

		rec = s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"app"}})
		var tok2 struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok2); err != nil || tok2.RefreshToken == "" {
			t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
		}
		next, err := db.GetToken(ctx, storage.KindRefreshToken, refreshSignature(t, tok2.RefreshToken))
		if err != nil {
			t.Fatal(err)
		}
		limit := granted.Add(s.p.cfg.RefreshLifespan)
		if next.ExpiresAt.After(limit) {
			t.Fatalf("rotated refresh token expires %v, after the absolute limit %v", next.ExpiresAt, limit)
		}
	})
}

// refreshSignature is the HMAC strategy's signature: the part after the dot.
func refreshSignature(t *testing.T, token string) string {
	t.Helper()
	_, sig, ok := strings.Cut(token, ".")
	if !ok {
		t.Fatalf("unexpected token format %q", token)
	}
	return sig
}

// TestRefreshIDToken: a refresh returns an ID token only with Config.IDTokenOnRefresh (OIDC
// Core §12.2 lets the response omit it); when on, the ID token is valid, carries current
// claims and writes numbers as integers.
func TestRefreshIDToken(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, db storage.Storage) {
				ctx := t.Context()
				s := newTestServer(t, db, func(c *Config) { c.IDTokenOnRefresh = on })
				s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
				if err := db.PutProfileFields(ctx, []storage.ProfileField{{UserID: "u1", Field: "given_name", Value: "Alex",
					Privacy: "public", UpdatedAt: time.Now()}}); err != nil {
					t.Fatal(err)
				}
				scopes := []string{"openid", "profile", "email", "offline_access"}
				if err := s.p.consent.Grant(ctx, "u1", "app", scopes, []string{"email", "email_verified"}); err != nil {
					t.Fatal(err)
				}
				params := authorizeParams("scope", strings.Join(scopes, " "),
					"claims", `{"id_token":{"given_name":null,"updated_at":null}}`)
				loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+params.Encode(), nil)))
				rec := s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
					"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
				var tok struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.RefreshToken == "" {
					t.Fatalf("token: %s", rec.Body)
				}
				rec = s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"app"}})
				var tok2 struct {
					AccessToken  string `json:"access_token"`
					RefreshToken string `json:"refresh_token"`
					IDToken      string `json:"id_token"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &tok2); err != nil || rec.Code != http.StatusOK || tok2.RefreshToken == "" {
					t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
				}
				if !on {
					if tok2.IDToken != "" {
						t.Fatalf("ID token on refresh while off: %s", rec.Body)
					}
					return
				}
				if tok2.IDToken == "" {
					t.Fatalf("no ID token on refresh while on: %s", rec.Body)
				}
				checkIDToken(t, s, tok2.IDToken, tok2.AccessToken, "")
				payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok2.IDToken, ".")[1])
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(payload), `"given_name":"Alex"`) ||
					!regexp.MustCompile(`"updated_at":[0-9]+[,}]`).Match(payload) {
					t.Fatalf("refreshed ID token claims: %s", payload)
				}
			})
		})
	}
}
