package profile

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// TestSessionConfig checks that New hands its Config's session settings to the session
// manager (whose own tests cover the cookie itself) and refuses a short secret.
func TestSessionConfig(t *testing.T) {
	store := sqltest.Backends(t)[0].Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(Config{Issuer: "https://id.example", Secret: bytes.Repeat([]byte{1}, 32), SecureCookies: true,
		SessionAbsolute: 48 * time.Hour}, store, tpl, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	u := createUser(t, store, h.Now(), "sec@example.com", goodPassword, "")
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), "POST", "https://id.example/login", nil)
	req.Header.Set("User-Agent", "facet-test/1.0")
	s, err := h.StartSession(rec, req, u.ID, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if s.IP != "192.0.2.1" || s.UserAgent != "facet-test/1.0" {
		t.Errorf("session from %q with %q", s.IP, s.UserAgent)
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-facet_session" || !c[0].Secure || c[0].MaxAge != int((48*time.Hour).Seconds()) {
		t.Fatalf("cookie %+v", c)
	}
	if _, err := newHandler(Config{Secret: []byte("short")}, store, tpl, nil); err == nil {
		t.Error("short secret accepted")
	}
}
