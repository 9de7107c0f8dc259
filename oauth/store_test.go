package oauth

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// forEachBackend runs fn against a fresh, migrated database of every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, db storage.Storage)) {
	t.Helper()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

func newTestStore(t *testing.T, db storage.Storage) *store {
	t.Helper()
	_, _, err := registration.Create(t.Context(), db, registration.Spec{ID: "app", Name: "App",
		RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	return &store{
		db:            db,
		clients:       newClientCache(db, time.Now),
		codeSignature: func(_ context.Context, code string) string { return "sig-" + code },
		codeLifespan:  5 * time.Minute,
		now:           time.Now,
	}
}

func newTestRequest(t *testing.T, st *store, id string) *fosite.Request {
	t.Helper()
	c, err := st.GetClient(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	s := newSession()
	s.Subject = "user-1"
	s.Claims.Subject = "user-1"
	s.Claims.AuthTime = time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	s.Claims.AuthenticationMethodsReferences = []string{"pwd"}
	s.Claims.Extra = map[string]any{"email": "a@example.com"}
	s.GrantedAt = time.Now().UTC().Truncate(time.Second)
	for _, k := range []fosite.TokenType{fosite.AuthorizeCode, fosite.AccessToken, fosite.RefreshToken} {
		s.SetExpiresAt(k, time.Now().UTC().Add(time.Hour).Truncate(time.Second))
	}
	return &fosite.Request{
		ID: id, RequestedAt: time.Now().UTC(), Client: c,
		RequestedScope: fosite.Arguments{"openid", "email"}, GrantedScope: fosite.Arguments{"openid", "email"},
		Form:    url.Values{"redirect_uri": {"https://app.example/cb"}, "client_secret": {"s3cret"}, "nonce": {"n-12345678"}},
		Session: s,
	}
}

func TestStoreAuthorizeCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-1")
		if err := st.CreateAuthorizeCodeSession(ctx, "code-sig", req); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetAuthorizeCodeSession(ctx, "code-sig", newSession())
		if err != nil {
			t.Fatal(err)
		}
		if got.GetID() != "req-1" || got.GetClient().GetID() != "app" || !got.GetGrantedScopes().Has("email") {
			t.Fatalf("request not restored: %+v", got)
		}
		if got.GetRequestForm().Get("client_secret") != "" {
			t.Error("client_secret reached storage")
		}
		if got.GetRequestForm().Get("nonce") != "n-12345678" {
			t.Error("nonce not kept")
		}
		sess := got.GetSession().(*Session)
		want := req.Session.(*Session)
		if sess.GetSubject() != "user-1" || !sess.Claims.AuthTime.Equal(want.Claims.AuthTime) ||
			!sess.GrantedAt.Equal(want.GrantedAt) || sess.Claims.Extra["email"] != "a@example.com" ||
			len(sess.Claims.AuthenticationMethodsReferences) != 1 ||
			!sess.GetExpiresAt(fosite.RefreshToken).Equal(want.GetExpiresAt(fosite.RefreshToken)) {
			t.Fatalf("session not restored: %+v %+v", sess, sess.Claims)
		}

		if err := st.InvalidateAuthorizeCodeSession(ctx, "code-sig"); err != nil {
			t.Fatal(err)
		}
		got, err = st.GetAuthorizeCodeSession(ctx, "code-sig", newSession())
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Fatalf("used code: err = %v, want ErrInvalidatedAuthorizeCode", err)
		}
		if got == nil || got.GetID() != "req-1" {
			t.Fatal("used code must come back with its request")
		}
		if err := st.InvalidateAuthorizeCodeSession(ctx, "code-sig"); !errors.Is(err, fosite.ErrSerializationFailure) {
			t.Fatalf("second invalidation: %v, want ErrSerializationFailure", err)
		}
		if _, err := st.GetAuthorizeCodeSession(ctx, "nope", newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("missing code: %v, want ErrNotFound", err)
		}
	})
}

