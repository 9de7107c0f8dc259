package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/facetid/facet/oauth/federation"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// testProvider is a small upstream provider on net/http: authorize (the person is signed in
// there already and approves at once), token with PKCE S256 and client authentication, a
// GitHub-shaped userinfo, and — when oidc — discovery, JWKS and RS256 ID tokens. Its modes
// make it answer wrongly on purpose: deny, a nonce that is not the request's, an ID token
// signed with a key its JWKS does not publish.
type testProvider struct {
	t                testing.TB
	srv              *httptest.Server
	oidc             bool
	clientID, secret string
	key, rogue       *rsa.PrivateKey

	mu         sync.Mutex
	user       map[string]any
	deny       bool
	wrongNonce bool
	badSig     bool
	codes      map[string]providerCode
	tokens     map[string]map[string]any
}

type providerCode struct {
	challenge, nonce, redirect string
	user                       map[string]any
}

func newTestProvider(t testing.TB, oidc bool) *testProvider {
	t.Helper()
	p := &testProvider{t: t, oidc: oidc, clientID: "facet-down", secret: rand.Text(),
		codes: map[string]providerCode{}, tokens: map[string]map[string]any{}}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /user", p.userinfo)
	mux.HandleFunc("GET /avatar.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(noisePNG(t, 64))
	})
	mux.HandleFunc("GET /icon.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20"><circle cx="10" cy="10" r="9" fill="#246"/></svg>`))
	})
	if oidc {
		mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
				"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks", "userinfo_endpoint": p.srv.URL + "/user",
				"id_token_signing_alg_values_supported": []string{"RS256"}})
		})
		mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		})
	}
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) set(user map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = user
}

func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("client_id") != p.clientID || q.Get("code_challenge_method") != "S256" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := url.Values{"state": {q.Get("state")}}
	if p.deny {
		v.Set("error", "access_denied")
	} else {
		code := rand.Text()
		p.codes[code] = providerCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: back.String(), user: p.user}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, found := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case id != p.clientID || secret != p.secret:
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	case !found || c.redirect != r.PostFormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
		return
	}
	access := rand.Text()
	p.tokens[access] = c.user
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300}
	if p.oidc {
		claims := map[string]any{"iss": p.srv.URL, "aud": p.clientID, "sub": c.user["sub"], "nonce": c.nonce,
			"iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
		for k, v := range c.user {
			claims[k] = v
		}
		if p.wrongNonce {
			claims["nonce"] = "not-the-request-nonce"
		}
		key := p.key
		if p.badSig {
			key = p.rogue
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			p.t.Error(err)
			return
		}
		payload, _ := json.Marshal(claims)
		jws, err := signer.Sign(payload)
		if err != nil {
			p.t.Error(err)
			return
		}
		resp["id_token"], _ = jws.CompactSerialize()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (p *testProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	user, ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(user)
}

// followAll lets a test agent follow redirects to other hosts (the provider and back).
func followAll(b *agent) *agent {
	b.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return b
}

// registerWithPassword signs a new person up on the registration page of b's server.
func registerWithPassword(t testing.TB, b *agent, email, name string) {
	t.Helper()
	p := b.get("/register")
	b.submit(p, p.formWith(t, "/register"), url.Values{"email": {email}, "password": {"correct horse battery"},
		"confirm": {"correct horse battery"}, "name": {name}}, "")
}

func userByEmail(t testing.TB, f *facet, email string) storage.User {
	t.Helper()
	u, err := f.app.store.GetUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func identifiersOf(t testing.TB, f *facet, userID string) []storage.Identifier {
	t.Helper()
	ids, err := f.app.store.ListIdentifiers(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestFederationOAuth2 runs the GitHub-shaped OAuth 2.0 upstream: first login creates an
// account, the second signs in to it, an email of an existing account is never linked
// silently, linking from the profile, refusing an upstream account linked elsewhere, the
// picture offered and applied, unlinking, and the last way in kept.
func TestFederationOAuth2(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			up := newTestProvider(t, false)
			f := startFacet(t, be.NewURL(t), nil)
			m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "github", Name: "GitHub",
				AuthURL: up.srv.URL + "/authorize", TokenURL: up.srv.URL + "/token", UserinfoURL: up.srv.URL + "/user",
				ClaimMap: map[string]string{"email_verified": "verified"}, ClientID: up.clientID, Secret: up.secret,
				Public: true, LoginPage: true}, time.Now())
			if err != nil {
				t.Fatal(err)
			}

			// First login: a new account from the upstream claims, email verified as the
			// provider says, a session with amr fed.
			up.set(map[string]any{"id": 4001, "login": "octo", "name": "Octo Cat", "email": "Octo@Example.com", "verified": true,
				"avatar_url": up.srv.URL + "/avatar.png"})
			b := followAll(newAgent(t, f.issuer))
			p := b.get("/login")
			if !strings.Contains(p.body, "/login/methods/"+m.ID) || !strings.Contains(p.body, "Sign in with GitHub") {
				t.Fatalf("login page has no GitHub button:\n%s", p.body)
			}
			p = b.get("/login/methods/" + m.ID + "?return_to=%2Fprofile")
			if p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Fatalf("first login ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			octo := userByEmail(t, f, "octo@example.com")
			if !octo.EmailVerified || octo.PasswordHash != "" {
				t.Errorf("account from upstream = %+v, want the email verified and no password", octo)
			}
			sessions, err := f.app.store.ListUserSessions(t.Context(), octo.ID)
			if err != nil || len(sessions) != 1 || strings.Join(sessions[0].AMR, " ") != "fed" {
				t.Errorf("sessions after the upstream login = %+v, %v; want one with amr fed", sessions, err)
			}
			if !strings.Contains(p.body, `id="identifiers"`) || !strings.Contains(p.body, "Octo Cat") {
				t.Errorf("profile page has no Identifiers block naming the upstream account:\n%s", p.body)
			}

			// Second login in another browser: the same account.
			b2 := followAll(newAgent(t, f.issuer))
			p = b2.get("/login/methods/" + m.ID)
			if p.status != http.StatusOK {
				t.Fatalf("second login: %d at %s", p.status, p.url)
			}
			var users int
			if list, err := f.app.store.ListUsers(t.Context()); err == nil {
				users = len(list)
			}
			if users != 1 {
				t.Errorf("after two upstream logins there are %d accounts, want 1", users)
			}

			// The picture is offered on the photo page and applied.
			p = b.get("/profile/photo")
			if !strings.Contains(p.body, up.srv.URL+"/avatar.png") {
				t.Fatalf("photo page does not offer the upstream picture:\n%s", p.body)
			}
			p = b.post("/profile/photo/available", url.Values{"url": {up.srv.URL + "/avatar.png"}})
			if p.status != http.StatusOK {
				t.Fatalf("apply the upstream picture: %d\n%s", p.status, p.body)
			}
			fields, err := f.app.store.GetProfileFields(t.Context(), octo.ID)
			if err != nil {
				t.Fatal(err)
			}
			picture := ""
			for _, fl := range fields {
				if fl.Field == "picture" {
					picture = fl.Value
				}
			}
			if !strings.HasPrefix(picture, "/") {
				t.Errorf("picture after Available = %q, want a photo of ours", picture)
			}

			// The last way in cannot be removed: no password, one identifier.
			ids := identifiersOf(t, f, octo.ID)
			if len(ids) != 1 {
				t.Fatalf("identifiers = %+v", ids)
			}
			p = b.post("/profile/identifiers/"+ids[0].ID+"/delete", nil)
			if p.status != http.StatusConflict || !strings.Contains(p.body, "last way to sign in") {
				t.Errorf("deleting the last way in: %d\n%s", p.status, p.body)
			}
			req, _ := http.NewRequest(http.MethodDelete, f.issuer+"/api/account/identifiers/"+ids[0].ID, nil)
			req.Header.Set("Origin", f.issuer)
			p = b.do(req)
			if p.status != http.StatusConflict || !strings.Contains(p.body, "last_sign_in_method") {
				t.Errorf("API delete of the last way in: %d %s", p.status, p.body)
			}

			// "Set a password first": the account's first password needs no current one (its
			// login is recent); then the password signs in too.
			p = b.get("/profile/password")
			if strings.Contains(p.body, `name="current_password"`) {
				t.Errorf("the first password page asks for a current password")
			}
			p = b.submit(p, p.formWith(t, "/profile/password"), url.Values{"new_password": {"octo cat password"}, "confirm": {"octo cat password"}}, "")
			if p.url.Path != "/login" {
				t.Fatalf("setting the first password ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			p = b.submit(p, p.formWith(t, "/login"), url.Values{"email": {"octo@example.com"}, "password": {"octo cat password"}}, "")
			if p.url.Path != "/profile" {
				t.Errorf("password login after setting it ended at %s", p.url)
			}

			// Email collision: an existing password account holds the address; nothing is
			// linked until its owner signs in.
			alice := followAll(newAgent(t, f.issuer))
			registerWithPassword(t, alice, "alice@example.com", "Alice Liddell")
			aliceID := userByEmail(t, f, "alice@example.com").ID
			up.set(map[string]any{"id": 4002, "name": "Alice L", "email": "alice@example.com", "verified": true})
			stranger := followAll(newAgent(t, f.issuer))
			p = stranger.get("/login/methods/" + m.ID)
			if p.url.Path != "/login/methods/link" || !strings.Contains(p.body, "sign in to it first") {
				t.Fatalf("email collision ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			if n := len(identifiersOf(t, f, aliceID)); n != 0 {
				t.Fatalf("email collision linked %d identifiers silently", n)
			}
			p = stranger.get(linkTo(t, p, "/login?"))
			p = stranger.submit(p, p.formWith(t, "/login"), url.Values{"email": {"alice@example.com"}, "password": {"correct horse battery"}}, "")
			if p.url.Path != "/login/methods/link" {
				t.Fatalf("after signing in the link page is at %s:\n%s", p.url, p.body)
			}
			p = stranger.submit(p, p.formWith(t, "/login/methods/link"), nil, "")
			if got := identifiersOf(t, f, aliceID); len(got) != 1 || got[0].Subject != "4002" {
				t.Fatalf("after confirming, alice's identifiers = %+v", got)
			}

			// Linking from the profile; an upstream account linked elsewhere is refused and
			// nothing changes.
			up.set(map[string]any{"id": 4001, "name": "Octo Cat", "email": "octo@example.com"})
			p = alice.get("/profile/identifiers/add")
			if !strings.Contains(p.body, "/profile/identifiers/add?method="+m.ID) {
				t.Fatalf("add page lists no GitHub:\n%s", p.body)
			}
			p = alice.get("/profile/identifiers/add?method=" + m.ID)
			if p.status != http.StatusConflict || !strings.Contains(p.body, "already linked to another Facet profile") {
				t.Errorf("linking an upstream account linked elsewhere: %d\n%s", p.status, p.body)
			}
			if got := identifiersOf(t, f, octo.ID); len(got) != 1 {
				t.Errorf("octo's identifiers after the refused link = %+v", got)
			}
			if got := identifiersOf(t, f, aliceID); len(got) != 1 {
				t.Errorf("alice's identifiers after the refused link = %+v", got)
			}
			up.set(map[string]any{"id": 4003, "name": "Alice Work", "email": "alice@work.example"})
			p = alice.get("/profile/identifiers/add?method=" + m.ID)
			if p.url.Path != "/profile" || !strings.Contains(p.body, "The identifier was linked.") {
				t.Fatalf("link from the profile ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			var list struct {
				Identifiers []struct {
					ID, MethodName, Subject string
					Privacy                 string
				} `json:"identifiers"`
				Available []struct {
					MethodID string `json:"method_id"`
				} `json:"available"`
			}
			p = alice.get("/api/account/identifiers")
			if err := json.Unmarshal([]byte(p.body), &list); err != nil || len(list.Identifiers) != 2 || len(list.Available) != 1 {
				t.Fatalf("GET /api/account/identifiers = %d %s (%v)", p.status, p.body, err)
			}

			// Each identifier has its privacy level (identifier:{id}); another user's is 404.
			put := func(ag *agent, id, level string) int {
				req, _ := http.NewRequest(http.MethodPut, f.issuer+"/api/account/privacy/identifier:"+id, strings.NewReader(`{"level":"`+level+`"}`))
				req.Header.Set("Origin", f.issuer)
				req.Header.Set("Content-Type", "application/json")
				return ag.do(req).status
			}
			if st := put(alice, list.Identifiers[0].ID, "public"); st != http.StatusOK {
				t.Errorf("PUT the level of an own identifier: %d", st)
			}
			if st := put(alice, ids[0].ID, "public"); st != http.StatusNotFound {
				t.Errorf("PUT the level of another user's identifier: %d", st)
			}
			p = alice.get("/api/account/identifiers")
			if !strings.Contains(p.body, `"privacy":"public"`) || !strings.Contains(p.body, `"privacy":"private"`) {
				t.Errorf("identifier levels after PUT: %s", p.body)
			}

			// The Identifiers block has each row's level button, as the fields have: the level
			// applies now, the choices post to the privacy form, which changes it and comes back
			// to the row with a notice; another user's identifier is 404 there too.
			second := list.Identifiers[1].ID
			p = alice.get("/profile")
			row := p.body[strings.Index(p.body, `id="identifier-`+second+`"`):]
			row = row[:strings.Index(row, "</li>")]
			if !strings.Contains(row, `action="/profile/privacy/identifier:`+second+`"`) || !strings.Contains(row, `id="field-identifier:`+second+`"`) ||
				!strings.Contains(row, `value="private" class="current"`) {
				t.Fatalf("identifier row has no level button showing Only you:\n%s", row)
			}
			p = alice.submit(p, p.formWith(t, "/profile/privacy/identifier:"+second), url.Values{"level": {"on_request"}}, "")
			if p.url.Path != "/profile" || p.url.Fragment != "" && p.url.Fragment != "field-identifier:"+second ||
				!strings.Contains(p.body, "Saved. Who can see this identifier: On request.") {
				t.Errorf("level form ended at %s (%d), notice missing:\n%s", p.url, p.status, p.body)
			}
			levels := map[string]string{}
			p = alice.get("/api/account/identifiers")
			if err := json.Unmarshal([]byte(p.body), &list); err != nil {
				t.Fatal(err)
			}
			for _, i := range list.Identifiers {
				levels[i.ID] = i.Privacy
			}
			if levels[second] != "on_request" {
				t.Errorf("level after the form: %v", levels)
			}
			if p = alice.post("/profile/privacy/identifier:"+ids[0].ID, url.Values{"level": {"public"}}); p.status != http.StatusNotFound {
				t.Errorf("the level form for another user's identifier: %d", p.status)
			}

			// Unlink (alice has a password): at once; another user's id is 404.
			req, _ = http.NewRequest(http.MethodDelete, f.issuer+"/api/account/identifiers/"+ids[0].ID, nil)
			req.Header.Set("Origin", f.issuer)
			if p = alice.do(req); p.status != http.StatusNotFound {
				t.Errorf("deleting another user's identifier: %d", p.status)
			}
			req, _ = http.NewRequest(http.MethodDelete, f.issuer+"/api/account/identifiers/"+list.Identifiers[0].ID, nil)
			req.Header.Set("Origin", f.issuer)
			if p = alice.do(req); p.status != http.StatusNoContent {
				t.Errorf("unlink: %d %s", p.status, p.body)
			}
			p = alice.post("/profile/identifiers/"+list.Identifiers[1].ID+"/delete", nil)
			if p.url.Path != "/profile" || len(identifiersOf(t, f, aliceID)) != 0 {
				t.Errorf("unlink from the profile ended at %s, identifiers %+v", p.url, identifiersOf(t, f, aliceID))
			}

			// Upstream errors and a forged state end on readable pages.
			up.mu.Lock()
			up.deny = true
			up.mu.Unlock()
			p = followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Sign-in cancelled") {
				t.Errorf("upstream access_denied: %d\n%s", p.status, p.body)
			}
			p = followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID + "/callback?code=x&state=forged")
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "does not belong to a sign-in started in this browser") {
				t.Errorf("callback without the flow cookie: %d\n%s", p.status, p.body)
			}
		})
	}
}

// portJar keeps cookies per host and port: both test servers are on 127.0.0.1, and cookies
// (RFC 6265 §8.5) do not tell ports apart, so the two sites' session cookies would clash.
type portJar struct {
	mu   sync.Mutex
	jars map[string]http.CookieJar
}

func (j *portJar) jar(u *url.URL) http.CookieJar {
	j.mu.Lock()
	defer j.mu.Unlock()
	if jar, ok := j.jars[u.Host]; ok {
		return jar
	}
	jar, _ := cookiejar.New(nil)
	j.jars[u.Host] = jar
	return jar
}

func (j *portJar) SetCookies(u *url.URL, cookies []*http.Cookie) { j.jar(u).SetCookies(u, cookies) }
func (j *portJar) Cookies(u *url.URL) []*http.Cookie             { return j.jar(u).Cookies(u) }

// linkTo returns the first href on p that starts with prefix.
func linkTo(t testing.TB, p page, prefix string) string {
	t.Helper()
	i := strings.Index(p.body, `href="`+prefix)
	if i < 0 {
		t.Fatalf("no link to %s on %s:\n%s", prefix, p.url, p.body)
	}
	rest := p.body[i+len(`href="`):]
	return strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], "&amp;", "&")
}

