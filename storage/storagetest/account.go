package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testAccountProfileValues: value edits keep the privacy level, clear to "", reject a taken
// preferred_username with ErrAlreadyExists and save nothing of that call.
func testAccountProfileValues(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: base},
	}))
	must(t, s.PutProfileValues(ctx, "u1", nil, base))
	must(t, s.PutProfileValues(ctx, "u1", map[string]string{
		"given_name": "Anne", "birthdate": "1990-04-01", "preferred_username": "anne",
	}, base.Add(time.Hour)))
	got, err := s.GetProfileFields(ctx, "u1")
	must(t, err)
	diff(t, "GetProfileFields", []storage.ProfileField{
		{UserID: "u1", Field: "birthdate", Value: "1990-04-01", Privacy: "", UpdatedAt: at(time.Hour)},
		{UserID: "u1", Field: "given_name", Value: "Anne", Privacy: "public", UpdatedAt: at(time.Hour)},
		{UserID: "u1", Field: "preferred_username", Value: "anne", Privacy: "", UpdatedAt: at(time.Hour)},
	}, got)

	id, err := s.FindUserIDByField(ctx, "preferred_username", "anne")
	must(t, err)
	if id != "u1" {
		t.Errorf("FindUserIDByField = %q, want u1", id)
	}
	_, err = s.FindUserIDByField(ctx, "preferred_username", "nobody")
	wantErr(t, err, storage.ErrNotFound, "FindUserIDByField(unknown)")

	// u2 takes "anne": refused, and u2's other value in the same call is not saved.
	err = s.PutProfileValues(ctx, "u2", map[string]string{"given_name": "Bob", "preferred_username": "anne"}, base)
	wantErr(t, err, storage.ErrAlreadyExists, "PutProfileValues(taken username)")
	got, err = s.GetProfileFields(ctx, "u2")
	must(t, err)
	if len(got) != 0 {
		t.Errorf("u2 fields after refused save = %+v, want none", got)
	}

	// Empty names never collide; clearing frees the name; the same user may save it again.
	must(t, s.PutProfileValues(ctx, "u1", map[string]string{"preferred_username": "anne"}, base))
	must(t, s.PutProfileValues(ctx, "u1", map[string]string{"preferred_username": ""}, base))
	must(t, s.PutProfileValues(ctx, "u2", map[string]string{"preferred_username": ""}, base))
	must(t, s.PutProfileValues(ctx, "u2", map[string]string{"preferred_username": "anne"}, base))
	// Other fields may share values.
	must(t, s.PutProfileValues(ctx, "u1", map[string]string{"nickname": "same"}, base))
	must(t, s.PutProfileValues(ctx, "u2", map[string]string{"nickname": "same"}, base))
}

// testAccountUsernameRace: 16 users claim one preferred_username at once; exactly one wins,
// every other gets ErrAlreadyExists (or ErrConflict under contention), never another error.
func testAccountUsernameRace(t *testing.T, s storage.Storage) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const n = 16
	for i := range n {
		createUser(t, s, fmt.Sprintf("r%d", i))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range n {
		wg.Go(func() {
			err := s.PutProfileValues(ctx, fmt.Sprintf("r%d", i), map[string]string{"preferred_username": "taken"}, base)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, storage.ErrAlreadyExists), errors.Is(err, storage.ErrConflict):
			default:
				t.Errorf("PutProfileValues race: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d users got the same preferred_username, want 1", wins)
	}
}

// testAccountPasswordAndSessions: SetPasswordHash changes only the hash and updated_at;
// CountUserSessions counts live sessions of one user.
func testAccountPasswordAndSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	u := createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.SetPasswordHash(ctx, "u1", "$argon2id$new", base.Add(time.Hour)))
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	u.PasswordHash, u.UpdatedAt = "$argon2id$new", at(time.Hour)
	u.CreatedAt = at(0)
	diff(t, "user after SetPasswordHash", u, got)
	wantErr(t, s.SetPasswordHash(ctx, "nobody", "x", base), storage.ErrNotFound, "SetPasswordHash(absent)")

	live := newSession("live", "u1")
	idle := newSession("idle", "u1")
	idle.LastSeenAt = base.Add(-48 * time.Hour)
	expired := newSession("expired", "u1")
	expired.ExpiresAt = base
	other := newSession("other", "u2")
	for _, se := range []storage.Session{live, idle, expired, other} {
		must(t, s.CreateSession(ctx, se))
	}
	n, err := s.CountUserSessions(ctx, "u1", base.Add(-24*time.Hour), base)
	must(t, err)
	if n != 1 {
		t.Errorf("CountUserSessions = %d, want 1", n)
	}
}

