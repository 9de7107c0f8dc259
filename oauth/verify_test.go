package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func TestVerifyAccessToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		s := newTestServer(t, db)
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
		if err := s.p.consent.Grant(ctx, "u1", "app", []string{"openid", "email", "offline_access"}, []string{"email"}); err != nil {
			t.Fatal(err)
		}
		loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil)))
		rec := s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token: %d %s", rec.Code, rec.Body)
		}

		sub, clientID, scopes, err := s.p.VerifyAccessToken(ctx, tok.AccessToken)
		if err != nil || sub != "u1" || clientID != "app" || !slices.Contains(scopes, "email") || !slices.Contains(scopes, "openid") {
			t.Fatalf("VerifyAccessToken = %q %q %v %v", sub, clientID, scopes, err)
		}

		// A refresh token, garbage, an empty string: not active access tokens.
		for name, raw := range map[string]string{"refresh token": tok.RefreshToken, "garbage": "not.a.token", "empty": "", "invalid UTF-8": "\xff\xfe"} {
			if _, _, _, err := s.p.VerifyAccessToken(ctx, raw); !errors.Is(err, ErrTokenInactive) {
				t.Errorf("%s: err = %v, want ErrTokenInactive", name, err)
			}
		}

		// A client_credentials token acts for the client, not a user.
		rec = s.postForm(PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, "rs", s.secret)
		var cc struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &cc); err != nil || cc.AccessToken == "" {
			t.Fatalf("client_credentials: %d %s", rec.Code, rec.Body)
		}
		if _, _, _, err := s.p.VerifyAccessToken(ctx, cc.AccessToken); !errors.Is(err, ErrTokenInactive) {
			t.Errorf("client_credentials token: err = %v, want ErrTokenInactive", err)
		}

		// Revoked: inactive.
		if rec = s.postForm(PathRevoke, url.Values{"token": {tok.AccessToken}, "client_id": {"app"}}); rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		if _, _, _, err := s.p.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, ErrTokenInactive) {
			t.Errorf("revoked token: err = %v, want ErrTokenInactive", err)
		}
	})
}