// TestFederationOIDCChecks: an OIDC upstream's ID token is verified — a token signed with a
// key the JWKS does not publish, and one whose nonce is not the request's, each end on a
// readable page and sign nobody in; a state that is not the browser's too.
func TestFederationOIDCChecks(t *testing.T) {
	be := sqltest.Backends(t)[0]
	up := newTestProvider(t, true)
	f := startFacet(t, be.NewURL(t), nil)
	m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Name: "Acme", Type: storage.MethodOIDC,
		Issuer: up.srv.URL, ClientID: up.clientID, Secret: up.secret, LoginPage: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	up.set(map[string]any{"sub": "acme-1", "email": "wile@acme.example", "email_verified": false, "name": "Wile Coyote"})
	for _, c := range []struct {
		name             string
		badSig, badNonce bool
	}{{"bad signature", true, false}, {"nonce mismatch", false, true}} {
		up.mu.Lock()
		up.badSig, up.wrongNonce = c.badSig, c.badNonce
		up.mu.Unlock()
		p := followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
		if p.status != http.StatusBadGateway || !strings.Contains(p.body, "did not pass Facet") {
			t.Errorf("%s: %d\n%s", c.name, p.status, p.body)
		}
	}
	if users, _ := f.app.store.ListUsers(t.Context()); len(users) != 0 {
		t.Errorf("a failed check signed someone up: %+v", users)
	}
	// A state that is not the one the flow cookie holds.
	up.mu.Lock()
	up.badSig, up.wrongNonce = false, false
	up.mu.Unlock()
	b := newAgent(t, f.issuer) // stops at the provider
	p := b.get("/login/methods/" + m.ID)
	if p.location == "" {
		t.Fatalf("no redirect to the provider: %d", p.status)
	}
	p = b.get("/login/methods/" + m.ID + "/callback?code=x&state=other")
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "does not belong to a sign-in started in this browser") {
		t.Errorf("state mismatch: %d\n%s", p.status, p.body)
	}
	// And the good path: unverified upstream email stays unverified.
	p = followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
	if p.status != http.StatusOK {
		t.Fatalf("OIDC login: %d at %s\n%s", p.status, p.url, p.body)
	}
	if u := userByEmail(t, f, "wile@acme.example"); u.EmailVerified {
		t.Errorf("upstream email_verified false, account email verified")
	}
}

