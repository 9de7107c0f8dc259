package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/storagetest"
)

func wantState(t *testing.T, db storage.Storage, what string, kind storage.TokenKind, sig, want string) {
	t.Helper()
	if got := storagetest.TokenState(t.Context(), t, db, kind, sig); got != want {
		t.Errorf("%s: %s %s is %s, want %s", what, kind, sig, got, want)
	}
}

// refreshUnit runs fosite's refresh writes in one transaction and returns Commit's error
// (after Rollback, as fosite does when Commit fails).
func refreshUnit(t *testing.T, st *store, r fosite.Requester, old, access, refresh string) error {
	t.Helper()
	tx, err := st.BeginTX(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.RotateRefreshToken(tx, r.GetID(), old),
		st.CreateAccessTokenSession(tx, access, r),
		st.CreateRefreshTokenSession(tx, refresh, access, r),
	} {
		if err != nil {
			t.Fatalf("write in a unit: %v", err)
		}
	}
	err = st.Commit(tx)
	if err != nil {
		if rbErr := st.Rollback(tx); rbErr != nil {
			t.Errorf("Rollback after a failed Commit: %v, want nil (fosite would answer 500)", rbErr)
		}
	}
	return err
}

// TestStoreWriteUnit: the writes of fosite's transaction wait for Commit and then apply
// together; a unit that lost its precondition applies nothing and answers fosite's
// serialization failure (400), an absent token fosite's not found.
func TestStoreWriteUnit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-u")
		if err := st.CreateAccessTokenSession(ctx, "at-0", req); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateRefreshTokenSession(ctx, "rt-0", "at-0", req); err != nil {
			t.Fatal(err)
		}

		tx, err := st.BeginTX(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.BeginTX(tx); err == nil {
			t.Error("BeginTX inside an open unit succeeded")
		}
		if err := st.RotateRefreshToken(tx, "req-u", "rt-0"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccessTokenSession(tx, "at-1", req); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateRefreshTokenSession(tx, "rt-1", "at-1", req); err != nil {
			t.Fatal(err)
		}
		// Deferred: nothing written yet.
		wantState(t, db, "before Commit", storage.KindRefreshToken, "rt-0", "active")
		wantState(t, db, "before Commit", storage.KindAccessToken, "at-0", "active")
		wantState(t, db, "before Commit", storage.KindAccessToken, "at-1", "absent")
		if err := st.Commit(tx); err != nil {
			t.Fatal(err)
		}
		wantState(t, db, "after Commit", storage.KindRefreshToken, "rt-0", "inactive")
		wantState(t, db, "after Commit", storage.KindAccessToken, "at-0", "absent")
		wantState(t, db, "after Commit", storage.KindAccessToken, "at-1", "active")
		wantState(t, db, "after Commit", storage.KindRefreshToken, "rt-1", "active")
		if err := st.CreateAccessTokenSession(tx, "at-late", req); err == nil {
			t.Error("a write after Commit succeeded")
		}
		if err := st.Commit(tx); err == nil {
			t.Error("a second Commit succeeded")
		}

		// The old token again: the unit fails at Commit and writes nothing — the request's
		// access token at-1 survives.
		err = refreshUnit(t, st, req, "rt-0", "at-2", "rt-2")
		if !errors.Is(err, fosite.ErrSerializationFailure) {
			t.Fatalf("rotation of a rotated token: %v, want ErrSerializationFailure", err)
		}
		wantState(t, db, "failed unit", storage.KindAccessToken, "at-1", "active")
		wantState(t, db, "failed unit", storage.KindAccessToken, "at-2", "absent")
		wantState(t, db, "failed unit", storage.KindRefreshToken, "rt-2", "absent")

		err = refreshUnit(t, st, req, "rt-nope", "at-3", "rt-3")
		if !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("rotation of an absent token: %v, want ErrNotFound", err)
		}
		wantState(t, db, "unit on an absent token", storage.KindAccessToken, "at-3", "absent")

		// Rollback discards.
		tx, err = st.BeginTX(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.InvalidateAuthorizeCodeSession(tx, "whatever"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAccessTokenSession(tx, "at-4", req); err != nil {
			t.Fatal(err)
		}
		if err := st.Rollback(tx); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(tx); err == nil {
			t.Error("Commit after Rollback succeeded")
		}
		wantState(t, db, "rolled back", storage.KindAccessToken, "at-4", "absent")
		if err := st.Commit(ctx); err == nil {
			t.Error("Commit without a unit succeeded")
		}
		if err := st.Rollback(ctx); err == nil {
			t.Error("Rollback without a unit succeeded")
		}
	})
}

