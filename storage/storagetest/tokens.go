package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// Units as fosite's flows make them (see oauth/store.go).

func deactivateW(kind storage.TokenKind, sig string) storage.TokenWrite {
	return storage.TokenWrite{Op: storage.TokenDeactivate, Token: storage.Token{Kind: kind, Signature: sig}}
}

func deleteW(kind storage.TokenKind, sig string) storage.TokenWrite {
	return storage.TokenWrite{Op: storage.TokenDelete, Token: storage.Token{Kind: kind, Signature: sig}}
}

func rotateW(sig string, at time.Time) storage.TokenWrite {
	return storage.TokenWrite{Op: storage.TokenRotate, Token: storage.Token{Kind: storage.KindRefreshToken, Signature: sig, RotatedAt: at}}
}

func revokeW(kind storage.TokenKind, request string) storage.TokenWrite {
	return storage.TokenWrite{Op: storage.TokenRevokeRequest, Token: storage.Token{Kind: kind, RequestID: request}}
}

func createW(t storage.Token) storage.TokenWrite {
	return storage.TokenWrite{Op: storage.TokenCreate, Token: t}
}

// rotation is a refresh: rotate the refresh token (at base+1m), delete the request's access
// tokens, create a new access and refresh token.
func rotation(request, refresh, newAccess, newRefresh string) []storage.TokenWrite {
	return []storage.TokenWrite{
		rotateW(refresh, base.Add(time.Minute)),
		revokeW(storage.KindAccessToken, request),
		createW(newToken(storage.KindAccessToken, newAccess, request, "u1", "app")),
		createW(newToken(storage.KindRefreshToken, newRefresh, request, "u1", "app")),
	}
}

// exchange is a code exchange: invalidate the code, create an access and a refresh token.
func exchange(request, code, access, refresh string) []storage.TokenWrite {
	return []storage.TokenWrite{
		deactivateW(storage.KindAuthorizeCode, code),
		createW(newToken(storage.KindAccessToken, access, request, "u1", "app")),
		createW(newToken(storage.KindRefreshToken, refresh, request, "u1", "app")),
	}
}

// TokenState is "absent", "active" or "inactive": the token (kind, sig) as read with ctx.
func TokenState(ctx context.Context, t testing.TB, s storage.Storage, kind storage.TokenKind, sig string) string {
	t.Helper()
	tok, err := s.GetToken(ctx, kind, sig)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "absent"
	case err != nil:
		t.Fatal(err)
	case tok.Active:
		return "active"
	}
	return "inactive"
}

// wantStates checks the state of tokens named "code:sig", "at:sig" or "rt:sig".
func wantStates(ctx context.Context, t testing.TB, s storage.Storage, what string, want map[string]string) {
	t.Helper()
	kinds := map[string]storage.TokenKind{"code": storage.KindAuthorizeCode, "at": storage.KindAccessToken, "rt": storage.KindRefreshToken}
	for key, w := range want {
		var kind, sig string
		for k := range kinds {
			if len(key) > len(k) && key[:len(k)+1] == k+":" {
				kind, sig = k, key[len(k)+1:]
			}
		}
		if got := TokenState(ctx, t, s, kinds[kind], sig); got != w {
			t.Errorf("%s: %s is %s, want %s", what, key, got, w)
		}
	}
}