// TestFederationFacetUpstream: a second Facet, with its own database, is the OIDC upstream.
// A person registered there signs in here: the first login creates the account (through the
// completion form when mandatory fields are missing), the second signs in to it.
func TestFederationFacetUpstream(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			up := startFacet(t, be.NewURL(t), nil)
			down := startFacet(t, be.NewURL(t), nil)
			m, err := federation.Create(t.Context(), down.app.store, testSecret, federation.Spec{Name: "Upstream Facet",
				Type: storage.MethodOIDC, Issuer: up.issuer, ClientID: "pending", Secret: "pending", LoginPage: true}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			cl, secret, err := registration.Create(t.Context(), up.app.store, registration.Spec{Name: "Downstream Facet",
				RedirectURIs: []string{federation.CallbackURL(down.issuer, m.ID)},
				GrantTypes:   []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email"}})
			if err != nil {
				t.Fatal(err)
			}
			spec := federation.SpecOf(m)
			spec.ClientID, spec.Secret = cl.ID, secret
			if _, err := federation.Update(t.Context(), down.app.store, testSecret, m.ID, spec, time.Now()); err != nil {
				t.Fatal(err)
			}
			// A person with an account upstream.
			upAgent := followAll(newAgent(t, up.issuer))
			upAgent.client.Jar = &portJar{jars: map[string]http.CookieJar{}}
			registerWithPassword(t, upAgent, "uma@example.com", "Uma Upstream")

			login := func() page {
				t.Helper()
				downAgent := followAll(newAgent(t, down.issuer))
				downAgent.client.Jar = upAgent.client.Jar // one browser, two sites (the jar tells ports apart)
				p := downAgent.get("/login/methods/" + m.ID + "?return_to=%2Fprofile")
				if p.url.Host == strings.TrimPrefix(up.issuer, "http://") && strings.Contains(p.url.Path, "/oauth2/consent") || p.status == http.StatusOK && strings.Contains(p.body, `action="/oauth2/consent`) {
					p = upAgent.submit(p, p.formWith(t, "/oauth2/consent"), nil, "allow")
				}
				if p.url.Path == "/profile/complete" {
					p = downAgent.submit(p, p.formWith(t, "/profile/complete"), url.Values{"given_name": {"Uma"}, "family_name": {"Upstream"}}, "")
				}
				return p
			}
			p := login()
			if p.status != http.StatusOK || p.url.Path != "/profile" || !strings.HasPrefix(p.url.String(), down.issuer) {
				t.Fatalf("first login through the upstream Facet ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			users, err := down.app.store.ListUsers(t.Context())
			if err != nil || len(users) != 1 {
				t.Fatalf("downstream accounts = %+v, %v; want 1", users, err)
			}
			ids := identifiersOf(t, down, users[0].ID)
			if len(ids) != 1 || ids[0].MethodID != m.ID {
				t.Fatalf("downstream identifiers = %+v", ids)
			}
			upUser := userByEmail(t, up, "uma@example.com")
			if ids[0].Subject != upUser.ID {
				t.Errorf("identifier subject %q, want the upstream sub %q", ids[0].Subject, upUser.ID)
			}
			if p = login(); p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Fatalf("second login ended at %s (%d)", p.url, p.status)
			}
			if users, _ = down.app.store.ListUsers(t.Context()); len(users) != 1 {
				t.Errorf("after the second login there are %d accounts, want 1", len(users))
			}
		})
	}
}

// TestFederationSignupThrottle: accounts made from upstream sign-ins count toward the
// registration limit per IP: the eleventh from one address within the window is a readable
// 429 page with Retry-After, and no account is made. Signing in with an identifier linked
// already is not a sign-up and still works; the registration form shares the limit.
func TestFederationSignupThrottle(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			up := newTestProvider(t, false)
			f := startFacet(t, be.NewURL(t), nil)
			m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "github", Name: "GitHub",
				AuthURL: up.srv.URL + "/authorize", TokenURL: up.srv.URL + "/token", UserinfoURL: up.srv.URL + "/user",
				ClientID: up.clientID, Secret: up.secret, LoginPage: true}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			limit := signin.DefaultLoginLimits().RegisterPerIP
			for i := range limit {
				up.set(map[string]any{"id": 5000 + i, "name": fmt.Sprintf("Person %d", i), "email": fmt.Sprintf("p%d@example.com", i)})
				if p := followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID); p.status != http.StatusOK || p.url.Path != "/profile" {
					t.Fatalf("sign-up %d ended at %s (%d)", i+1, p.url, p.status)
				}
			}
			users := func() int {
				t.Helper()
				list, err := f.app.store.ListUsers(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				return len(list)
			}
			if n := users(); n != limit {
				t.Fatalf("%d accounts after %d sign-ups", n, limit)
			}

			up.set(map[string]any{"id": 5999, "name": "One Too Many", "email": "many@example.com"})
			p := followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
			if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" ||
				!strings.Contains(p.body, "Too many new accounts from here") || !strings.Contains(p.body, "Try again in") {
				t.Fatalf("sign-up over the limit: %d Retry-After %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
			}
			if n := users(); n != limit {
				t.Errorf("%d accounts after the refused sign-up, want %d", n, limit)
			}

			// An existing identifier signs in as before.
			up.set(map[string]any{"id": 5000, "name": "Person 0", "email": "p0@example.com"})
			if p := followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID); p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Errorf("sign-in of a linked identifier while sign-ups are throttled: %s (%d)", p.url, p.status)
			}
			// The registration form counts in the same tally.
			reg := newAgent(t, f.issuer)
			p = reg.get("/register")
			p = reg.submit(p, p.formWith(t, "/register"), url.Values{"email": {"form@example.com"}, "password": {"correct horse battery"},
				"confirm": {"correct horse battery"}, "name": {"Form Person"}}, "")
			if p.status != http.StatusTooManyRequests {
				t.Errorf("registration form after the upstream sign-ups: %d", p.status)
			}
		})
	}
}

