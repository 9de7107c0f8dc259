package storagetest

import (
	"slices"
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

// testLoginChallenges: a challenge is read while live, counts wrong answers, completes once
// (of 16 concurrent deletes one wins), expires and is swept; a session
// is elevated in place.
func testLoginChallenges(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	c := storage.LoginChallenge{IDHash: []byte("hash-1"), UserID: "u1", AMR: []string{"pwd"}, ReturnTo: "/profile",
		CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.PutLoginChallenge(ctx, c))
	got, err := s.GetLoginChallenge(ctx, []byte("hash-1"), base.Add(time.Minute))
	must(t, err)
	c.CreatedAt, c.ExpiresAt = at(0), at(5*time.Minute)
	diff(t, "GetLoginChallenge", c, got)
	_, err = s.GetLoginChallenge(ctx, []byte("hash-1"), base.Add(5*time.Minute))
	wantErr(t, err, storage.ErrNotFound, "GetLoginChallenge at its expiry")
	_, err = s.GetLoginChallenge(ctx, []byte("other"), base)
	wantErr(t, err, storage.ErrNotFound, "GetLoginChallenge of an unknown hash")
	for i := 1; i <= 3; i++ {
		n, err := s.CountChallengeAttempt(ctx, []byte("hash-1"))
		must(t, err)
		if n != i {
			t.Fatalf("attempt %d counted %d", i, n)
		}
	}
	_, err = s.CountChallengeAttempt(ctx, []byte("other"))
	wantErr(t, err, storage.ErrNotFound, "CountChallengeAttempt of an unknown hash")

	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DeleteLoginChallenge(ctx, []byte("hash-1")); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("16 concurrent completions: %d won", wins)
	}

	// A new challenge sweeps the ones expired before it.
	must(t, s.PutLoginChallenge(ctx, storage.LoginChallenge{IDHash: []byte("old"), UserID: "u1", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}))
	must(t, s.PutLoginChallenge(ctx, storage.LoginChallenge{IDHash: []byte("new"), UserID: "u1", CreatedAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour + time.Minute)}))
	wantErr(t, s.DeleteLoginChallenge(ctx, []byte("old")), storage.ErrNotFound, "the expired challenge after a sweep")
	_, err = s.GetLoginChallenge(ctx, []byte("new"), base.Add(time.Hour))
	must(t, err)

	createUser(t, s, "u2")
	se := newSession("s2", "u2")
	must(t, s.CreateSession(ctx, se))
	must(t, s.ElevateSession(ctx, "s2", []string{"pwd", "otp", "mfa"}, base.Add(2*time.Hour)))
	got2, err := s.GetSession(ctx, "s2")
	must(t, err)
	if !slices.Equal(got2.AMR, []string{"pwd", "otp", "mfa"}) || !got2.AuthTime.Equal(at(2*time.Hour)) {
		t.Fatalf("elevated session: amr %v, auth_time %v", got2.AMR, got2.AuthTime)
	}
	wantErr(t, s.ElevateSession(ctx, "gone", nil, base), storage.ErrNotFound, "ElevateSession of an unknown session")
}