// testTokenWrites: a unit applies all of its writes or none. A failed precondition
// (ErrConflict when the token is inactive, ErrNotFound when absent) or a taken signature
// leaves nothing behind, not even the writes before the failing one.
func testTokenWrites(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createToken(t, s, newToken(storage.KindRefreshToken, "rt0", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "at0", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "other", "req-2", "u1", "app"))

	// A rotation applies every write.
	must(t, s.ApplyTokenWrites(ctx, rotation("req", "rt0", "at1", "rt1")))
	wantStates(ctx, t, s, "rotation", map[string]string{
		"rt:rt0": "inactive", "at:at0": "absent", "at:other": "active", "at:at1": "active", "rt:rt1": "active",
	})
	got, err := s.GetToken(ctx, storage.KindAccessToken, "at1")
	must(t, err)
	wantT := newToken(storage.KindAccessToken, "at1", "req", "u1", "app")
	wantT.RequestedAt, wantT.ExpiresAt = at(0), want(wantT.ExpiresAt)
	diff(t, "token created by a unit", wantT, got)

	// Rotating the rotated token again: ErrConflict, and neither the delete of the request's
	// access tokens (at1) nor the inserts apply.
	err = s.ApplyTokenWrites(ctx, rotation("req", "rt0", "at2", "rt2"))
	wantErr(t, err, storage.ErrConflict, "rotation of an inactive token")
	if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("rotation of an inactive token is also ErrNotFound: %v", err)
	}
	wantStates(ctx, t, s, "failed rotation", map[string]string{"at:at1": "active", "at:at2": "absent", "rt:rt2": "absent"})

	// An absent token: ErrNotFound, nothing written.
	err = s.ApplyTokenWrites(ctx, rotation("req", "nope", "at3", "rt3"))
	wantErr(t, err, storage.ErrNotFound, "rotation of an absent token")
	wantStates(ctx, t, s, "rotation of an absent token", map[string]string{"at:at1": "active", "at:at3": "absent", "rt:rt3": "absent"})

	// A taken signature after a precondition that held: ErrAlreadyExists, and the code stays
	// active (its deactivation is undone) while the other insert is absent.
	createToken(t, s, newToken(storage.KindAuthorizeCode, "code", "req-c", "u1", "app"))
	err = s.ApplyTokenWrites(ctx, exchange("req-c", "code", "at4", "rt1"))
	wantErr(t, err, storage.ErrAlreadyExists, "exchange with a taken refresh signature")
	wantStates(ctx, t, s, "exchange with a taken signature", map[string]string{"code:code": "active", "at:at4": "absent"})
	must(t, s.ApplyTokenWrites(ctx, exchange("req-c", "code", "at4", "rt4")))
	wantStates(ctx, t, s, "exchange", map[string]string{"code:code": "inactive", "at:at4": "active", "rt:rt4": "active"})
	wantErr(t, s.ApplyTokenWrites(ctx, exchange("req-c", "code", "at5", "rt5")), storage.ErrConflict, "second exchange")
	wantStates(ctx, t, s, "second exchange", map[string]string{"at:at5": "absent", "rt:rt5": "absent"})

	// Without a precondition (reuse detection revokes a family): a taken signature undoes
	// the writes before it too.
	err = s.ApplyTokenWrites(ctx, []storage.TokenWrite{
		deleteW(storage.KindAccessToken, "at4"),
		createW(newToken(storage.KindAccessToken, "at1", "req", "u1", "app")),
	})
	wantErr(t, err, storage.ErrAlreadyExists, "unit without precondition, taken signature")
	wantStates(ctx, t, s, "unit without precondition", map[string]string{"at:at4": "active"})
	createToken(t, s, newToken(storage.KindRefreshToken, "rt6", "req", "u1", "app"))
	must(t, s.ApplyTokenWrites(ctx, []storage.TokenWrite{
		deleteW(storage.KindRefreshToken, "rt1"),
		revokeW(storage.KindRefreshToken, "req"),
		revokeW(storage.KindAccessToken, "req"),
	}))
	wantStates(ctx, t, s, "family revocation", map[string]string{
		"rt:rt1": "absent", "rt:rt6": "inactive", "at:at1": "absent", "at:other": "active", "rt:rt4": "active",
	})

	// Writes apply in order: a token created and then deactivated in one unit ends inactive.
	must(t, s.ApplyTokenWrites(ctx, []storage.TokenWrite{
		createW(newToken(storage.KindAuthorizeCode, "code7", "req-7", "u1", "app")),
		deactivateW(storage.KindAuthorizeCode, "code7"),
	}))
	wantStates(ctx, t, s, "create then deactivate", map[string]string{"code:code7": "inactive"})

	must(t, s.ApplyTokenWrites(ctx, nil))
	if err := s.ApplyTokenWrites(ctx, []storage.TokenWrite{{Token: storage.Token{Kind: storage.KindAccessToken}}}); err == nil {
		t.Error("a write without an op succeeded")
	}
}

