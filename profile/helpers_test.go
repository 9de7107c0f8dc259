package profile

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile/password"
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

// env is one Facet profile module on a fresh database behind a real HTTP server.
type env struct {
	t     *testing.T
	h     *Handler
	store storage.Storage
	clock *clock
	srv   *httptest.Server
}

// testIPHeader lets a test choose the client IP, as cmd's trusted-proxy middleware would
// by rewriting RemoteAddr.
const testIPHeader = "X-Test-Client-IP"

func newEnv(t *testing.T, b sqltest.Backend) *env {
	t.Helper()
	return newEnvWith(t, b, nil)
}

// newEnvWith is newEnv with adjust changing the Config first.
func newEnvWith(t *testing.T, b sqltest.Backend, adjust func(*Config)) *env {
	t.Helper()
	return newEnvWired(t, b, adjust, nil)
}

// newEnvWired is newEnvWith with wire setting the Handler's dependencies (mail, phone)
// before its routes are built.
func newEnvWired(t *testing.T, b sqltest.Backend, adjust func(*Config), wire func(h *Handler)) *env {
	t.Helper()
	store := b.Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	cfg := Config{Issuer: "http://facet.test", Secret: secret}
	if adjust != nil {
		adjust(&cfg)
	}
	h, err := newHandler(cfg, store, tpl, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// A fixed start in the middle of a throttling window keeps window arithmetic exact.
	c := &clock{t: time.Date(2030, 1, 2, 3, 1, 0, 0, time.UTC)}
	h.Now = c.Now
	if wire != nil {
		wire(h)
	}
	r := mux.NewRouter()
	pages, _ := h.Routes(r)
	e := &env{t: t, h: h, store: store, clock: c}
	pages.HandleFunc("/register", e.registerStandIn).Methods(http.MethodPost)
	pages.HandleFunc("/login", e.loginStandIn).Methods(http.MethodPost)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ip := req.Header.Get(testIPHeader); ip != "" {
			req.RemoteAddr = ip + ":1234"
		}
		r.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

// registerStandIn and loginStandIn stand in for signin's pages, which cannot be mounted here
// (signin imports profile): POST /register creates an active account with the password and
// the name's given_name and family_name and signs it in; POST /login signs in with a correct
// password (303 to /) and answers 200 otherwise. signin's own tests run the real pages.
func (e *env) registerStandIn(w http.ResponseWriter, r *http.Request) {
	if !e.h.ParseForm(w, r) {
		return
	}
	u := e.createUser(NormalizeEmail(r.PostForm.Get("email")), r.PostForm.Get("password"), r.PostForm.Get("name"))
	if _, err := e.h.StartSession(w, r, u.ID, []string{"pwd"}); err != nil {
		e.h.ServerError(w, r, "start session", err)
		return
	}
	http.Redirect(w, r, SafeReturnTo(r.PostForm.Get("return_to")), http.StatusSeeOther)
}

func (e *env) loginStandIn(w http.ResponseWriter, r *http.Request) {
	if !e.h.ParseForm(w, r) {
		return
	}
	u, err := e.store.GetUserByEmail(r.Context(), NormalizeEmail(r.PostForm.Get("email")))
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	if ok, err := password.Check(u.PasswordHash, r.PostForm.Get("password")); err != nil || !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := e.h.StartSession(w, r, u.ID, []string{"pwd"}); err != nil {
		e.h.ServerError(w, r, "start session", err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// createUser stores an active account with a password and, when name is given, its
// given_name (first word) and family_name (the rest).
func (e *env) createUser(email, pw, name string) storage.User {
	e.t.Helper()
	return createUser(e.t, e.store, e.h.Now(), email, pw, name)
}

func createUser(t testing.TB, store storage.Storage, now time.Time, email, pw, name string) storage.User {
	t.Helper()
	hash, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	now = now.UTC()
	u := storage.User{ID: NewID(), Email: email, PasswordHash: hash, Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	var fields []storage.ProfileField
	if words := strings.Fields(name); len(words) > 0 {
		fields = append(fields, storage.ProfileField{UserID: u.ID, Field: "given_name", Value: words[0], Privacy: "on_request", UpdatedAt: now})
		if len(words) > 1 {
			fields = append(fields, storage.ProfileField{UserID: u.ID, Field: "family_name", Value: strings.Join(words[1:], " "), Privacy: "on_request", UpdatedAt: now})
		}
	}
	if len(fields) > 0 {
		if err := store.PutProfileFields(t.Context(), fields); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// storeRecorder writes events straight to the store with h.Now's time: the activity log the
// core's tests read. activity's Recorder (with its bounds on what an event holds) is tested in
// its own package, which imports this one.
type storeRecorder struct {
	store storage.EventStore
	h     *Handler
}

func (r *storeRecorder) Record(ctx context.Context, o Origin, userID string, e Event) {
	err := r.store.AddEvent(context.WithoutCancel(ctx), storage.Event{ID: NewID(), UserID: userID, Category: e.Category,
		At: r.h.Now().UTC(), ClientID: e.ClientID, Device: o.Device, Browser: o.Browser, OS: o.OS, IP: o.IP, Details: e.Details})
	if err != nil && r.h.Logger != nil {
		r.h.Logger.ErrorContext(ctx, "record event", "err", err)
	}
}

// newHandler is New with the core's test dependencies: store, templates and a storeRecorder.
func newHandler(cfg Config, store storage.Storage, tpl *templates.Templates, logger *slog.Logger) (*Handler, error) {
	rec := &storeRecorder{store: store}
	h, err := New(cfg, Deps{Store: store, Templates: tpl, Logger: logger, Events: rec})
	if err != nil {
		return nil, err
	}
	rec.h = h
	return h, nil
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

// current asks the handler who is signed in for this browser's cookie.
func (b *browser) current() (storage.Session, bool) {
	b.e.t.Helper()
	u, err := url.Parse(b.e.srv.URL)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(b.e.t.Context(), http.MethodGet, "/", nil)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	s, ok, err := b.e.h.Current(req)
	if err != nil {
		b.e.t.Fatalf("Current: %v", err)
	}
	return s, ok
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

// eachBackend runs fn on SQLite and, when configured, PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

const goodPassword = "correct horse battery staple"

// callJSON sends a JSON body (or none) from browser b.
func (b *browser) callJSON(method, path, body string) response {
	b.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(testIPHeader, b.ip)
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
