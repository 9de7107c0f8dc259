package profile

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

func TestCookieAcrossNodesAndTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.30")
		b.register("node@example.com", goodPassword, "", "/")
		// The row id is the hash of the cookie's token, never the token.
		if s, ok := b.current(); !ok || s.ID != sessionID(b.token()) || s.ID == b.token() {
			t.Errorf("row id %q (signed in %v), token %q", s.ID, ok, b.token())
		}
		u, err := url.Parse(e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		cookies := b.client.Jar.Cookies(u)
		if len(cookies) != 1 {
			t.Fatalf("cookies %v", cookies)
		}
		// A second node with the same system secret reads the cookie.
		other, err := newHandler(Config{Secret: e.h.cfg.Secret}, e.store, e.h.Templates, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.Now = e.clock.Now
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
		req.AddCookie(cookies[0])
		if _, ok, err := other.Current(req); !ok || err != nil {
			t.Fatalf("other node: %v %v", ok, err)
		}
		// A node with another secret, or a changed cookie, sees nobody.
		stranger, err := newHandler(Config{Secret: bytes.Repeat([]byte{7}, 32)}, e.store, e.h.Templates, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := stranger.Current(req); ok || err != nil {
			t.Fatalf("other secret: %v %v", ok, err)
		}
		tampered := *cookies[0]
		v := []byte(tampered.Value)
		if v[5] == 'A' {
			v[5] = 'B'
		} else {
			v[5] = 'A'
		}
		tampered.Value = string(v)
		req = httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
		req.AddCookie(&tampered)
		if _, ok, err := e.h.Current(req); ok || err != nil {
			t.Fatalf("tampered: %v %v", ok, err)
		}
	})
}

func TestSecureCookie(t *testing.T) {
	b := sqltest.Backends(t)[0]
	store := b.Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(Config{Issuer: "https://id.example", Secret: bytes.Repeat([]byte{1}, 32), SecureCookies: true}, store, tpl, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	u := createUser(t, store, h.Now(), "sec@example.com", goodPassword, "")
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "https://id.example/login", nil)
	if _, err := h.StartSession(rec, req, u.ID, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-facet_session" || !c[0].Secure || !c[0].HttpOnly ||
		c[0].Path != "/" || c[0].Domain != "" || c[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
	if c[0].MaxAge != int(DefaultSessionAbsolute.Seconds()) {
		t.Errorf("Max-Age %d", c[0].MaxAge)
	}
	if _, err := newHandler(Config{Secret: []byte("short")}, store, tpl, nil); err == nil {
		t.Error("short secret accepted")
	}
}
