package storage

import (
	"context"
	"time"
)

// AccountStore persists the personal account beyond ProfileField CRUD: value edits that keep
// the privacy level the user chose, the uniqueness of preferred_username, the password hash
// and the count of open sessions.
type AccountStore interface {
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