// TestStoreWriteUnitRead: a token read inside a unit that holds writes sees them (the unit
// becomes a real transaction), and later writes join that transaction, committed or rolled
// back with it.
func TestStoreWriteUnitRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-r")
		for _, commit := range []bool{false, true} {
			tx, err := st.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A read before any write needs no transaction.
			if _, err := st.GetAccessTokenSession(tx, "at", newSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("read in an empty unit: %v, want ErrNotFound", err)
			}
			if err := st.CreateAccessTokenSession(tx, "at", req); err != nil {
				t.Fatal(err)
			}
			got, err := st.GetAccessTokenSession(tx, "at", newSession())
			if err != nil || got.GetID() != "req-r" {
				t.Fatalf("read of the unit's own write: %v, %v", got, err)
			}
			if err := st.CreateRefreshTokenSession(tx, "rt", "at", req); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetRefreshTokenSession(tx, "rt", newSession()); err != nil {
				t.Fatalf("read of a write after the transaction began: %v", err)
			}
			end := st.Rollback
			want := "absent"
			if commit {
				end, want = st.Commit, "active"
			}
			if err := end(tx); err != nil {
				t.Fatal(err)
			}
			wantState(t, db, "after the unit's transaction", storage.KindAccessToken, "at", want)
			wantState(t, db, "after the unit's transaction", storage.KindRefreshToken, "rt", want)
		}

		// A unit whose precondition fails when the read applies it: the read answers the
		// conflict, Commit too, and nothing is written.
		if err := st.InvalidateAuthorizeCodeSession(ctx, "none"); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("invalidate an absent code: %v", err)
		}
		if err := st.CreateAuthorizeCodeSession(ctx, "code", req); err != nil {
			t.Fatal(err)
		}
		if err := st.InvalidateAuthorizeCodeSession(ctx, "code"); err != nil {
			t.Fatal(err)
		}
		tx, err := st.BeginTX(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			st.InvalidateAuthorizeCodeSession(tx, "code"),
			st.CreateAccessTokenSession(tx, "at-x", req),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.GetAccessTokenSession(tx, "at-x", newSession()); !errors.Is(err, fosite.ErrSerializationFailure) {
			t.Fatalf("read in a unit that lost its precondition: %v, want ErrSerializationFailure", err)
		}
		if err := st.Commit(tx); !errors.Is(err, fosite.ErrSerializationFailure) {
			t.Fatalf("Commit: %v, want ErrSerializationFailure", err)
		}
		if err := st.Rollback(tx); err != nil {
			t.Fatalf("Rollback after a failed Commit: %v", err)
		}
		wantState(t, db, "failed unit", storage.KindAccessToken, "at-x", "absent")
	})
}

// TestStoreWriteUnitInTx: outside fosite's transactions writes are immediate, also inside
// storage's InTx (the authorize flow), which a refused request rolls back.
func TestStoreWriteUnitInTx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		st := newTestStore(t, db)
		req := newTestRequest(t, st, "req-i")
		boom := errors.New("refused")
		err := db.InTx(t.Context(), func(ctx context.Context) error {
			if err := st.CreateAuthorizeCodeSession(ctx, "code", req); err != nil {
				return err
			}
			if _, err := st.GetAuthorizeCodeSession(ctx, "code", newSession()); err != nil {
				t.Errorf("code not visible inside the transaction: %v", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		wantState(t, db, "after a refused authorization", storage.KindAuthorizeCode, "code", "absent")
	})
}

// TestCodeExchangeRace: 16 concurrent exchanges of one code through the token endpoint.
// The exchange's writes apply at Commit, where all but one find the code used: exactly one
// gets tokens, every other a 400 (never a 5xx: the conflict is invalid_grant).
func TestCodeExchangeRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		s := newTestServer(t, db)
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
		allow := authorizeParams()
		allow.Set(consentField, "allow")
		allow.Set(claimField, "email")
		code := location(t, s.postForm(PathConsent, allow)).Query().Get("code")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"app"},
			"redirect_uri": {"http://127.0.0.1:5555/cb"}, "code_verifier": {verifier}}
		const n = 16
		recs := make([]*httptest.ResponseRecorder, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				recs[i] = s.postForm(PathToken, form)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, rec := range recs {
			switch {
			case rec.Code == http.StatusOK:
				wins++
			case rec.Code != http.StatusBadRequest:
				t.Errorf("a concurrent exchange answered %d: %s", rec.Code, rec.Body)
			}
		}
		if wins != 1 {
			t.Errorf("%d exchanges succeeded, want exactly 1", wins)
		}
	})
}
