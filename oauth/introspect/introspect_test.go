package introspect

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestVisible(t *testing.T) {
	for _, c := range []struct {
		caller, client string
		aud            []string
		want           bool
	}{
		{"a", "a", nil, true},
		{"rs", "a", []string{"rs"}, true},
		{"b", "a", nil, false},
		{"b", "a", []string{"rs"}, false},
		{"", "", nil, false},
	} {
		if got := Visible(c.caller, c.client, c.aud); got != c.want {
			t.Errorf("Visible(%q, %q, %v) = %v, want %v", c.caller, c.client, c.aud, got, c.want)
		}
	}
}

func TestMethodAllowed(t *testing.T) {
	for _, c := range []struct {
		registered, used string
		public, want     bool
	}{
		{"client_secret_basic", "client_secret_basic", false, true},
		{"client_secret_post", "client_secret_basic", false, true},
		{"client_secret_post", "client_secret_post", false, true},
		{"client_secret_basic", "client_secret_post", false, false},
		{"client_secret_basic", "none", false, false},
		{"none", "none", true, true},
		{"none", "client_secret_basic", true, false},
		{"client_secret_basic", "", false, false},
	} {
		if got := MethodAllowed(c.registered, c.public, c.used); got != c.want {
			t.Errorf("MethodAllowed(%q, %v, %q) = %v, want %v", c.registered, c.public, c.used, got, c.want)
		}
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, Response{})
	if strings.TrimSpace(rec.Body.String()) != `{"active":false}` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("inactive: %q %v", rec.Body, rec.Header())
	}
	rec = httptest.NewRecorder()
	Write(rec, Response{Active: true, Issuer: "https://id", ClientID: "a", Subject: "u", Scope: "openid",
		Expires: time.Unix(200, 0), IssuedAt: time.Unix(100, 0),
		Extra: map[string]any{"email": "x@example.com", "client_id": "forged", "aud": "forged", "username": "u"}})
	want := `{"active":true,"client_id":"a","email":"x@example.com","exp":200,"iat":100,"iss":"https://id","scope":"openid","sub":"u"}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Errorf("active:\n got %s\nwant %s", got, want)
	}
}
