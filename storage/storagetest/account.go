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
