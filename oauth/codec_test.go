package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/ory/fosite"
)

// codecRequest is a request as the code exchange stores it: ID-token claims with extra claims,
// expiries, a claims parameter and the form members later steps read.
func codecRequest(t testing.TB, st *store) *fosite.Request {
	c, err := st.GetClient(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	s := newSession()
	s.Subject = "u1"
	s.Claims.Subject = "u1"
	s.Claims.AuthTime = time.Unix(1795872000, 0)
	s.Claims.RequestedAt = time.Unix(1795871990, 0)
	s.Claims.AuthenticationContextClassReference = "0"
	s.Claims.AuthenticationMethodsReferences = []string{"pwd"}
	s.Claims.Extra = map[string]any{"updated_at": int64(1795872616), "sid": "s-1", "address": map[string]any{"country": "DE"}}
	s.GrantedAt = time.Unix(1795872000, 0)
	s.SetExpiresAt(fosite.AccessToken, time.Unix(1795873000, 0))
	s.SetExpiresAt(fosite.RefreshToken, time.Unix(1798464000, 0))
	return &fosite.Request{ID: "req-1", RequestedAt: time.UnixMilli(1795872000123), Client: c,
		RequestedScope: fosite.Arguments{"openid", "email", "offline_access"}, GrantedScope: fosite.Arguments{"openid", "offline_access"},
		RequestedAudience: fosite.Arguments{"api"}, GrantedAudience: fosite.Arguments{"api"},
		Form:    url.Values{"nonce": {"n-1"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {"secret"}},
		Session: s}
}

// legacyJSON is how the request was stored before the binary form.
func legacyJSON(t testing.TB, r *fosite.Request) []byte {
	sr := storedRequest{ID: r.ID, RequestedAt: r.RequestedAt.UnixMilli(), ClientID: r.Client.GetID(),
		Scopes: r.RequestedScope, GrantedScopes: r.GrantedScope, Audience: r.RequestedAudience, GrantedAudience: r.GrantedAudience,
		Form: url.Values{"nonce": {"n-1"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}}, Session: r.Session.(*Session).wire()}
	b, err := json.Marshal(sr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStoredRequestCodec: the binary form round-trips every member later steps read, drops
// the form members that must not be stored, refuses a cut or padded row, and a row written
// as JSON before it decodes to the same request.
func TestStoredRequestCodec(t *testing.T) {
	st := fuzzStore(t)
	ctx := context.Background()
	r := codecRequest(t, st)
	bin, err := encodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if bin[0] != codecV1 {
		t.Fatalf("encodeRequest wrote %q, want the binary form", bin[:1])
	}
	if bytes.Contains(bin, []byte("secret")) {
		t.Error("the code_verifier reached the stored form")
	}
	got, err := st.decodeRequest(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := st.decodeRequest(ctx, legacyJSON(t, r))
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*fosite.Request{"binary": got, "legacy JSON": fromJSON} {
		s := g.Session.(*Session)
		if g.ID != "req-1" || !g.RequestedAt.Equal(r.RequestedAt) || g.Client.GetID() != "app" ||
			g.Form.Get("nonce") != "n-1" || g.Form.Get("redirect_uri") != "http://127.0.0.1:5555/cb" || g.Form.Has("code_verifier") ||
			!g.GrantedScope.Has("offline_access") || len(g.RequestedScope) != 3 || len(g.GrantedAudience) != 1 || g.GrantedAudience[0] != "api" {
			t.Errorf("%s: request = %+v", name, g)
		}
		if s.Subject != "u1" || s.Claims.Subject != "u1" || !s.Claims.AuthTime.Equal(time.Unix(1795872000, 0)) ||
			!s.Claims.RequestedAt.Equal(time.Unix(1795871990, 0)) || s.Claims.AuthenticationContextClassReference != "0" ||
			len(s.Claims.AuthenticationMethodsReferences) != 1 || !s.GrantedAt.Equal(time.Unix(1795872000, 0)) ||
			!s.GetExpiresAt(fosite.RefreshToken).Equal(time.Unix(1798464000, 0)) || !s.GetExpiresAt(fosite.AccessToken).Equal(time.Unix(1795873000, 0)) {
			t.Errorf("%s: session = %+v, claims %+v", name, s, s.Claims)
		}
		if ua, ok := s.Claims.Extra["updated_at"].(int64); !ok || ua != 1795872616 || s.Claims.Extra["sid"] != "s-1" {
			t.Errorf("%s: extra claims = %#v", name, s.Claims.Extra)
		}
		again, err := encodeRequest(g)
		if err != nil || !bytes.Equal(again, bin) {
			t.Errorf("%s: re-encoded = %q, %v; want %q", name, again, err, bin)
		}
	}
	// Every truncation of a valid row is refused, never half-read; so are trailing bytes.
	for i := 1; i < len(bin); i++ {
		if _, err := decodeBinary(bin[:i]); err == nil {
			t.Fatalf("a row cut at %d of %d bytes decoded", i, len(bin))
		}
	}
	if _, err := decodeBinary(append(bin[:len(bin):len(bin)], 0)); err == nil {
		t.Error("trailing bytes were accepted")
	}
}
