package signin

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// clock is the injected Now; the server goroutines read it while the test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is profile's core with signin mounted, on a fresh database behind a real HTTP server.
type env struct {
	t     *testing.T
	core  *profile.Handler
	h     *Handler
	store storage.Storage
	clock *clock
	srv   *httptest.Server
}

// testIPHeader lets a test choose the client IP, as cmd's trusted-proxy middleware would
// by rewriting RemoteAddr.
const testIPHeader = "X-Test-Client-IP"

// maxFormBytes is the core's bound on a form body.
const maxFormBytes = 64 << 10

// newEnvWith builds the env, with adjust changing the core's Config first.
func newEnvWith(t *testing.T, b sqltest.Backend, adjust func(*profile.Config)) *env {
	t.Helper()
	store := b.Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	cfg := profile.Config{Issuer: "http://facet.test", Secret: secret}
	if adjust != nil {
		adjust(&cfg)
	}
	// A fixed start in the middle of a throttling window keeps window arithmetic exact.
	c := &clock{t: time.Date(2030, 1, 2, 3, 1, 0, 0, time.UTC)}
	rec := &storeRecorder{store: store, now: c.Now, t: t}
	core, err := profile.New(cfg, profile.Deps{Store: store, Templates: tpl, Now: c.Now, Events: rec})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Kit: core, Store: store, Events: rec, Now: c.Now, DeviceSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	pages, api := core.Routes(r)
	h.Routes(pages, api)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ip := req.Header.Get(testIPHeader); ip != "" {
			req.RemoteAddr = ip + ":1234"
		}
		r.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, core: core, h: h, store: store, clock: c, srv: srv}
}

// storeRecorder writes events straight to the store with the env's time. activity's Recorder
// (with its bounds on what an event holds) is tested in its own package.
type storeRecorder struct {
	store storage.EventStore
	now   func() time.Time
	t     testing.TB
}

func (r *storeRecorder) Record(ctx context.Context, o profile.Origin, userID string, e profile.Event) {
	err := r.store.AddEvent(context.WithoutCancel(ctx), storage.Event{ID: profile.NewID(), UserID: userID, Category: e.Category,
		At: r.now().UTC(), ClientID: e.ClientID, Device: o.Device, Browser: o.Browser, OS: o.OS, IP: o.IP, Details: e.Details})
	if err != nil {
		r.t.Errorf("record event: %v", err)
	}
}

// browser is a client with its own cookie jar and IP that does not follow redirects.
type browser struct {
	e      *env
	client *http.Client
	ip     string
	// header is added to every request (e.g. X-Forwarded-For).
	header http.Header
}

func (e *env) browser(ip string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, ip: ip, client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is a finished response with its body read.
type response struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set(testIPHeader, b.ip)
	req.Header.Set("User-Agent", "facet-test/1.0")
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		b.e.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: buf.String(), Location: res.Header.Get("Location")}
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	return b.do(http.MethodPost, path, form)
}

// request is a request carrying the browser's cookies, as the core reads them.
func (b *browser) request() *http.Request {
	b.e.t.Helper()
	u, err := url.Parse(b.e.srv.URL)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(b.e.t.Context(), http.MethodGet, "/", nil)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	return req
}

// current asks the core who is signed in for this browser's cookie.
func (b *browser) current() (storage.Session, bool) {
	b.e.t.Helper()
	s, ok, err := b.e.core.Current(b.request())
	if err != nil {
		b.e.t.Fatalf("Current: %v", err)
	}
	return s, ok
}

// sessionID is the id of the session row the browser's cookie names, "" when none is valid.
func (b *browser) sessionID() string {
	b.e.t.Helper()
	s, _ := b.current()
	return s.ID
}

// register signs up through the form and expects the redirect.
func (b *browser) register(email, password, name, returnTo string) response {
	b.e.t.Helper()
	res := b.post("/register", url.Values{"email": {email}, "password": {password}, "confirm": {password}, "name": {name}, "return_to": {returnTo}})
	if res.Status != http.StatusSeeOther {
		b.e.t.Fatalf("register %s: status %d\n%s", email, res.Status, res.Body)
	}
	return res
}

func (b *browser) login(email, password string) response {
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func mustContain(t *testing.T, res response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(res.Body, p) {
			t.Fatalf("status %d: body lacks %q:\n%s", res.Status, p, res.Body)
		}
	}
}

// userID is the id of the account with email.
func (e *env) userID(email string) string {
	e.t.Helper()
	u, err := e.store.GetUserByEmail(e.t.Context(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// userEvents lists every event of userID, newest first.
func (e *env) userEvents(userID string) []storage.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.t.Context(), userID, storage.EventFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// eachBackend runs fn on SQLite and, when configured, PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnvWith(t, b, nil)) })
	}
}

const goodPassword = "correct horse battery staple"
