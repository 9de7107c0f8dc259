package oauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// failingLookup is a real storage whose look-up of a family's live refresh token fails.
type failingLookup struct{ storage.Storage }

func (failingLookup) ActiveRefreshToken(context.Context, string) (string, error) {
	return "", errCut
}

// rotateIn runs fosite's refresh writes in a unit opened on ctx.
func rotateIn(t *testing.T, ctx context.Context, st *store, r fosite.Requester, presented, access, refresh string) error {
	t.Helper()
	tx, err := st.BeginTX(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.RotateRefreshToken(tx, r.GetID(), presented),
		st.CreateAccessTokenSession(tx, access, r),
		st.CreateRefreshTokenSession(tx, refresh, access, r),
	} {
		if err != nil {
			t.Fatalf("write in a unit: %v", err)
		}
	}
	if err := st.Commit(tx); err != nil {
		_ = st.Rollback(tx)
		return err
	}
	return nil
}

// TestStoreRefreshGrace: a rotated refresh token read within the grace by a token request
// (its ctx carries the grace) comes back as usable, and the rotation that follows rotates the
// family's live token; without the grace in ctx (introspection, revocation), past the grace,
// or after the family was revoked, it is reuse. A failed look-up is a storage error, never
// reuse (which would revoke the family over an outage).
func TestStoreRefreshGrace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		ctx := t.Context()
		clock := time.Now().UTC()
		st := newTestStore(t, db)
		st.now = func() time.Time { return clock }
		st.refreshGrace = 30 * time.Second
		req := newTestRequest(t, st, "req-g")
		if err := st.CreateRefreshTokenSession(ctx, "rt-0", "at-0", req); err != nil {
			t.Fatal(err)
		}
		if err := rotateIn(t, ctx, st, req, "rt-0", "at-1", "rt-1"); err != nil {
			t.Fatalf("rotation: %v", err)
		}
		rt0, err := db.GetToken(ctx, storage.KindRefreshToken, "rt-0")
		if err != nil || rt0.RotatedAt.IsZero() {
			t.Fatalf("rotated token: RotatedAt %v, err %v; want the rotation time", rt0.RotatedAt, err)
		}

		if _, err := st.GetRefreshTokenSession(ctx, "rt-0", nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("rotated token without the grace in ctx: %v, want ErrInactiveToken", err)
		}
		clock = clock.Add(29 * time.Second)
		gctx := withRefreshGrace(ctx)
		r, err := st.GetRefreshTokenSession(gctx, "rt-0", nil)
		if err != nil || r.GetID() != "req-g" {
			t.Fatalf("rotated token within the grace: %v, %v; want its request", r, err)
		}
		if err := rotateIn(t, gctx, st, r, "rt-0", "at-2", "rt-2"); err != nil {
			t.Fatalf("rotation within the grace: %v", err)
		}
		wantState(t, db, "grace rotation", storage.KindRefreshToken, "rt-1", "inactive")
		wantState(t, db, "grace rotation", storage.KindAccessToken, "at-1", "absent")
		wantState(t, db, "grace rotation", storage.KindRefreshToken, "rt-2", "active")
		wantState(t, db, "grace rotation", storage.KindAccessToken, "at-2", "active")

		// The lookup failing is an error of its own.
		broken := *st
		broken.db = failingLookup{db}
		if _, err := broken.GetRefreshTokenSession(withRefreshGrace(ctx), "rt-0", nil); err == nil || errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("rotated token with a failing look-up: %v, want the storage error", err)
		}

		clock = clock.Add(2 * time.Second) // rt-0 rotated 31s ago
		if _, err := st.GetRefreshTokenSession(withRefreshGrace(ctx), "rt-0", nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("rotated token after the grace: %v, want ErrInactiveToken", err)
		}
		if _, err := st.GetRefreshTokenSession(withRefreshGrace(ctx), "rt-1", nil); err != nil {
			t.Fatalf("rt-1, rotated 2s ago: %v, want it graced", err)
		}
		if err := st.RevokeRefreshToken(ctx, "req-g"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetRefreshTokenSession(withRefreshGrace(ctx), "rt-1", nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("rotated token of a revoked family: %v, want ErrInactiveToken", err)
		}
	})
}