// testUnverifiedEmail: an unverified address reserves nothing. Several accounts hold one
// unverified; UsersByEmail and GetUserByEmail put the verified holder first, then the
// unverified ones oldest first; VerifyEmail gives the address to the first account that
// verifies it and takes it from the unverified holders; a second verification is
// ErrAlreadyExists and changes nothing.
func testUnverifiedEmail(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	const addr = "victim@example.com"
	squatter := newUser("squatter", addr)
	must(t, s.CreateUser(ctx, squatter))
	owner := newUser("owner", addr)
	owner.CreatedAt, owner.UpdatedAt = base.Add(time.Minute), base.Add(time.Minute)
	must(t, s.CreateUser(ctx, owner))
	third := newUser("third", addr)
	third.CreatedAt, third.UpdatedAt = base.Add(2*time.Minute), base.Add(2*time.Minute)
	must(t, s.CreateUser(ctx, third))

	ids := func(users []storage.User, err error) []string {
		t.Helper()
		must(t, err)
		var out []string
		for _, u := range users {
			out = append(out, u.ID)
		}
		return out
	}
	diff(t, "UsersByEmail, all unverified", []string{"squatter", "owner", "third"}, ids(s.UsersByEmail(ctx, addr, 5)))
	diff(t, "UsersByEmail limit 2", []string{"squatter", "owner"}, ids(s.UsersByEmail(ctx, addr, 2)))
	got, err := s.GetUserByEmail(ctx, addr)
	must(t, err)
	if got.ID != "squatter" || got.EmailVerified || got.Email != addr {
		t.Errorf("GetUserByEmail, all unverified = %+v, want the oldest, unverified", got)
	}

	losers, err := s.VerifyEmail(ctx, "owner", addr, base.Add(time.Hour))
	must(t, err)
	diff(t, "VerifyEmail losers", []string{"squatter", "third"}, losers)
	got, err = s.GetUser(ctx, "owner")
	must(t, err)
	wantOwner := owner
	wantOwner.EmailVerified, wantOwner.CreatedAt, wantOwner.UpdatedAt = true, at(time.Minute), at(time.Hour)
	diff(t, "owner after VerifyEmail", wantOwner, got)
	for _, id := range []string{"squatter", "third"} {
		got, err := s.GetUser(ctx, id)
		must(t, err)
		if got.Email != "" || got.EmailVerified || !got.UpdatedAt.Equal(at(time.Hour)) {
			t.Errorf("%s after VerifyEmail = %+v, want no address, updated at the verification", id, got)
		}
	}
	diff(t, "UsersByEmail after VerifyEmail", []string{"owner"}, ids(s.UsersByEmail(ctx, addr, 5)))

	// A registration after the owner verified holds the address unverified, behind the owner.
	late := newUser("late", addr)
	must(t, s.CreateUser(ctx, late))
	diff(t, "UsersByEmail, verified first", []string{"owner", "late"}, ids(s.UsersByEmail(ctx, addr, 5)))
	got, err = s.GetUserByEmail(ctx, addr)
	must(t, err)
	if got.ID != "owner" || !got.EmailVerified {
		t.Errorf("GetUserByEmail = %+v, want the verified owner", got)
	}
	_, err = s.VerifyEmail(ctx, "late", addr, base.Add(2*time.Hour))
	wantErr(t, err, storage.ErrAlreadyExists, "VerifyEmail of an address verified by another account")
	got, err = s.GetUser(ctx, "late")
	must(t, err)
	if got.Email != addr || got.EmailVerified {
		t.Errorf("late after a refused VerifyEmail = %+v, want its unverified address kept", got)
	}
	late.EmailVerified = true
	wantErr(t, s.UpdateUser(ctx, late), storage.ErrAlreadyExists, "UpdateUser to an address verified by another account")
	_, err = s.VerifyEmail(ctx, "nobody", "free@example.com", base)
	wantErr(t, err, storage.ErrNotFound, "VerifyEmail of a missing user")

	// Verifying its own unverified address again, or an address nobody holds, loses nobody.
	losers, err = s.VerifyEmail(ctx, "squatter", "squatter@example.com", base.Add(3*time.Hour))
	must(t, err)
	diff(t, "VerifyEmail of a free address", []string(nil), losers)
	diff(t, "UsersByEmail limit 0", []string(nil), ids(s.UsersByEmail(ctx, addr, 0)))
	diff(t, "UsersByEmail nobody", []string(nil), ids(s.UsersByEmail(ctx, "nobody@example.com", 5)))
}

