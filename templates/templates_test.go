package templates

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// pageData has every field the pages owned here read, so each renders fully.
type pageData struct {
	SignedIn    bool
	Email       string
	Login       string
	Name        string
	ReturnTo    string
	AppName     string
	Alert       string
	Notice      string
	Errors      map[string]string
	LoginURL    string
	RegisterURL string
	// Methods are the login form's provider buttons.
	Methods []struct{ Name, Icon, URL string }
	// Passkeys offers the login form's passkey button.
	Passkeys bool
}

func mustNew(t testing.TB) *Templates {
	t.Helper()
	tpl, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tpl
}

func render(t *testing.T, tpl *Templates, status int, name string, data any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := tpl.RenderLang(rec, English, status, name, data); err != nil {
		t.Fatalf("Render %s: %v", name, err)
	}
	return rec
}

func TestPagesRender(t *testing.T) {
	tpl := mustNew(t)
	cases := []struct {
		name string
		data any
		want []string
	}{
		{"home", pageData{}, []string{`href="/login"`, `href="/register"`}},
		{"login", pageData{ReturnTo: "/oauth2/auth?x=1", Login: "a@b.example", Alert: "The email, username or password is not correct.", AppName: "Demo", RegisterURL: "/register"},
			[]string{`value="/oauth2/auth?x=1"`, `value="a@b.example"`, `role="alert"`, "to continue to Demo", `autocomplete="current-password"`}},
		{"login", pageData{ReturnTo: "/oauth2/auth?x=1", Passkeys: true},
			[]string{`data-passkey-login`, `data-return-to="/oauth2/auth?x=1"`, "Sign in with a passkey", `/static/passkey.`}},
		{"register", pageData{Name: "Alex T", Email: "a@b.example", Errors: map[string]string{"password": "Use at least 8 characters."}, LoginURL: "/login"},
			[]string{`value="Alex T"`, `id="password-error"`, `aria-invalid="true"`, "Use at least 8 characters.", `autocomplete="new-password"`}},
		{"error", ErrorPage{Status: 404, RequestID: "req-123"}, []string{"Page not found", "Reference: req-123", `href="/"`}},
		{"error.html", ErrorPage{Status: 500, Title: "Custom", Message: "A sentence.", Next: "Do this."}, []string{"Custom", "A sentence.", "Do this."}},
	}
	for _, c := range cases {
		rec := render(t, tpl, http.StatusOK, c.name, c.data)
		body := rec.Body.String()
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q:\n%s", c.name, w, body)
			}
		}
		for _, bad := range []string{"style=", "<style"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: body has %q, which a strict CSP blocks", c.name, bad)
			}
		}
		if strings.Count(body, "<script") != strings.Count(body, `<script src="/static/`) {
			t.Errorf("%s: an inline script, which a strict CSP blocks", c.name)
		}
		if !strings.Contains(body, `<main class="container"`) || !strings.Contains(body, "Facet") {
			t.Errorf("%s: layout missing", c.name)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	tpl := mustNew(t)
	rec := render(t, tpl, 200, "login", pageData{Email: `"><script>alert(1)</script>`})
	if strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("user input not escaped")
	}
}

func TestRenderFailureIsWhole500(t *testing.T) {
	tpl := mustNew(t)
	rec := httptest.NewRecorder()
	// login reads .AppName; an int has no such field, so execution fails midway.
	err := tpl.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "login", 42)
	if err == nil {
		t.Fatal("want error")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if strings.Count(body, "<html") != 1 || !strings.Contains(body, "Something went wrong on our side") {
		t.Fatalf("want one whole error page, got:\n%s", body)
	}
	rec = httptest.NewRecorder()
	if err := tpl.RenderLang(rec, English, 200, "nope", nil); err == nil || rec.Code != 500 {
		t.Fatalf("unknown page: err %v status %d", err, rec.Code)
	}
}

func TestErrorPageStatusFallbacks(t *testing.T) {
	for _, status := range []int{400, 403, 404, 405, 413, 418, 429, 500, 502, 503} {
		e := ErrorPage{Status: status}
		for _, s := range []string{e.PageTitle(), e.Text(), e.NextStep()} {
			if s == "" || strings.HasPrefix(s, "error.") {
				t.Errorf("status %d: text %q", status, s)
			}
		}
	}
}

