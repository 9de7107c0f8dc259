package storage

import (
	"context"
	"time"
)

// AccountStore persists the personal account beyond ProfileField CRUD: value edits that keep
// the privacy level the user chose, the uniqueness of preferred_username, the password hash,
// the count of open sessions, and who holds an email address.
//
// An address is unique among the accounts that verified it; an unverified address reserves
// nothing, so several accounts may hold one unverified (one of them may be someone who typed
// another person's address). The first to verify it takes it from the others.
type AccountStore interface {
	// UsersByEmail returns up to limit accounts holding email (lower-cased by the caller):
	// the one holding it verified first, then those holding it unverified, oldest first.
	UsersByEmail(ctx context.Context, email string, limit int) ([]User, error)
	// VerifyEmail makes email the verified address of userID and removes it from every other
	// account holding it unverified, in one transaction. It returns the ids of those accounts
	// (sorted; nil for none). ErrAlreadyExists when another account holds email verified,
	// ErrNotFound when userID is absent; nothing changes then.
	VerifyEmail(ctx context.Context, userID, email string, at time.Time) ([]string, error)
	// DeleteUnverifiedUsers deletes the active, non-admin accounts created before
	// createdBefore that have no verified email, no verified phone number (profile field
	// phone_number) and no preferred_username, together with their tokens, and returns
	// their ids (sorted).
	DeleteUnverifiedUsers(ctx context.Context, createdBefore time.Time) ([]string, error)

	// PutProfileValues sets the values of some of userID's fields (keyed by catalog key) in one
	// transaction, keeping each field's privacy level: a new row gets Privacy "" (the catalog
	// default applies). An empty value is stored as such, so a cleared field keeps its level.
	// ErrAlreadyExists when a unique value (a non-empty preferred_username) belongs to another
	// user; nothing is saved then.
	PutProfileValues(ctx context.Context, userID string, values map[string]string, at time.Time) error
	// FindUserIDByField returns the id of a user whose field holds exactly value;
	// ErrNotFound when there is none.
	FindUserIDByField(ctx context.Context, field, value string) (string, error)
	// SetPasswordHash replaces the user's password hash and sets updated_at; ErrNotFound when
	// the user is absent.
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	// CountUserSessions counts the user's sessions used since idleBefore and not past their
	// absolute expiry at now.
	CountUserSessions(ctx context.Context, userID string, idleBefore, now time.Time) (int, error)
}