// testTokenWritesInTx: inside a transaction carried by ctx a unit joins it; a failed unit is
// undone alone and the transaction goes on.
func testTokenWritesInTx(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createToken(t, s, newToken(storage.KindRefreshToken, "rt0", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindRefreshToken, "used", "req-u", "u1", "app"))
	must(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "used"))

	for _, commit := range []bool{false, true} {
		err := s.InTx(ctx, func(ctx context.Context) error {
			wantErr(t, s.ApplyTokenWrites(ctx, rotation("req-u", "used", "at-x", "rt-x")), storage.ErrConflict, "failed unit in a transaction")
			err := s.ApplyTokenWrites(ctx, []storage.TokenWrite{
				createW(newToken(storage.KindAccessToken, "at-y", "req", "u1", "app")),
				createW(newToken(storage.KindRefreshToken, "rt0", "req", "u1", "app")), // taken
			})
			wantErr(t, err, storage.ErrAlreadyExists, "unit with a taken signature in a transaction")
			if err := s.ApplyTokenWrites(ctx, rotation("req", "rt0", "at1", "rt1")); err != nil {
				return err
			}
			wantStates(ctx, t, s, "inside the transaction", map[string]string{
				"rt:rt0": "inactive", "at:at1": "active", "at:at-x": "absent", "at:at-y": "absent",
			})
			if !commit {
				return errors.New("roll back")
			}
			return nil
		})
		if commit {
			must(t, err)
			wantStates(ctx, t, s, "after commit", map[string]string{"rt:rt0": "inactive", "at:at1": "active", "rt:rt1": "active"})
		} else {
			wantStates(ctx, t, s, "after rollback", map[string]string{"rt:rt0": "active", "at:at1": "absent", "rt:rt1": "absent"})
		}
	}
}

// testTokenWritesRace: 16 concurrent units rotating one refresh token (and 16 exchanging one
// code): exactly one applies, every other fails with ErrConflict — never another error, which
// would become a 500 — and writes nothing: exactly two new rows.
func testTokenWritesRace(t *testing.T, s storage.Storage) {
	for _, flow := range []struct {
		name string
		seed storage.Token
		unit func(i int) []storage.TokenWrite
	}{
		{"refresh", newToken(storage.KindRefreshToken, "rt", "req", "u1", "app"), func(i int) []storage.TokenWrite {
			return rotation("req", "rt", fmt.Sprint("at-", i), fmt.Sprint("rt-", i))
		}},
		{"code", newToken(storage.KindAuthorizeCode, "code", "req", "u1", "app"), func(i int) []storage.TokenWrite {
			return exchange("req", "code", fmt.Sprint("at-", i), fmt.Sprint("rt-", i))
		}},
	} {
		t.Run(flow.name, func(t *testing.T) {
			ctx := t.Context()
			createToken(t, s, flow.seed)
			createToken(t, s, newToken(storage.KindAccessToken, "at-old", "req", "u1", "app"))
			const n = 16
			errs := concurrently(n, func(i int) error { return s.ApplyTokenWrites(ctx, flow.unit(i)) })
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner < 0:
					winner = i
				case err == nil:
					t.Errorf("units %d and %d both applied", winner, i)
				case !errors.Is(err, storage.ErrConflict):
					t.Errorf("unit %d: %v, want ErrConflict", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no unit applied")
			}
			rows := 0
			for i := range n {
				for _, key := range []string{fmt.Sprint("at:at-", i), fmt.Sprint("rt:rt-", i)} {
					kind, sig := storage.KindAccessToken, key[3:]
					if key[:3] == "rt:" {
						kind = storage.KindRefreshToken
					}
					if TokenState(ctx, t, s, kind, sig) != "absent" {
						rows++
						if i != winner {
							t.Errorf("losing unit %d left %s", i, key)
						}
					}
				}
			}
			if rows != 2 {
				t.Errorf("%d new rows, want 2", rows)
			}
			if st := TokenState(ctx, t, s, flow.seed.Kind, flow.seed.Signature); st != "inactive" {
				t.Errorf("%s is %s, want inactive", flow.seed.Kind, st)
			}
			if flow.name == "refresh" && TokenState(ctx, t, s, storage.KindAccessToken, "at-old") != "absent" {
				t.Error("the rotated request's access token survived")
			}
			// Clean up for the next flow: the new rows share the signatures.
			for i := range n {
				must(t, s.DeleteToken(ctx, storage.KindAccessToken, fmt.Sprint("at-", i)))
				must(t, s.DeleteToken(ctx, storage.KindRefreshToken, fmt.Sprint("rt-", i)))
			}
			must(t, s.DeleteToken(ctx, storage.KindAccessToken, "at-old"))
		})
	}
}