// copyFS returns the embedded files as a MapFS tests can change.
func copyFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseFailsOnBadPages(t *testing.T) {
	cases := map[string]func(m fstest.MapFS){
		"syntax": func(m fstest.MapFS) {
			m["bad.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`)}
		},
		"no content": func(m fstest.MapFS) { m["bad.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}`)} },
		"unknown func": func(m fstest.MapFS) {
			m["bad.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}{{nope}}{{end}}`)}
		},
		"escaping": func(m fstest.MapFS) {
			m["bad.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}<a href="{{if .}}x{{end}}></a>{{end}}`)}
		},
		"missing login":  func(m fstest.MapFS) { delete(m, "login.html") },
		"missing layout": func(m fstest.MapFS) { delete(m, "layout.html") },
	}
	for name, change := range cases {
		m := copyFS(t)
		change(m)
		if _, err := parse(m); err == nil {
			t.Errorf("%s: parse succeeded", name)
		}
	}
	// A new page following the convention is picked up with no code change.
	m := copyFS(t)
	m["consent.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}C{{end}}{{define "wide"}}1{{end}}{{define "content"}}<p>{{.}}</p>{{end}}`)}
	tpl, err := parse(m)
	if err != nil {
		t.Fatal(err)
	}
	rec := render(t, tpl, 200, "consent", "hello")
	if !strings.Contains(rec.Body.String(), `data-wide="1"`) || !strings.Contains(rec.Body.String(), "<p>hello</p>") {
		t.Fatalf("consent page: %s", rec.Body.String())
	}
}

func TestCatalogKeysExist(t *testing.T) {
	re := regexp.MustCompile(`\{\{T "([^"]+)"`)
	plural := regexp.MustCompile(`\{\{TN "([^"]+)"`)
	names, err := fs.Glob(FS, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(FS, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !HasMessage(m[1]) {
				t.Errorf("%s uses unknown message %q", n, m[1])
			}
		}
		for _, m := range plural.FindAllStringSubmatch(string(b), -1) {
			if !HasMessage(m[1]+".one") || !HasMessage(m[1]+".other") {
				t.Errorf("%s uses plural message %q without its .one and .other forms", n, m[1])
			}
		}
	}
	if T("no.such.key") != "no.such.key" {
		t.Error("unknown key should come back as itself")
	}
	if _, err := English.translate("no.such.key"); err == nil {
		t.Error("template function must fail on unknown key")
	}
	if got := T("login.throttled.other", 7); got != "Too many attempts. Try again in 7 minutes." {
		t.Errorf("formatted: %q", got)
	}
}

func TestStaticHandler(t *testing.T) {
	tpl := mustNew(t)
	body := render(t, tpl, 200, "home", pageData{}).Body.String()
	m := regexp.MustCompile(`href="(/static/pico\.classless\.min\.css\?v=[0-9a-f]{16})"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hashed stylesheet link in:\n%s", body)
	}
	h := StaticHandler()
	get := func(target string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := get(m[1])
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("hashed: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "Pico CSS") {
		t.Fatal("not Pico")
	}
	rec = get("/static/facet.css?v=old")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("stale hash: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	etag := rec.Header().Get("ETag")
	if rec := get("/static/facet.css", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", rec.Code)
	}
	// Mounted behind http.StripPrefix too.
	rec = httptest.NewRecorder()
	http.StripPrefix("/static/", h).ServeHTTP(rec, httptest.NewRequest("GET", "/static/facet.css", nil))
	if rec.Code != 200 {
		t.Fatalf("stripped: %d", rec.Code)
	}
	for _, p := range []string{"/static/", "/static/../layout.html", "/static/nope.css", "/layout.html", "/static/./facet.css"} {
		if rec := get(p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
}

func TestStaticFuncUnknownFile(t *testing.T) {
	_, err := staticURL(map[string]string{})("x.css")
	if err == nil {
		t.Fatal("want error")
	}
}
