// Package profiletest runs the account core of profile and its sign-in pages (signin) with the
// sub-packages under test behind a real HTTP server on a real database, and drives it like a browser: the test harness of
// profile's sub-packages. It holds no fakes: the caller passes the event recorder (activity's).
package profiletest

import (
	"bytes"
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
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// Password is a password the policy accepts.
const Password = "correct horse battery staple"

// Clock is the injected Now; the server goroutines read it while the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Module is a sub-package's handler mounted beside the core.
type Module interface {
	Routes(r, api *mux.Router)
}

// Kit is what a sub-package's constructor needs from the environment.
type Kit struct {
	Config    profile.Config
	Core      *profile.Handler
	Store     storage.Storage
	Templates *templates.Templates
	Events    profile.Recorder
	Now       func() time.Time
}

// Env is the core, the sign-in pages and the modules on a fresh database behind an httptest
// server.
type Env struct {
	T    testing.TB
	Core *profile.Handler
	// SignIn serves /login, /register and /logout.
	SignIn *signin.Handler
	Store  storage.Storage
	Clock  *Clock
	URL    string
	// Handler is the router the server serves (without the client-IP rewrite), for requests
	// a test sends straight to it.
	Handler http.Handler
}

// ClientIPHeader lets a test choose the client IP, as cmd's trusted-proxy handling would by
// rewriting RemoteAddr.
const ClientIPHeader = "X-Test-Client-IP"

// Recorder builds the event recorder of an env on its store and clock.
type Recorder func(store storage.Storage, now func() time.Time) profile.Recorder

// New builds the core on b's database with the recorder events builds (adjust may change its
// Config and Deps, e.g. set a mailer) and mounts the modules build returns.
func New(t testing.TB, b sqltest.Backend, adjust func(*profile.Config, *profile.Deps), events Recorder, build func(Kit) []Module) *Env {
	t.Helper()
	store := b.Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	cfg := profile.Config{Issuer: "http://facet.test", Secret: secret}
	// A fixed start in the middle of a throttling window keeps window arithmetic exact.
	c := &Clock{t: time.Date(2030, 1, 2, 3, 1, 0, 0, time.UTC)}
	rec := events(store, c.Now)
	deps := profile.Deps{Store: store, Templates: tpl, Now: c.Now, Events: rec, Tabs: []profile.TabSource{{Label: "account.tab.events", URL: "/profile/events", Icon: "list"}}}
	if adjust != nil {
		adjust(&cfg, &deps)
	}
	core, err := profile.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	var modules []Module
	if build != nil {
		modules = build(Kit{Config: cfg, Core: core, Store: store, Templates: tpl, Events: rec, Now: c.Now})
	}
	// A module that is a second login step (profile/mfa) follows the password, as in cmd.
	var second signin.SecondStep
	for _, m := range modules {
		if s, ok := m.(signin.SecondStep); ok {
			second = s
		}
	}
	signIn, err := signin.New(signin.Deps{Kit: core, Store: store, Events: rec, Now: c.Now, Second: second})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	pages, api := core.Routes(r)
	signIn.Routes(pages, api)
	for _, m := range modules {
		m.Routes(pages, api)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ip := req.Header.Get(ClientIPHeader); ip != "" {
			req.RemoteAddr = ip + ":1234"
		}
		r.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return &Env{T: t, Core: core, SignIn: signIn, Store: store, Clock: c, URL: srv.URL, Handler: r}
}

// Each runs fn on SQLite and, when configured, PostgreSQL, with the env new builds.
func Each(t *testing.T, newEnv func(t *testing.T, b sqltest.Backend) *Env, fn func(t *testing.T, e *Env)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

// Browser is a client with its own cookie jar and IP that does not follow redirects.
type Browser struct {
	e      *Env
	client *http.Client
	IP     string
}

// Browser returns a new browser coming from ip.
func (e *Env) Browser(ip string) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Browser{e: e, IP: ip, client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// T is the test the browser belongs to.
func (b *Browser) T() testing.TB { return b.e.T }

// Cookies are the cookies the browser holds for the server.
func (b *Browser) Cookies() []*http.Cookie {
	u, err := url.Parse(b.e.URL)
	if err != nil {
		b.e.T.Fatal(err)
	}
	return b.client.Jar.Cookies(u)
}

// Current asks the core who is signed in with the browser's cookies.
func (b *Browser) Current() (storage.Session, bool) {
	b.e.T.Helper()
	req := httptest.NewRequestWithContext(b.e.T.Context(), http.MethodGet, "/", nil)
	for _, c := range b.Cookies() {
		req.AddCookie(c)
	}
	s, ok, err := b.e.Core.Current(req)
	if err != nil {
		b.e.T.Fatalf("Current: %v", err)
	}
	return s, ok
}

// Response is a finished response with its body read.
type Response struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

// Do sends body (with its content type, when not empty) from the browser.
func (b *Browser) Do(method, path, contentType string, body io.Reader) Response {
	b.e.T.Helper()
	req, err := http.NewRequestWithContext(b.e.T.Context(), method, b.e.URL+path, body)
	if err != nil {
		b.e.T.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set(ClientIPHeader, b.IP)
	req.Header.Set("User-Agent", "facet-test/1.0")
	res, err := b.client.Do(req)
	if err != nil {
		b.e.T.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		b.e.T.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: buf.String(), Location: res.Header.Get("Location")}
}

// Get fetches path.
func (b *Browser) Get(path string) Response { return b.Do(http.MethodGet, path, "", nil) }

// Post sends form to path.
func (b *Browser) Post(path string, form url.Values) Response {
	return b.Do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// Register signs up through the form and expects the redirect.
func (b *Browser) Register(email, password, name, returnTo string) Response {
	b.e.T.Helper()
	res := b.Post("/register", url.Values{"email": {email}, "password": {password}, "confirm": {password}, "name": {name}, "return_to": {returnTo}})
	if res.Status != http.StatusSeeOther {
		b.e.T.Fatalf("register %s: status %d\n%s", email, res.Status, res.Body)
	}
	return res
}

// SignUp registers email from a new browser at ip and returns it with the account.
func (e *Env) SignUp(email, name, ip string) (*Browser, storage.User) {
	e.T.Helper()
	b := e.Browser(ip)
	b.Register(email, Password, name, "/")
	u, err := e.Store.GetUserByEmail(e.T.Context(), email)
	if err != nil {
		e.T.Fatal(err)
	}
	return b, u
}

// Events lists every event of userID, newest first.
func (e *Env) Events(userID string) []storage.Event {
	e.T.Helper()
	evs, err := e.Store.ListEvents(e.T.Context(), userID, storage.EventFilter{})
	if err != nil {
		e.T.Fatal(err)
	}
	return evs
}

// WantStatus fails the test unless res has status and a body holding every part.
func WantStatus(t testing.TB, what string, res Response, status int, parts ...string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, res.Status, status, res.Body)
	}
	for _, p := range parts {
		if !strings.Contains(res.Body, p) {
			t.Fatalf("%s: body lacks %q:\n%s", what, p, res.Body)
		}
	}
}