// testRotatedAt: a rotation records when the refresh token was rotated, in every unit form;
// deactivation and revocation record nothing, and a failed rotation changes nothing.
func testRotatedAt(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	rotatedAt := func(sig string) time.Time {
		t.Helper()
		tok, err := s.GetToken(ctx, storage.KindRefreshToken, sig)
		must(t, err)
		return tok.RotatedAt
	}
	createToken(t, s, newToken(storage.KindRefreshToken, "rt0", "req", "u1", "app"))
	if got := rotatedAt("rt0"); !got.IsZero() {
		t.Errorf("new refresh token: RotatedAt = %v, want zero", got)
	}
	// A rotation as fosite's refresh makes it (one statement on PostgreSQL).
	must(t, s.ApplyTokenWrites(ctx, rotation("req", "rt0", "at1", "rt1")))
	if got := rotatedAt("rt0"); !got.Equal(at(time.Minute)) {
		t.Errorf("rotated refresh token: RotatedAt = %v, want %v", got, at(time.Minute))
	}
	if got := rotatedAt("rt1"); !got.IsZero() {
		t.Errorf("its successor: RotatedAt = %v, want zero", got)
	}
	// A second rotation of it fails and keeps the first time.
	err := s.ApplyTokenWrites(ctx, []storage.TokenWrite{rotateW("rt0", base.Add(time.Hour))})
	wantErr(t, err, storage.ErrConflict, "rotation of a rotated token")
	if got := rotatedAt("rt0"); !got.Equal(at(time.Minute)) {
		t.Errorf("after a failed rotation: RotatedAt = %v, want %v", got, at(time.Minute))
	}
	// The same unit inside a transaction (a savepoint).
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		return s.ApplyTokenWrites(ctx, []storage.TokenWrite{rotateW("rt1", base.Add(2*time.Minute))})
	}))
	if got := rotatedAt("rt1"); !got.Equal(at(2 * time.Minute)) {
		t.Errorf("rotated in a transaction: RotatedAt = %v, want %v", got, at(2*time.Minute))
	}
	// Revoked and deactivated refresh tokens were not rotated.
	createToken(t, s, newToken(storage.KindRefreshToken, "rt-revoked", "req-r", "u1", "app"))
	createToken(t, s, newToken(storage.KindRefreshToken, "rt-off", "req-d", "u1", "app"))
	must(t, s.RevokeRequest(ctx, storage.KindRefreshToken, "req-r"))
	must(t, s.DeactivateToken(ctx, storage.KindRefreshToken, "rt-off"))
	createToken(t, s, newToken(storage.KindRefreshToken, "rt-subject", "req-s", "u2", "app"))
	if _, err := s.RevokeSubject(ctx, "u2", ""); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"rt-revoked", "rt-off", "rt-subject"} {
		if got := rotatedAt(sig); !got.IsZero() {
			t.Errorf("%s: RotatedAt = %v, want zero", sig, got)
		}
	}
}

// testActiveRefreshToken: a request's one active refresh token through its rotations; none
// once revoked. Of 16 concurrent units rotating the active token, one applies, and the
// request still has exactly one active refresh token.
func testActiveRefreshToken(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	active := func(request string) string {
		t.Helper()
		sig, err := s.ActiveRefreshToken(ctx, request)
		if errors.Is(err, storage.ErrNotFound) {
			return "none"
		}
		must(t, err)
		return sig
	}
	createToken(t, s, newToken(storage.KindAuthorizeCode, "code", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindRefreshToken, "other", "req-2", "u1", "app"))
	if got := active("req"); got != "none" {
		t.Errorf("request without a refresh token: %q, want none", got)
	}
	must(t, s.ApplyTokenWrites(ctx, exchange("req", "code", "at0", "rt0")))
	if got := active("req"); got != "rt0" {
		t.Errorf("after the exchange: %q, want rt0", got)
	}
	must(t, s.ApplyTokenWrites(ctx, rotation("req", "rt0", "at1", "rt1")))
	if got := active("req"); got != "rt1" {
		t.Errorf("after a rotation: %q, want rt1", got)
	}

	const n = 16
	errs := concurrently(n, func(i int) error {
		return s.ApplyTokenWrites(ctx, rotation("req", "rt1", fmt.Sprint("at-", i), fmt.Sprint("rt-", i)))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("rotations %d and %d both applied", winner, i)
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("rotation %d: %v, want ErrConflict", i, err)
		}
	}
	if got, want := active("req"), fmt.Sprint("rt-", winner); got != want {
		t.Errorf("after concurrent rotations: %q, want the winner's %q", got, want)
	}
	live := 0
	for i := range n {
		if TokenState(ctx, t, s, storage.KindRefreshToken, fmt.Sprint("rt-", i)) == "active" {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d active refresh tokens of the request, want 1", live)
	}

	must(t, s.RevokeRequest(ctx, storage.KindRefreshToken, "req"))
	if got := active("req"); got != "none" {
		t.Errorf("after revocation: %q, want none", got)
	}
	if got := active("req-2"); got != "other" {
		t.Errorf("another request: %q, want other", got)
	}
}
