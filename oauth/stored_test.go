package oauth

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/ory/fosite"

	"github.com/facetid/facet/oauth/stored"
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

// v1Row is codecRequest as version 1 of the stored form wrote it, byte for byte.
func v1Row(t testing.TB) []byte {
	b, err := hex.DecodeString("01057265712d31f6a180a5c4680361707003066f70656e696405656d61696c0e6f66666c696e655f61636365" +
		"737302066f70656e69640e6f66666c696e655f61636365737301036170690103617069020c72656469726563745f757269011868" +
		"7474703a2f2f3132372e302e302e313a353535352f6362056e6f6e636501036e2d310102753180d4d6b00decd3d6b00d01300103" +
		"707764407b2261646472657373223a7b22636f756e747279223a224445227d2c22736964223a22732d31222c22757064617465" +
		"645f6174223a313739353837323631367d020c6163636573735f746f6b656ed0e3d6b00d0d726566726573685f746f6b656e80" +
		"8893b30d80d4d6b00d00")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStoredRequestCodec: the CBOR form round-trips every member later steps read and drops
// the form members that must not be stored; a row of version 1 decodes to the same request
// and encodes to the same CBOR; a JSON row (a form never written by a release) is refused, and
// so is every cut or padded row.
func TestStoredRequestCodec(t *testing.T) {
	st := fuzzStore(t)
	ctx := context.Background()
	r := codecRequest(t, st)
	row, err := encodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if row[0] != stored.VersionCBOR {
		t.Fatalf("encodeRequest wrote version %#x, want CBOR", row[0])
	}
	if bytes.Contains(row, []byte("secret")) {
		t.Error("the code_verifier reached the stored form")
	}
	got, err := st.decodeRequest(ctx, row)
	if err != nil {
		t.Fatal(err)
	}
	fromV1, err := st.decodeRequest(ctx, v1Row(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*fosite.Request{"cbor": got, "version 1": fromV1} {
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
		if err != nil || !bytes.Equal(again, row) {
			t.Errorf("%s: re-encoded = %x, %v; want %x", name, again, err, row)
		}
	}
	json := `{"id":"r1","at":1700000000123,"client_id":"app","session":{"sub":"u1"}}`
	if _, err := st.decodeRequest(ctx, []byte(json)); err == nil {
		t.Error("a JSON row decoded")
	}
	// Every truncation of a valid row is refused, never half-read; so are trailing bytes.
	for _, valid := range [][]byte{row, v1Row(t)} {
		for i := range len(valid) {
			if _, err := stored.Decode(valid[:i]); err == nil {
				t.Fatalf("a row of version %#x cut at %d of %d bytes decoded", valid[0], i, len(valid))
			}
		}
		if _, err := stored.Decode(append(valid[:len(valid):len(valid)], 0)); err == nil {
			t.Errorf("version %#x: trailing bytes were accepted", valid[0])
		}
	}
}

// cborRow encodes v (a stand-in for a stored request) with the version byte.
func cborRow(t testing.TB, v any) []byte {
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{stored.VersionCBOR}, b...)
}

// TestStoredRequestLayout pins the CBOR layout: a row written by an encoder that knows only
// the documented arrays (not our structs) decodes to the request it describes.
func TestStoredRequestLayout(t *testing.T) {
	st := fuzzStore(t)
	ext := []byte(`{"updated_at":1795872616,"name":"Alex"}`)
	row := cborRow(t, []any{"r1", 1700000000123, "app", []string{"openid", "email"}, []string{"openid"}, []string{"a"}, []string{"a"},
		[]string{"nonce", "n-1", "redirect_uri", "https://app.example/cb"},
		[]any{"u1", 1700000000, 1699999990, "urn:facet:pwd", []string{"pwd"}, ext,
			[]any{[]any{"access_token", 1700003600}, []any{"refresh_token", 1702592000}}, 1699999999,
			`{"userinfo":{"email":null},"id_token":{"name":null}}`}})
	r, err := st.decodeRequest(t.Context(), row)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Session.(*Session)
	c := s.IDTokenClaims()
	if r.ID != "r1" || r.RequestedAt.UnixMilli() != 1700000000123 || r.Client.GetID() != "app" ||
		strings.Join(r.RequestedScope, " ") != "openid email" || strings.Join(r.GrantedScope, " ") != "openid" ||
		r.GrantedAudience[0] != "a" || r.Form.Get("nonce") != "n-1" || r.Form.Get("redirect_uri") != "https://app.example/cb" {
		t.Fatalf("request: %+v", r)
	}
	if s.Subject != "u1" || c.Subject != "u1" || c.AuthTime.Unix() != 1700000000 || c.RequestedAt.Unix() != 1699999990 ||
		c.AuthenticationContextClassReference != "urn:facet:pwd" || c.AuthenticationMethodsReferences[0] != "pwd" ||
		s.GrantedAt.Unix() != 1699999999 || s.GetExpiresAt("access_token").Unix() != 1700003600 ||
		s.GetExpiresAt("refresh_token").Unix() != 1702592000 {
		t.Fatalf("session: %+v %+v", s, c)
	}
	if c.Extra["updated_at"] != int64(1795872616) || c.Extra["name"] != "Alex" {
		t.Fatalf("extra: %#v", c.Extra)
	}
	if strings.Join(s.ClaimsRequest.Userinfo, ",") != "email" || strings.Join(s.ClaimsRequest.IDToken, ",") != "name" {
		t.Fatalf("claims request: %+v", s.ClaimsRequest)
	}
	// No session: CBOR null.
	r, err = st.decodeRequest(t.Context(), cborRow(t, []any{"r2", 1, "app", nil, nil, nil, nil, nil, nil}))
	if err != nil || r.GetSession().GetSubject() != "" {
		t.Fatalf("request without a session: %+v, %v", r, err)
	}
}

// TestEncodeRequestForeignSession: a session of another type is refused on the way in.
func TestEncodeRequestForeignSession(t *testing.T) {
	st := fuzzStore(t)
	r := codecRequest(t, st)
	r.Session = &fosite.DefaultSession{Subject: "u1"}
	if _, err := encodeRequest(r); err == nil {
		t.Error("a session of another type was encoded")
	}
}
