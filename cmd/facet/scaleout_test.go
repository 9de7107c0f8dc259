package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/storagetest"
)

// documentedKeyCacheTTL is how long a node may serve a stale JWKS after a rotation on another
// node (oauth's keyCacheTTL, docs/deployment.md).
const documentedKeyCacheTTL = 30 * time.Second

// scaleNode is one Facet node of a cluster, with its own clock and log.
type scaleNode struct {
	name  string
	app   *app
	srv   *httptest.Server
	clock *clock
	log   *scaleLog
}

// scaleCluster is three nodes built with newApp on one database behind an in-test reverse
// proxy. The proxy's URL is every node's issuer (as a load balancer's would be); the test
// chooses which node serves the next requests with on().
type scaleCluster struct {
	nodes []*scaleNode
	proxy *httptest.Server
	f     *facet // the cluster seen through the proxy, for the e2e helpers (rp, agent)

	mu      sync.Mutex
	current int
}

func startCluster(t *testing.T, dbURL string, n int) *scaleCluster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	c := &scaleCluster{}
	for i := range n {
		node := &scaleNode{name: string(rune('A' + i)), clock: newClock(), log: &scaleLog{}}
		cfg := Config{Issuer: issuer, DatabaseURL: dbURL, Secret: testSecret, Now: node.clock.now}
		logger := slog.New(slog.NewTextHandler(node.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
		a, err := newApp(t.Context(), cfg, logger)
		if err != nil {
			t.Fatalf("node %s: %v", node.name, err)
		}
		node.app = a
		node.srv = httptest.NewServer(a.Handler())
		t.Cleanup(func() {
			node.srv.Close()
			if err := a.Close(); err != nil {
				t.Errorf("close node %s: %v", node.name, err)
			}
		})
		c.nodes = append(c.nodes, node)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		target, _ := url.Parse(c.node().srv.URL)
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
	}}
	c.proxy = httptest.NewUnstartedServer(proxy)
	c.proxy.Listener.Close()
	c.proxy.Listener = ln
	c.proxy.Start()
	t.Cleanup(c.proxy.Close)
	c.f = &facet{app: c.nodes[0].app, srv: c.proxy, issuer: issuer, addr: ln.Addr().String(), dbURL: dbURL}
	return c
}

// on routes every following request to node i.
func (c *scaleCluster) on(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = i
}

func (c *scaleCluster) node() *scaleNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[c.current]
}

// scaleLog is a node's log, kept for assertions.
type scaleLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *scaleLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *scaleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scaleState is what the steps of the scale-out test share.
type scaleState struct {
	c        *scaleCluster
	r        *rp
	b        *agent // the person's browser (session cookie)
	email    string
	password string
	ar       authRequest
	p        page
	code     string
	tok      *oauth2.Token
	refresh  string // the rotated refresh token
	idOld    string // ID token signed before the key rotation
	idNew    string // ID token signed after it
	newKID   string
}

// scaleStep runs on one node (index into the cluster). Later features that change state
// (password change, OTP counters, account deletion, ...) join as rows of the table.
type scaleStep struct {
	node int
	name string
	run  func(t *testing.T, s *scaleState)
}

const (
	nodeA = iota
	nodeB
	nodeC
)

