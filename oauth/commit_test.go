package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/storage"
)

// lostAnswer is a real storage whose token units can fail the way a cut connection fails
// them: after applying the unit (the database committed, the answer never came back), or
// before (nothing applied).
type lostAnswer struct {
	storage.Storage
	after, before atomic.Bool
}

var errCut = errors.New("read tcp 127.0.0.1:5432: connection reset by peer")

func (l *lostAnswer) ApplyTokenWrites(ctx context.Context, writes []storage.TokenWrite) error {
	if l.before.Load() {
		return errCut
	}
	if err := l.Storage.ApplyTokenWrites(ctx, writes); err != nil {
		return err
	}
	if l.after.Load() {
		return errCut
	}
	return nil
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// codeTokens runs the code flow for u1 and returns the exchange's tokens.
func codeTokens(t *testing.T, s *testServer) tokenPair {
	t.Helper()
	s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
	if err := s.p.consent.Grant(t.Context(), "u1", "app", []string{"openid", "email", "offline_access"}, []string{"email", "email_verified"}); err != nil {
		t.Fatal(err)
	}
	loc := location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil)))
	rec := s.postForm(PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}})
	var tok tokenPair
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.RefreshToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	return tok
}

func (s *testServer) refresh(token string) (*httptest.ResponseRecorder, tokenPair) {
	rec := s.postForm(PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {"app"}})
	var tok tokenPair
	if rec.Code == http.StatusOK {
		_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	}
	return rec, tok
}

// TestRefreshCommitAnswerLost: a refresh whose unit the database applied but whose answer
// was lost succeeds — its tokens exist and work — instead of answering 500 for them. One that
// failed before applying still fails, and changed nothing: the refresh token still works.
func TestRefreshCommitAnswerLost(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		lost := &lostAnswer{Storage: db}
		s := newTestServer(t, lost)
		tok := codeTokens(t, s)

		lost.after.Store(true)
		rec, next := s.refresh(tok.RefreshToken)
		lost.after.Store(false)
		if rec.Code != http.StatusOK || next.RefreshToken == "" || next.AccessToken == "" {
			t.Fatalf("refresh whose commit answer was lost: %d %s, want 200 and the committed tokens", rec.Code, rec.Body)
		}
		req := httptest.NewRequest(http.MethodGet, PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+next.AccessToken)
		if rec := s.do(req); rec.Code != http.StatusOK {
			t.Fatalf("userinfo with the access token of that refresh: %d %s", rec.Code, rec.Body)
		}

		lost.before.Store(true)
		rec, _ = s.refresh(next.RefreshToken)
		lost.before.Store(false)
		if rec.Code < 500 {
			t.Fatalf("refresh that failed before applying: %d %s, want a 5xx", rec.Code, rec.Body)
		}
		if rec, _ := s.refresh(next.RefreshToken); rec.Code != http.StatusOK {
			t.Fatalf("refresh token after a failed unit: %d %s, want 200", rec.Code, rec.Body)
		}
	})
}

// keysCut is a real storage whose signing keys become unreadable on demand.
type keysCut struct {
	storage.Storage
	cut atomic.Bool
}

func (k *keysCut) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	if k.cut.Load() {
		return nil, errCut
	}
	return k.Storage.ListSigningKeys(ctx)
}

// TestRefreshIDTokenAfterCommit: with id_token_on_refresh, the ID token is signed after the
// rotation committed; when that fails the refresh still answers its (stored, valid) tokens,
// without an ID token (OIDC Core §12.2), instead of a 500 that would leave the client with a
// rotated refresh token only.
func TestRefreshIDTokenAfterCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		failing := &keysCut{Storage: db}
		s := newTestServer(t, failing, func(c *Config) { c.IDTokenOnRefresh, c.Now = true, now })
		tok := codeTokens(t, s)

		failing.cut.Store(true)
		offset.Store(int64(keys.CacheTTL + time.Second)) // the key cache reloads, and fails
		rec, next := s.refresh(tok.RefreshToken)
		failing.cut.Store(false)
		if rec.Code != http.StatusOK || next.RefreshToken == "" || next.AccessToken == "" {
			t.Fatalf("refresh whose ID token could not be signed: %d %s, want 200 with the rotated tokens", rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] != nil {
			t.Fatalf("refresh response: %s, want no id_token", rec.Body)
		}
		rec, again := s.refresh(next.RefreshToken)
		if rec.Code != http.StatusOK {
			t.Fatalf("refresh with the token of that response: %d %s", rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] == nil || again.AccessToken == "" {
			t.Fatalf("refresh once the keys are back: %s, want an id_token", rec.Body)
		}
	})
}