// TestFederationPrefilledCompletion: an upstream sign-up makes the account from the claims
// at once; when a mandatory field is still missing, "Complete your profile" is the
// registration form prefilled with what the provider said (the family name from its full
// name), asking only for what is missing, and saving it continues to the app's return_to.
// Nothing the person did not confirm is stored; a provider that gave no more leaves the
// field empty.
func TestFederationPrefilledCompletion(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			up := newTestProvider(t, false)
			f := startFacet(t, be.NewURL(t), nil)
			m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "github", Name: "GitHub",
				AuthURL: up.srv.URL + "/authorize", TokenURL: up.srv.URL + "/token", UserinfoURL: up.srv.URL + "/user",
				ClaimMap: map[string]string{"given_name": "first"}, ClientID: up.clientID, Secret: up.secret, LoginPage: true}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			family := func(email string) string {
				t.Helper()
				fields, err := f.app.store.GetProfileFields(t.Context(), userByEmail(t, f, email).ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, fl := range fields {
					if fl.Field == "family_name" {
						return fl.Value
					}
				}
				return ""
			}

			up.set(map[string]any{"id": 6001, "first": "Ada", "name": "Ada Lovelace King", "email": "ada@example.com", "verified": true})
			b := followAll(newAgent(t, f.issuer))
			p := b.get("/login/methods/" + m.ID + "?return_to=%2Fprofile%3Fnotice%3Dsaved")
			if p.url.Path != "/profile/complete" {
				t.Fatalf("sign-up with a mandatory field missing ended at %s (%d)", p.url, p.status)
			}
			form := p.formWith(t, "/profile/complete")
			if got := form.values.Get("family_name"); got != "Lovelace King" {
				t.Errorf("family name prefilled with %q, want the provider's %q\n%s", got, "Lovelace King", p.body)
			}
			if !strings.Contains(p.body, "Filled in from your GitHub account: check it and save.") {
				t.Errorf("the completion form does not say where the prefilled value comes from:\n%s", p.body)
			}
			if _, asked := form.values["given_name"]; asked {
				t.Errorf("the completion form asks for the given name the provider gave")
			}
			if got := family("ada@example.com"); got != "" {
				t.Errorf("family name stored before the person confirmed it: %q", got)
			}
			p = b.submit(p, form, nil, "")
			if p.url.Path != "/profile" || family("ada@example.com") != "Lovelace King" {
				t.Errorf("confirming the prefilled form ended at %s; family name %q", p.url, family("ada@example.com"))
			}

			up.set(map[string]any{"id": 6002, "name": "Solo", "email": "solo@example.com", "verified": true})
			p = followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
			if p.url.Path != "/profile/complete" {
				t.Fatalf("sign-up with one name ended at %s (%d)", p.url, p.status)
			}
			if got := p.formWith(t, "/profile/complete").values.Get("family_name"); got != "" || strings.Contains(p.body, "Filled in from") {
				t.Errorf("family name prefilled with %q from a one-word name:\n%s", got, p.body)
			}
		})
	}
}

