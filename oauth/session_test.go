package oauth

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite/token/jwt"

	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/storage"
)

// TestSessionClaimNumbers: numeric claims survive the stored form with their Go types, so
// nothing reaches an ID token as a float in exponent form.
func TestSessionClaimNumbers(t *testing.T) {
	s := newSession()
	s.Subject = "u1"
	s.Claims.Extra = map[string]any{
		"updated_at": int64(1795872616),
		"small":      int64(7),
		"ratio":      1.5,
		"name":       "Alex",
		"verified":   true,
		"address":    map[string]any{"postal_code": "10115", "floor": int64(3)},
		"list":       []any{int64(1), 2.25, "x"},
	}
	w, err := s.stored()
	if err != nil {
		t.Fatal(err)
	}
	back, err := sessionFrom(w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Claims.Extra, back.Claims.Extra); diff != "" {
		t.Fatalf("extra claims changed in the round trip (-want +got):\n%s", diff)
	}
}

func TestClaimNumbers(t *testing.T) {
	for in, want := range map[string]any{
		"1795872616":       int64(1795872616),
		"-3":               int64(-3),
		"1e3":              int64(1000),
		"12.0":             int64(12),
		"0.5":              0.5,
		"1e300":            1e300,
		"9007199254740993": int64(9007199254740993),
	} {
		if got := claimNumbers(json.Number(in)); got != want {
			t.Errorf("claimNumbers(%s) = %#v, want %#v", in, got, want)
		}
	}
}

// TestIDTokenIntegerClaims signs an ID token from a session read back from storage, as the
// token endpoint does, and checks the JWT payload's numbers are plain integers.
func TestIDTokenIntegerClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		s := newTestServer(t, db)
		sess := newSession()
		sess.Subject = "u1"
		c := sess.IDTokenClaims()
		c.Subject = "u1"
		c.Issuer = testIssuer
		c.Audience = []string{"app"}
		c.AuthTime = time.Unix(1795872000, 0)
		c.IssuedAt = time.Now()
		c.ExpiresAt = time.Now().Add(time.Hour)
		c.Extra = map[string]any{"updated_at": int64(1795872616), "given_name": "Alex"}
		w, err := sess.stored()
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := sessionFrom(w)
		if err != nil {
			t.Fatal(err)
		}
		lc := loaded.IDTokenClaims()
		lc.Issuer, lc.Audience, lc.IssuedAt, lc.ExpiresAt = c.Issuer, c.Audience, c.IssuedAt, c.ExpiresAt
		raw, _, err := keys.NewSigner(s.p.keys).Generate(ctx, jwt.MapClaims(lc.ToMap()), &jwt.Headers{})
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(payload), `"updated_at":1795872616`) {
			t.Errorf("updated_at is not a plain integer: %s", payload)
		}
		if m := regexp.MustCompile(`:-?[0-9.]+[eE][+-]?[0-9]+`).FindString(string(payload)); m != "" {
			t.Errorf("a number in exponent form (%s) in %s", m, payload)
		}
	})
}
