package session

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// newManager builds a Manager with cfg on store.
func newManager(t *testing.T, cfg Config, store Store) *Manager {
	t.Helper()
	m, err := New(cfg, Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// createUser stores an active account for sessions to belong to.
func createUser(t *testing.T, store storage.Storage, email string) storage.User {
	t.Helper()
	now := time.Now().UTC()
	u := storage.User{ID: rand.Text(), Email: email, Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// withCookie is a request carrying c.
func withCookie(t *testing.T, c *http.Cookie) *http.Request {
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
	req.AddCookie(c)
	return req
}

func TestCookieAcrossNodesAndTampering(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			secret := make([]byte, 32)
			rand.Read(secret)
			m := newManager(t, Config{Secret: secret}, store)
			u := createUser(t, store, "node@example.com")
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(t.Context(), "POST", "/login", nil)
			if _, err := m.Start(rec, req, Login{UserID: u.ID, AMR: []string{"pwd"}}); err != nil {
				t.Fatal(err)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %v", cookies)
			}
			// The row id is the hash of the cookie's token, never the token.
			tok := m.Token(withCookie(t, cookies[0]))
			if s, ok, err := m.Current(withCookie(t, cookies[0])); err != nil || !ok || s.ID != ID(tok) || s.ID == tok {
				t.Errorf("row id %q (signed in %v, %v), token %q", s.ID, ok, err, tok)
			}
			// A second node with the same system secret reads the cookie.
			other := newManager(t, Config{Secret: secret}, store)
			if _, ok, err := other.Current(withCookie(t, cookies[0])); !ok || err != nil {
				t.Fatalf("other node: %v %v", ok, err)
			}
			// A node with another secret, or a changed cookie, sees nobody.
			stranger := newManager(t, Config{Secret: bytes.Repeat([]byte{7}, 32)}, store)
			if _, ok, err := stranger.Current(withCookie(t, cookies[0])); ok || err != nil {
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
			if _, ok, err := m.Current(withCookie(t, &tampered)); ok || err != nil {
				t.Fatalf("tampered: %v %v", ok, err)
			}
		})
	}
}

func TestSecureCookie(t *testing.T) {
	b := sqltest.Backends(t)[0]
	store := b.Open(t)
	m := newManager(t, Config{Secret: bytes.Repeat([]byte{1}, 32), SecureCookies: true}, store)
	u := createUser(t, store, "sec@example.com")
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "https://id.example/login", nil)
	if _, err := m.Start(rec, req, Login{UserID: u.ID, AMR: []string{"pwd"}}); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-facet_session" || !c[0].Secure || !c[0].HttpOnly ||
		c[0].Path != "/" || c[0].Domain != "" || c[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
	if c[0].MaxAge != int(DefaultAbsolute.Seconds()) {
		t.Errorf("Max-Age %d", c[0].MaxAge)
	}
	if _, err := New(Config{Secret: []byte("short")}, Deps{Store: store}); err == nil {
		t.Error("short secret accepted")
	}
}