func TestStoreRefreshRotationAndRevocation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-2")
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(st.CreateAccessTokenSession(ctx, "at-1", req))
		must(st.CreateRefreshTokenSession(ctx, "rt-1", "at-1", req))
		must(st.RotateRefreshToken(ctx, "req-2", "rt-1"))

		got, err := st.GetRefreshTokenSession(ctx, "rt-1", newSession())
		if !errors.Is(err, fosite.ErrInactiveToken) || got == nil || got.GetID() != "req-2" {
			t.Fatalf("rotated refresh: req=%v err=%v, want request with ErrInactiveToken", got, err)
		}
		if _, err := st.GetAccessTokenSession(ctx, "at-1", newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("access token of rotated request: %v, want ErrNotFound", err)
		}
		if err := st.RotateRefreshToken(ctx, "req-2", "rt-1"); !errors.Is(err, fosite.ErrSerializationFailure) {
			t.Fatalf("second rotation: %v, want ErrSerializationFailure", err)
		}

		// Revocation by request id ends the whole family.
		must(st.CreateAccessTokenSession(ctx, "at-2", req))
		must(st.CreateAccessTokenSession(ctx, "at-3", req))
		must(st.CreateRefreshTokenSession(ctx, "rt-2", "at-2", req))
		must(st.RevokeAccessToken(ctx, "req-2"))
		must(st.RevokeRefreshToken(ctx, "req-2"))
		for _, sig := range []string{"at-2", "at-3"} {
			if _, err := st.GetAccessTokenSession(ctx, sig, newSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("revoked %s: %v", sig, err)
			}
		}
		if _, err := st.GetRefreshTokenSession(ctx, "rt-2", newSession()); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("revoked refresh: %v, want ErrInactiveToken", err)
		}
		must(st.DeleteRefreshTokenSession(ctx, "rt-2"))
		if _, err := st.GetRefreshTokenSession(ctx, "rt-2", newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("deleted refresh: %v, want ErrNotFound", err)
		}
	})
}

func TestStorePKCEAndOIDC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-3")
		if err := st.CreatePKCERequestSession(ctx, "code-sig", req); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetPKCERequestSession(ctx, "code-sig", newSession()); err != nil {
			t.Fatal(err)
		}
		if err := st.DeletePKCERequestSession(ctx, "code-sig"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetPKCERequestSession(ctx, "code-sig", newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("deleted PKCE: %v", err)
		}

		if err := st.CreateOpenIDConnectSession(ctx, "raw-code", req); err != nil {
			t.Fatal(err)
		}
		// Keyed by the code's signature, never by the raw code.
		if _, err := db.GetToken(ctx, storage.KindOIDC, "sig-raw-code"); err != nil {
			t.Fatalf("OIDC row by signature: %v", err)
		}
		if _, err := db.GetToken(ctx, storage.KindOIDC, "raw-code"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("raw code stored")
		}
		got, err := st.GetOpenIDConnectSession(ctx, "raw-code", fosite.NewAccessRequest(newSession()))
		if err != nil || got.GetSession().GetSubject() != "user-1" {
			t.Fatalf("OIDC session: %v %v", got, err)
		}
		if err := st.DeleteOpenIDConnectSession(ctx, "raw-code"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetOpenIDConnectSession(ctx, "raw-code", fosite.NewAccessRequest(newSession())); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("deleted OIDC: %v", err)
		}
	})
}

func TestStoreTransactions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-4")

		tx, err := st.BeginTX(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccessTokenSession(tx, "at-rolled-back", req); err != nil {
			t.Fatal(err)
		}
		if err := st.Rollback(tx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetAccessTokenSession(ctx, "at-rolled-back", newSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("rolled back token visible: %v", err)
		}

		tx, err = st.BeginTX(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccessTokenSession(tx, "at-committed", req); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(tx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetAccessTokenSession(ctx, "at-committed", newSession()); err != nil {
			t.Fatalf("committed token: %v", err)
		}
	})
}

// TestStoreConcurrentRotation: 16 concurrent rotations of one refresh token, each in its own
// transaction as fosite runs them — exactly one wins, every other gets
// fosite.ErrSerializationFailure (which fosite answers with 400, never 5xx).
func TestStoreConcurrentRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-5")
		if err := st.CreateRefreshTokenSession(ctx, "rt", "at", req); err != nil {
			t.Fatal(err)
		}
		const n = 16
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tx, err := st.BeginTX(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if err := st.RotateRefreshToken(tx, "req-5", "rt"); err != nil {
					errs[i] = err
					_ = st.Rollback(tx)
					return
				}
				errs[i] = st.Commit(tx)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, fosite.ErrSerializationFailure):
				t.Errorf("loser error %v, want ErrSerializationFailure", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d rotations succeeded, want exactly 1", wins)
		}
	})
}
