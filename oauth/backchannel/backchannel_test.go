package backchannel_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

const issuer = "https://id.example"

var secret = []byte(strings.Repeat("s", 32))

// receiver is an app's back-channel logout endpoint: it answers 500 to the first fail
// requests and records every logout token it is sent.
type receiver struct {
	mu     sync.Mutex
	fail   int
	tokens []string
	hits   int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	t.Helper()
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.hits++
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.fail > 0 {
			r.fail--
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		r.tokens = append(r.tokens, req.PostFormValue("logout_token"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	url   string
	store *sqlstore.Store
	keys  *keys.Set
	clock *clock
	sids  *backchannel.SIDs
}

func open(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// newFixture opens a fresh database with a signing key, user u1 and its browser session s1.
func newFixture(t *testing.T, b sqltest.Backend) *fixture {
	t.Helper()
	f := &fixture{url: b.NewURL(t), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	f.store = open(t, f.url)
	ctx := t.Context()
	if err := keys.Ensure(ctx, f.store, secret); err != nil {
		t.Fatal(err)
	}
	f.keys = keys.NewSet(f.store, secret, f.clock.now)
	var err error
	if f.sids, err = backchannel.NewSIDs(secret); err != nil {
		t.Fatal(err)
	}
	now := f.clock.now()
	if err := f.store.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateSession(ctx, storage.Session{ID: "s1", UserID: "u1", AuthTime: now, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// app registers client id with the back-channel logout URI uri ("" for none) and signs it in
// through session s1.
func (f *fixture) app(t *testing.T, id, uri string) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := registration.Create(ctx, f.store, registration.Spec{ID: id, Name: id, Public: true,
		RedirectURIs: []string{"https://" + id + ".example/cb"}, BackchannelLogoutURI: uri}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutSessionClient(ctx, storage.SessionClient{SessionID: "s1", ClientID: id, UserID: "u1",
		SID: f.sids.Of("s1"), CreatedAt: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) deliverer(store *sqlstore.Store, reg prometheus.Registerer) *backchannel.Deliverer {
	total, err := backchannel.NewTotal(reg)
	if err != nil {
		panic(err)
	}
	return &backchannel.Deliverer{Store: store, Keys: keys.NewSet(store, secret, f.clock.now), Issuer: issuer,
		Logger: slog.New(slog.DiscardHandler), Now: f.clock.now, Total: total}
}

func (f *fixture) notifier() *backchannel.Notifier {
	return &backchannel.Notifier{Store: f.store, Now: f.clock.now}
}

// jwks returns the published key set.
func (f *fixture) jwks(t *testing.T) jose.JSONWebKeySet {
	t.Helper()
	rec := httptest.NewRecorder()
	f.keys.ServeJWKS(rec, httptest.NewRequest(http.MethodGet, "/jwks", nil), slog.New(slog.DiscardHandler))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// verify checks raw against the JWKS and returns its claims, all of them by name.
func verify(t *testing.T, set jose.JSONWebKeySet, raw string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse logout token: %v", err)
	}
	if typ, _ := tok.Headers[0].ExtraHeaders["typ"].(string); typ != backchannel.TokenType {
		t.Errorf("typ = %q, want %s", typ, backchannel.TokenType)
	}
	k := set.Key(tok.Headers[0].KeyID)
	if len(k) != 1 {
		t.Fatalf("kid %q not in JWKS", tok.Headers[0].KeyID)
	}
	claims := map[string]any{}
	if err := tok.Claims(k[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return claims
}

func TestLogoutToken(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t, b)
			a, other := newReceiver(t, 0), newReceiver(t, 0)
			f.app(t, "a", a.srv.URL+"/bcl")
			f.app(t, "b", other.srv.URL+"/bcl")
			f.app(t, "quiet", "") // no URI: nothing queued

			// The app that asked for the logout is not told; the others are.
			n, err := f.notifier().LogoutSession(ctx, "s1", "b", "req-1")
			if err != nil || n != 1 {
				t.Fatalf("LogoutSession = %d, %v; want 1 message (a)", n, err)
			}
			reg := prometheus.NewRegistry()
			d := f.deliverer(f.store, reg)
			if n, err := d.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce = %d, %v", n, err)
			}
			if len(other.got()) != 0 {
				t.Error("the app that asked for the logout was told")
			}
			// A second logout of the same session: a new token with its own jti.
			if _, err := f.notifier().LogoutUser(ctx, "u1", "a", "req-2"); err != nil {
				t.Fatal(err)
			}
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			got := a.got()
			if len(got) != 2 {
				t.Fatalf("receiver got %d tokens, want 2", len(got))
			}
			set := f.jwks(t)
			jtis := map[string]bool{}
			now := f.clock.now().Unix()
			for _, raw := range got {
				c := verify(t, set, raw)
				iat, _ := c["iat"].(float64)
				exp, _ := c["exp"].(float64)
				events, _ := c["events"].(map[string]any)
				ev, ok := events[backchannel.EventURI].(map[string]any)
				if c["iss"] != issuer || c["aud"] != "a" || c["sub"] != "u1" || c["sid"] != f.sids.Of("s1") ||
					int64(iat) != now || exp <= iat || exp-iat > 120 || !ok || len(ev) != 0 || len(events) != 1 {
					t.Errorf("claims: %v", c)
				}
				if _, has := c["nonce"]; has {
					t.Error("a logout token carries nonce")
				}
				jti, _ := c["jti"].(string)
				if len(jti) < 16 || jtis[jti] {
					t.Errorf("jti %q empty or repeated", jti)
				}
				jtis[jti] = true
			}
			if v := count(t, d.Total.WithLabelValues("delivered")); v != 2 {
				t.Errorf("facet_backchannel_logout_total{result=delivered} = %v, want 2", v)
			}
		})
	}
}

// TestRetry: a receiver failing twice gets the message on the third attempt, after the
// backoff; a restart between a failure and the retry (a new store on the same database)
// loses nothing.
func TestRetry(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t, b)
			a := newReceiver(t, 2)
			f.app(t, "a", a.srv.URL)
			if _, err := f.notifier().LogoutSession(ctx, "s1", "", "req-1"); err != nil {
				t.Fatal(err)
			}
			d := f.deliverer(f.store, prometheus.NewRegistry())
			if n, err := d.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("first attempt: %d, %v", n, err)
			}
			// Not due again before the backoff.
			if n, err := d.RunOnce(ctx); err != nil || n != 0 {
				t.Fatalf("attempt before the backoff: %d, %v", n, err)
			}
			f.clock.add(backchannel.Backoff(1))
			if n, _ := d.RunOnce(ctx); n != 1 {
				t.Fatalf("second attempt: %d", n)
			}

			// Restart: this node's store closes, another opens the same database.
			if err := f.store.Close(); err != nil {
				t.Fatal(err)
			}
			store2 := open(t, f.url)
			d2 := f.deliverer(store2, prometheus.NewRegistry())
			f.clock.add(backchannel.Backoff(2))
			if n, err := d2.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("third attempt after restart: %d, %v", n, err)
			}
			if got := a.got(); len(got) != 1 || a.hits != 3 {
				t.Fatalf("receiver: %d tokens in %d requests, want 1 in 3", len(got), a.hits)
			}
			if v := count(t, d.Total.WithLabelValues("retry")); v != 2 {
				t.Errorf("retry count %v, want 2", v)
			}
			if n, _ := d2.RunOnce(ctx); n != 0 {
				t.Errorf("a delivered message was attempted again")
			}
		})
	}
}

// TestAbandonAndCleanup: a message failing for MaxAge is abandoned, and finished messages are
// deleted after Retention. Redirects are not followed.
func TestAbandonAndCleanup(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t, b)
			target := newReceiver(t, 0)
			redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
			t.Cleanup(redirect.Close)
			f.app(t, "a", redirect.URL)
			msg := storage.LogoutMessage{ID: "m1", ClientID: "a", Subject: "u1", NextAttemptAt: f.clock.now(), CreatedAt: f.clock.now()}
			if err := f.store.EnqueueLogouts(ctx, []storage.LogoutMessage{msg}); err != nil {
				t.Fatal(err)
			}
			d := f.deliverer(f.store, prometheus.NewRegistry())
			attempts := 0
			for range 100 {
				n, err := d.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				attempts += n
				m, err := f.store.GetLogout(ctx, "m1")
				if err != nil {
					t.Fatal(err)
				}
				if m.Status != storage.LogoutPending {
					break
				}
				f.clock.t = m.NextAttemptAt
			}
			m, err := f.store.GetLogout(ctx, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != storage.LogoutAbandoned || f.clock.now().Sub(msg.CreatedAt) < 24*time.Hour {
				t.Fatalf("status %s after %d attempts over %v; want abandoned after at least 24 h", m.Status, attempts, f.clock.now().Sub(msg.CreatedAt))
			}
			if len(target.got()) != 0 {
				t.Error("a redirect was followed")
			}
			if !strings.Contains(m.LastError, "307") {
				t.Errorf("last error %q does not name the redirect answer", m.LastError)
			}
			if n, err := d.Cleanup(ctx); err != nil || n != 0 {
				t.Fatalf("Cleanup before the retention = %d, %v", n, err)
			}
			f.clock.add(backchannel.Retention + time.Minute)
			if n, err := d.Cleanup(ctx); err != nil || n != 1 {
				t.Fatalf("Cleanup = %d, %v; want 1", n, err)
			}
			if _, err := f.store.GetLogout(ctx, "m1"); err == nil {
				t.Error("an abandoned message outlived the retention")
			}
		})
	}
}