// testVerifyEmailRace: 8 accounts holding one address unverified verify it at once; exactly
// one wins, the others get ErrAlreadyExists (or ErrConflict under contention) and end up
// without the address.
func testVerifyEmailRace(t *testing.T, s storage.Storage) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const n = 8
	for i := range n {
		must(t, s.CreateUser(ctx, newUser(fmt.Sprintf("v%d", i), "shared@example.com")))
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner string
		wins   int
	)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("v%d", i)
			_, err := s.VerifyEmail(ctx, id, "shared@example.com", base)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins, winner = wins+1, id
			case errors.Is(err, storage.ErrAlreadyExists), errors.Is(err, storage.ErrConflict):
			default:
				t.Errorf("VerifyEmail race: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d accounts verified the same address, want 1", wins)
	}
	users, err := s.UsersByEmail(ctx, "shared@example.com", n)
	must(t, err)
	if len(users) != 1 || users[0].ID != winner || !users[0].EmailVerified {
		t.Errorf("holders after the race = %+v, want only %s, verified", users, winner)
	}
}

// testDeleteUnverifiedUsers: only accounts older than the cut-off with no way back in but an
// unconfirmed address go, with their tokens; accounts with a verified email, a phone number,
// a username or admin rights stay, and so do newer ones.
func testDeleteUnverifiedUsers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	mk := func(id, email string, verified, admin bool, created time.Duration) {
		u := newUser(id, email)
		u.EmailVerified, u.Admin, u.CreatedAt, u.UpdatedAt = verified, admin, base.Add(created), base.Add(created)
		must(t, s.CreateUser(ctx, u))
	}
	mk("old-unverified", "a@example.com", false, false, 0)
	mk("old-lost", "", false, false, 0) // lost its address to the account that verified it
	mk("old-verified", "b@example.com", true, false, 0)
	mk("old-admin", "c@example.com", false, true, 0)
	mk("old-phone", "d@example.com", false, false, 0)
	mk("old-username", "", false, false, 0)
	mk("new-unverified", "e@example.com", false, false, 2*time.Hour)
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "old-phone", Field: "phone_number", Value: "+15551234567", UpdatedAt: base},
		{UserID: "old-username", Field: "preferred_username", Value: "kept", UpdatedAt: base},
		{UserID: "old-unverified", Field: "given_name", Value: "Ann", UpdatedAt: base},
	}))
	must(t, s.CreateToken(ctx, newToken(storage.KindRefreshToken, "gone-r", "req-gone", "old-unverified", "app")))
	must(t, s.CreateToken(ctx, newToken(storage.KindRefreshToken, "kept-r", "req-kept", "old-verified", "app")))

	ids, err := s.DeleteUnverifiedUsers(ctx, base.Add(time.Hour))
	must(t, err)
	diff(t, "DeleteUnverifiedUsers", []string{"old-lost", "old-unverified"}, ids)
	for _, id := range ids {
		_, err := s.GetUser(ctx, id)
		wantErr(t, err, storage.ErrNotFound, "GetUser of a deleted unverified account")
	}
	fields, err := s.GetProfileFields(ctx, "old-unverified")
	must(t, err)
	diff(t, "fields of a deleted account", []storage.ProfileField(nil), fields)
	_, err = s.GetToken(ctx, storage.KindRefreshToken, "gone-r")
	wantErr(t, err, storage.ErrNotFound, "token of a deleted account")
	_, err = s.GetToken(ctx, storage.KindRefreshToken, "kept-r")
	must(t, err)
	for _, id := range []string{"old-verified", "old-admin", "old-phone", "old-username", "new-unverified"} {
		_, err := s.GetUser(ctx, id)
		must(t, err)
	}
	ids, err = s.DeleteUnverifiedUsers(ctx, base.Add(time.Hour))
	must(t, err)
	diff(t, "DeleteUnverifiedUsers again", []string(nil), ids)
}