// TestScaleOut runs the whole product on three nodes sharing one PostgreSQL database, each
// step on a different node than the one before: any node serves any step, and a change made
// through one node is seen by the others at once (or, for signing keys, within the documented
// cache time).
func TestScaleOut(t *testing.T) {
	var pg *storagetest.Backend
	for _, be := range storagetest.Backends(t) {
		if be.Name == sqlstore.DialectPostgres {
			pg = &be
		}
	}
	if pg == nil {
		t.Skip("scale-out needs PostgreSQL: set FACET_TEST_DATABASE_URL")
	}
	c := startCluster(t, pg.NewURL(t), 3)
	s := &scaleState{c: c, email: "scale@example.com", password: "correct horse battery"}
	c.on(nodeA)
	s.r = newRP(t, c.f, "openid", "profile", "email", "offline_access")
	s.b = newAgent(t, c.f.issuer)

	steps := []scaleStep{
		{nodeC, "register", func(t *testing.T, s *scaleState) {
			reg := newAgent(t, s.c.f.issuer)
			p := reg.get("/register")
			reg.submit(p, p.formWith(t, "/register"), url.Values{
				"email": {s.email}, "password": {s.password}, "confirm": {s.password}, "name": {"Alex Timofeeva"},
			}, "")
		}},
		{nodeA, "authorize", func(t *testing.T, s *scaleState) {
			s.ar = s.r.start()
			s.p = s.b.get(s.ar.url)
			if !strings.Contains(s.p.url.Path, "/login") {
				t.Fatalf("authorize without a session: landed on %s (%d)", s.p.url, s.p.status)
			}
		}},
		{nodeB, "login", func(t *testing.T, s *scaleState) {
			s.p = s.b.submit(s.p, s.p.formWith(t, "/login"), url.Values{"email": {s.email}, "password": {s.password}}, "")
		}},
		{nodeC, "consent", func(t *testing.T, s *scaleState) {
			s.code = approve(t, s.b, s.p, s.ar, s.c.f.issuer)
		}},
		{nodeC, "token", func(t *testing.T, s *scaleState) {
			tok, err := s.r.conf.Exchange(s.r.ctx(), s.code, oauth2.VerifierOption(s.ar.verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			s.tok = tok
			s.idOld, _ = tok.Extra("id_token").(string)
		}},
		{nodeA, "userinfo", func(t *testing.T, s *scaleState) {
			claims := userinfoClaims(t, s, s.tok.AccessToken, http.StatusOK)
			if claims["email"] != s.email || claims["given_name"] != "Alex" {
				t.Fatalf("userinfo = %v", claims)
			}
		}},
		{nodeB, "refresh rotates", func(t *testing.T, s *scaleState) {
			nt, err := s.r.conf.TokenSource(s.r.ctx(), &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			s.refresh = nt.RefreshToken
			s.tok.AccessToken = nt.AccessToken
		}},
		{nodeC, "refresh reuse is refused", func(t *testing.T, s *scaleState) {
			_, err := s.r.conf.TokenSource(s.r.ctx(), &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
			if code := oauthError(t, err); code != "invalid_grant" {
				t.Fatalf("reused refresh token: %q, want invalid_grant", code)
			}
		}},
		{nodeA, "the replayed family is revoked", func(t *testing.T, s *scaleState) {
			_, err := s.r.conf.TokenSource(s.r.ctx(), &oauth2.Token{RefreshToken: s.refresh}).Token()
			if code := oauthError(t, err); code != "invalid_grant" {
				t.Fatalf("refresh token of a replayed family: %q, want invalid_grant", code)
			}
		}},
		{nodeB, "new grant with the session", func(t *testing.T, s *scaleState) {
			s.tok = s.grant(t)
			if !active(t, s.r, s.tok.AccessToken) {
				t.Fatal("fresh access token inactive")
			}
		}},
		{nodeB, "revoke", func(t *testing.T, s *scaleState) {
			revoke(t, s.r, s.tok.AccessToken)
		}},
		{nodeC, "introspect shows inactive at once", func(t *testing.T, s *scaleState) {
			if active(t, s.r, s.tok.AccessToken) {
				t.Fatal("revoked access token still active on another node")
			}
		}},
		{nodeA, "userinfo refuses the revoked token", func(t *testing.T, s *scaleState) {
			userinfoClaims(t, s, s.tok.AccessToken, http.StatusUnauthorized)
		}},
		{nodeB, "privacy change", func(t *testing.T, s *scaleState) {
			s.tok = s.grant(t)
			c := userinfoClaims(t, s, s.tok.AccessToken, http.StatusOK)
			if c["given_name"] != "Alex" {
				t.Fatalf("before the change: %v", c)
			}
			s.makePrivate(t, "given_name")
		}},
		{nodeA, "userinfo on another node follows the privacy change", func(t *testing.T, s *scaleState) {
			if c := userinfoClaims(t, s, s.tok.AccessToken, http.StatusOK); c["given_name"] != nil {
				t.Fatalf("given_name made private on node B still released on node A: %v", c)
			}
		}},
		{nodeC, "and on the third", func(t *testing.T, s *scaleState) {
			if c := userinfoClaims(t, s, s.tok.AccessToken, http.StatusOK); c["given_name"] != nil || c["family_name"] != "Timofeeva" {
				t.Fatalf("userinfo on node C: %v", c)
			}
		}},
		{nodeA, "nodes A and C cache the key set before the rotation", func(t *testing.T, s *scaleState) {
			for _, n := range []int{nodeA, nodeC} {
				s.c.on(n)
				p := s.b.get("/.well-known/jwks.json")
				if p.status != http.StatusOK {
					t.Fatalf("JWKS on node %s: %d", s.c.nodes[n].name, p.status)
				}
			}
		}},
		{nodeB, "rotate the signing key", func(t *testing.T, s *scaleState) {
			kid, err := oauth.RotateSigningKey(t.Context(), s.c.nodes[nodeB].app.store, testSecret, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.newKID = kid
			// A new key signs once it is older than the key cache time, so that every node
			// publishes it first. Node B's clock moves on; A and C keep their cached JWKS.
			s.c.nodes[nodeB].clock.advance(documentedKeyCacheTTL + time.Second)
			s.idNew = s.grant(t).Extra("id_token").(string)
			if got := kidOf(t, s.idNew); got != kid {
				t.Fatalf("ID token after the rotation signed by %q, want the new key %q", got, kid)
			}
			if kidOf(t, s.idOld) == kid {
				t.Fatal("the key did not change")
			}
		}},
		{nodeA, "an unknown kid makes a node reload its keys (RP logout with the new ID token)", func(t *testing.T, s *scaleState) {
			// Node A's cached key set predates the rotation; the id_token_hint signed by the
			// new key makes it reload. The logout ends the session on every node.
			q := url.Values{"id_token_hint": {s.idNew}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"bye"}}
			p := s.b.get("/oauth2/sessions/logout?" + q.Encode())
			if !strings.HasPrefix(p.location, rpPostLogout) {
				t.Fatalf("logout with an ID token of the new key: status %d location %q\n%s", p.status, p.location, p.body)
			}
		}},
		{nodeB, "the session ended on node B", func(t *testing.T, s *scaleState) { s.loginRequired(t) }},
		{nodeC, "and on node C", func(t *testing.T, s *scaleState) { s.loginRequired(t) }},
		{nodeA, "JWKS of every node within the cache time; both ID tokens verify", func(t *testing.T, s *scaleState) {
			for _, n := range s.c.nodes {
				n.clock.advance(documentedKeyCacheTTL + time.Second)
			}
			for _, n := range []int{nodeA, nodeC, nodeB} {
				s.c.on(n)
				keys := oidc.NewRemoteKeySet(s.r.ctx(), s.c.f.issuer+"/.well-known/jwks.json")
				for _, raw := range []string{s.idOld, s.idNew} {
					if _, err := keys.VerifySignature(t.Context(), raw); err != nil {
						t.Errorf("node %s: ID token by key %s: %v", s.c.nodes[n].name, kidOf(t, raw), err)
					}
				}
			}
		}},
		{nodeA, "login throttling is shared", func(t *testing.T, s *scaleState) {
			// Start in a fresh throttling window so the attempts cannot straddle two.
			now := s.c.nodes[nodeA].clock.now()
			to := 15*time.Minute - now.Sub(now.Truncate(15*time.Minute)) + time.Second
			for _, n := range s.c.nodes {
				n.clock.advance(to)
			}
			for i := range 5 {
				s.c.on(i % 3)
				b := newAgent(t, s.c.f.issuer)
				p := b.get("/login")
				p = b.submit(p, p.formWith(t, "/login"), url.Values{"email": {s.email}, "password": {"wrong password " + fmt.Sprint(i)}}, "")
				if p.status != http.StatusOK {
					t.Fatalf("failed login %d on node %s: status %d", i+1, s.c.nodes[i%3].name, p.status)
				}
			}
			s.c.on(nodeB)
			b := newAgent(t, s.c.f.issuer)
			p := b.get("/login")
			p = b.submit(p, p.formWith(t, "/login"), url.Values{"email": {s.email}, "password": {s.password}}, "")
			if p.status != http.StatusTooManyRequests {
				t.Fatalf("6th login (right password) on node B after 5 failures on A, B, C: status %d, want 429", p.status)
			}
		}},
		{nodeA, "the cleanup job runs on exactly one node", func(t *testing.T, s *scaleState) {
			// An hour later every code and access token has expired: there is work to do.
			for _, n := range s.c.nodes {
				n.clock.advance(time.Hour)
			}
			var wg sync.WaitGroup
			for i, n := range s.c.nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n.app.cleanupOnce(context.WithoutCancel(t.Context()), fmt.Sprint("holder-", i))
				}()
			}
			wg.Wait()
			ran := 0
			for _, n := range s.c.nodes {
				if strings.Contains(n.log.String(), "msg=cleanup ") {
					ran++
				}
			}
			if ran != 1 {
				t.Fatalf("cleanup ran on %d nodes, want exactly 1", ran)
			}
			// While the lease is held, no other holder runs it.
			for i, n := range s.c.nodes {
				ok, err := n.app.store.TryLease(t.Context(), "cleanup", fmt.Sprint("other-", i), n.clock.now(), cleanupEvery)
				if err != nil || ok {
					t.Fatalf("node %s took a held lease: %v %v", n.name, ok, err)
				}
			}
		}},
	}
	for _, st := range steps {
		c.on(st.node)
		if !t.Run(c.nodes[st.node].name+": "+st.name, func(t *testing.T) { st.run(t, s) }) {
			t.FailNow()
		}
	}
}

// grant runs one more authorization with the session on the current node and redeems it.
func (s *scaleState) grant(t *testing.T) *oauth2.Token {
	t.Helper()
	ar := s.r.start()
	q := callback(t, s.b.get(ar.url), ar, s.c.f.issuer)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	tok, err := s.r.conf.Exchange(s.r.ctx(), q.Get("code"), oauth2.VerifierOption(ar.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// loginRequired checks that prompt=none finds no session on the current node.
func (s *scaleState) loginRequired(t *testing.T) {
	t.Helper()
	ar := s.r.start(oauth2.SetAuthURLParam("prompt", "none"))
	if got := callback(t, s.b.get(ar.url), ar, s.c.f.issuer).Get("error"); got != "login_required" {
		t.Fatalf("prompt=none after logout on another node: error %q, want login_required", got)
	}
}

// makePrivate sets a field's privacy level to private through the account API of the current
// node. Until the privacy API exists (PUT /api/account/privacy/{field}), the level is written
// through the current node's store, which still proves that no node caches privacy levels.
func (s *scaleState) makePrivate(t *testing.T, field string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.c.f.issuer+"/api/account/privacy/"+field, strings.NewReader(`{"level":"private"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		t.Logf("no privacy API yet (status %d): setting the level through node %s's store", resp.StatusCode, s.c.node().name)
	default:
		t.Fatalf("PUT /api/account/privacy/%s: status %d: %s", field, resp.StatusCode, body)
	}
	st := s.c.node().app.store
	u, err := st.GetUserByEmail(t.Context(), s.email)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := st.GetProfileFields(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Field == field {
			f.Privacy = "private"
			f.UpdatedAt = time.Now().UTC()
			if err := st.PutProfileFields(t.Context(), []storage.ProfileField{f}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("user has no %s field", field)
}

// userinfoClaims calls userinfo through the proxy (the current node) and checks the status.
func userinfoClaims(t *testing.T, s *scaleState, token string, want int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.c.f.issuer+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.c.f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("userinfo on node %s: status %d, want %d", s.c.node().name, resp.StatusCode, want)
	}
	var claims map[string]any
	if want == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
			t.Fatal(err)
		}
	}
	return claims
}

// kidOf returns the kid of a JWS's protected header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		t.Fatalf("not a JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}