// TestTwoNodes: two nodes on one database deliver each message exactly once.
func TestTwoNodes(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t, b)
			var mu sync.Mutex
			seen := map[string]int{}
			set := f.jwks(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw := r.PostFormValue("logout_token")
				tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
				if err != nil {
					http.Error(w, "bad", http.StatusBadRequest)
					return
				}
				var c jwt.Claims
				if err := tok.Claims(set.Keys[0].Key, &c); err != nil {
					http.Error(w, "bad", http.StatusBadRequest)
					return
				}
				mu.Lock()
				seen[c.Subject]++
				mu.Unlock()
			}))
			t.Cleanup(srv.Close)
			f.app(t, "a", srv.URL)
			const total = 60
			var msgs []storage.LogoutMessage
			for i := range total {
				msgs = append(msgs, storage.LogoutMessage{ID: fmt.Sprintf("m%d", i), ClientID: "a", Subject: fmt.Sprintf("u%d", i),
					NextAttemptAt: f.clock.now(), CreatedAt: f.clock.now()})
			}
			if err := f.store.EnqueueLogouts(ctx, msgs); err != nil {
				t.Fatal(err)
			}
			nodes := []*backchannel.Deliverer{f.deliverer(f.store, prometheus.NewRegistry()), f.deliverer(open(t, f.url), prometheus.NewRegistry())}
			var wg sync.WaitGroup
			for _, d := range nodes {
				wg.Go(func() {
					for {
						n, err := d.RunOnce(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						if n == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			if len(seen) != total {
				t.Errorf("%d messages delivered, want %d", len(seen), total)
			}
			for sub, n := range seen {
				if n != 1 {
					t.Errorf("message for %s delivered %d times", sub, n)
				}
			}
		})
	}
}

func count(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 9: 2 * time.Hour, 40: 2 * time.Hour} {
		if got := backchannel.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func TestSIDs(t *testing.T) {
	a, err := backchannel.NewSIDs(secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := backchannel.NewSIDs([]byte(strings.Repeat("t", 32)))
	if err != nil {
		t.Fatal(err)
	}
	first, again := a.Of("s1"), a.Of("s1")
	if first != again || a.Of("s1") == a.Of("s2") || a.Of("s1") == b.Of("s1") || strings.Contains(a.Of("s1"), "s1") {
		t.Errorf("sids: %q %q %q", a.Of("s1"), a.Of("s2"), b.Of("s1"))
	}
	if _, err := backchannel.NewSIDs([]byte("short")); err == nil {
		t.Error("a short secret was accepted")
	}
}

// TestLogoutUserGrants: LogoutUser tells an app the user granted access but no session signed
// in to, without sid, unless the app requires sid; an app of another user hears nothing.
func TestLogoutUserGrants(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t, b)
			rec := newReceiver(t, 0)
			f.app(t, "a", rec.srv.URL) // signed in through s1
			for _, spec := range []registration.Spec{
				{ID: "g", BackchannelLogoutURI: rec.srv.URL},
				{ID: "gs", BackchannelLogoutURI: rec.srv.URL, BackchannelLogoutSessionRequired: true},
			} {
				spec.Name, spec.Public, spec.RedirectURIs = spec.ID, true, []string{"https://" + spec.ID + ".example/cb"}
				if _, _, err := registration.Create(ctx, f.store, spec); err != nil {
					t.Fatal(err)
				}
				if err := f.store.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: spec.ID, Scopes: []string{"openid"},
					CreatedAt: f.clock.now(), UpdatedAt: f.clock.now()}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := f.notifier().LogoutUser(ctx, "u2", "", "r0"); err != nil || n != 0 {
				t.Fatalf("another user: %d messages, %v", n, err)
			}
			n, err := f.notifier().LogoutUser(ctx, "u1", "", "r1")
			if err != nil || n != 2 {
				t.Fatalf("LogoutUser = %d, %v; want 2 (a with sid, g without)", n, err)
			}
			if _, err := f.deliverer(f.store, prometheus.NewRegistry()).RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			set := f.jwks(t)
			byAud := map[string]map[string]any{}
			for _, raw := range rec.got() {
				c := verify(t, set, raw)
				byAud[c["aud"].(string)] = c
			}
			if len(byAud) != 2 || byAud["a"]["sid"] != f.sids.Of("s1") || byAud["g"] == nil || byAud["g"]["sid"] != nil {
				t.Errorf("tokens by audience: %v", byAud)
			}
		})
	}
}
