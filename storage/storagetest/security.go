package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testLoginFailures: a tally counts up, starts again after its memory, and resets; 16
// concurrent failures lose none.
func testLoginFailures(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	n, last, err := s.LoginFailures(ctx, "k")
	must(t, err)
	if n != 0 || !last.IsZero() {
		t.Fatalf("no tally = %d, %v", n, last)
	}
	for i := 1; i <= 3; i++ {
		n, err := s.AddLoginFailure(ctx, "k", at(time.Duration(i)*time.Minute), at(0))
		must(t, err)
		if n != i {
			t.Fatalf("failure %d counted %d", i, n)
		}
	}
	n, last, err = s.LoginFailures(ctx, "k")
	must(t, err)
	if n != 3 || !last.Equal(at(3*time.Minute)) {
		t.Fatalf("tally = %d, %v; want 3, %v", n, last, at(3*time.Minute))
	}
	// The last failure (at 3) is before forgetBefore (at 4): the tally starts again.
	n, err = s.AddLoginFailure(ctx, "k", at(10*time.Minute), at(4*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("after the memory: %d, want 1", n)
	}
	must(t, s.ResetLoginFailures(ctx, "k"))
	must(t, s.ResetLoginFailures(ctx, "k"))
	if n, _, err := s.LoginFailures(ctx, "k"); err != nil || n != 0 {
		t.Fatalf("after reset: %d, %v", n, err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AddLoginFailure(ctx, "race", at(1), at(0)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, _, err := s.LoginFailures(ctx, "race"); err != nil || n != 16 {
		t.Fatalf("16 concurrent failures counted %d, %v", n, err)
	}
}

// testTOTP: an unconfirmed app may be replaced, a confirmed one not; a time step is accepted
// once and never an earlier one; the row goes with the user.
func testTOTP(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	_, err := s.GetTOTP(ctx, "u1")
	wantErr(t, err, storage.ErrNotFound, "GetTOTP before setup")
	wantErr(t, s.UseTOTPStep(ctx, "u1", 5), storage.ErrNotFound, "UseTOTPStep without an app")
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", Secret: []byte("one"), CreatedAt: base}))
	must(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", Secret: []byte("two"), CreatedAt: base}))
	got, err := s.GetTOTP(ctx, "u1")
	must(t, err)
	diff(t, "GetTOTP", storage.TOTP{UserID: "u1", Secret: []byte("two"), CreatedAt: at(0)}, got)
	must(t, s.UseTOTPStep(ctx, "u1", 100))
	wantErr(t, s.UseTOTPStep(ctx, "u1", 100), storage.ErrConflict, "the same step again")
	wantErr(t, s.UseTOTPStep(ctx, "u1", 99), storage.ErrConflict, "an earlier step")
	must(t, s.UseTOTPStep(ctx, "u1", 101))
	got, err = s.GetTOTP(ctx, "u1")
	must(t, err)
	if !got.Confirmed || got.LastStep != 101 {
		t.Fatalf("after use: %+v", got)
	}
	wantErr(t, s.PutTOTP(ctx, storage.TOTP{UserID: "u1", Secret: []byte("three"), CreatedAt: base}), storage.ErrAlreadyExists, "PutTOTP over a confirmed app")
	// 16 concurrent uses of one step: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.UseTOTPStep(ctx, "u1", 200); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("16 concurrent uses of one step: %d accepted", wins)
	}
	must(t, s.DeleteTOTP(ctx, "u1"))
	must(t, s.DeleteTOTP(ctx, "u1"))
	_, err = s.GetTOTP(ctx, "u1")
	wantErr(t, err, storage.ErrNotFound, "GetTOTP after delete")
}

// testRecoveryCodes: a code works once, a new set replaces the old, another user's hash
// is not found.
func testRecoveryCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{[]byte("a"), []byte("b"), []byte("c")}, base))
	count := func(user string, want int) {
		t.Helper()
		n, err := s.CountRecoveryCodes(ctx, user)
		must(t, err)
		if n != want {
			t.Fatalf("CountRecoveryCodes(%s) = %d, want %d", user, n, want)
		}
	}
	count("u1", 3)
	count("u2", 0)
	wantErr(t, s.UseRecoveryCode(ctx, "u2", []byte("a"), base), storage.ErrNotFound, "another user's code")
	must(t, s.UseRecoveryCode(ctx, "u1", []byte("a"), base.Add(time.Minute)))
	wantErr(t, s.UseRecoveryCode(ctx, "u1", []byte("a"), base.Add(time.Minute)), storage.ErrNotFound, "a used code")
	count("u1", 2)
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{[]byte("x")}, base))
	count("u1", 1)
	wantErr(t, s.UseRecoveryCode(ctx, "u1", []byte("b"), base), storage.ErrNotFound, "a code of the old set")
	must(t, s.DeleteRecoveryCodes(ctx, "u1"))
	count("u1", 0)
}