// vkProvider answers as VK ID does (its API reference): the callback carries code, state and
// device_id; the token request (POST /oauth2/auth) must repeat device_id and state with the
// client id in the body and the PKCE verifier; user info is a POST of client_id and
// access_token, answering {"user": {...}}. omitDevice makes the callback leave device_id out.
type vkProvider struct {
	t          testing.TB
	srv        *httptest.Server
	clientID   string
	mu         sync.Mutex
	omitDevice bool
	codes      map[string]struct{ challenge, state, device, redirect string }
	tokens     map[string]bool
}

func newVKProvider(t testing.TB) *vkProvider {
	p := &vkProvider{t: t, clientID: "51234567", codes: map[string]struct{ challenge, state, device, redirect string }{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || q.Get("client_id") != p.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		code, device := rand.Text(), "dev-"+rand.Text()
		p.codes[code] = struct{ challenge, state, device, redirect string }{q.Get("code_challenge"), q.Get("state"), device, back.String()}
		v := url.Values{"code": {code}, "state": {q.Get("state")}, "expires_in": {"600"}, "type": {"code_v2"}}
		if !p.omitDevice {
			v.Set("device_id", device)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /oauth2/auth", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		c, ok := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || r.Header.Get("Authorization") != "" || r.PostFormValue("grant_type") != "authorization_code" ||
			r.PostFormValue("client_id") != p.clientID || r.PostFormValue("device_id") != c.device || r.PostFormValue("state") != c.state ||
			r.PostFormValue("redirect_uri") != c.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request"})
			return
		}
		access := rand.Text()
		p.tokens[access] = true
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": access, "refresh_token": rand.Text(), "id_token": "x.y.z",
			"token_type": "Bearer", "expires_in": 3600, "user_id": 123456, "state": c.state, "scope": "vkid.personal_info email"})
	})
	mux.HandleFunc("POST /oauth2/user_info", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if r.PostFormValue("client_id") != p.clientID || !p.tokens[r.PostFormValue("access_token")] {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"user_id": "123456", "first_name": "Ivan", "last_name": "Petrov",
			"avatar": "https://vk.example/a.jpg", "email": "ivan@vk.example", "sex": 2, "verified": false, "birthday": "01.02.1990"}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// TestFederationVKID: the vkid preset signs in against a VK ID-shaped provider — the token
// request repeats the callback's device_id and the state with the client id in the body,
// user info is fetched by POST — and a callback without device_id ends on a readable page
// without an account.
func TestFederationVKID(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			vk := newVKProvider(t)
			f := startFacet(t, be.NewURL(t), nil)
			m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "vkid",
				AuthURL: vk.srv.URL + "/authorize", TokenURL: vk.srv.URL + "/oauth2/auth", UserinfoURL: vk.srv.URL + "/oauth2/user_info",
				ClientID: vk.clientID, Secret: "vk-protected-key", LoginPage: true}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			vk.mu.Lock()
			vk.omitDevice = true
			vk.mu.Unlock()
			p := followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID)
			if p.status != http.StatusBadGateway || !strings.Contains(p.body, "The service reported a problem") {
				t.Errorf("callback without device_id: %d\n%s", p.status, p.body)
			}
			if list, err := f.app.store.ListUsers(t.Context()); err != nil || len(list) != 0 {
				t.Errorf("accounts after the refused callback: %v, %v", list, err)
			}

			vk.mu.Lock()
			vk.omitDevice = false
			vk.mu.Unlock()
			p = followAll(newAgent(t, f.issuer)).get("/login/methods/" + m.ID + "?return_to=%2Fprofile")
			if p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Fatalf("VK ID sign-in ended at %s (%d):\n%s", p.url, p.status, p.body)
			}
			u := userByEmail(t, f, "ivan@vk.example")
			ids := identifiersOf(t, f, u.ID)
			if len(ids) != 1 || ids[0].Subject != "123456" || ids[0].Name != "Ivan Petrov" || ids[0].Picture != "https://vk.example/a.jpg" {
				t.Errorf("identifier from VK ID: %+v", ids)
			}
			if u.EmailVerified {
				t.Error("the VK ID email counts as verified, though VK ID does not say so")
			}
		})
	}
}
