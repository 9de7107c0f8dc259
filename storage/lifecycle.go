package storage

import (
	"context"
	"time"
)

// Deletion is an account waiting out its recovery window: deleted by its owner at
// RequestedAt, purged by the purge job once PurgeAfter has passed unless restored before.
type Deletion struct {
	UserID      string
	RequestedAt time.Time
	PurgeAfter  time.Time
}

// LifecycleStore persists an account's deletion: the recovery window, the restore, the purge
// and the tombstones that keep a purged account's id from naming anyone else.
type LifecycleStore interface {
	// MarkDeletion moves an active account to UserPendingDeletion with d's times. ErrNotFound
	// when the user is absent or not active (deleted already: nothing changes).
	MarkDeletion(ctx context.Context, d Deletion) error
	// GetDeletion returns the deletion of a pending account; ErrNotFound when the user is
	// absent or not pending deletion.
	GetDeletion(ctx context.Context, userID string) (Deletion, error)
	// RestoreUser makes a pending account active again and forgets its deletion times.
	// ErrNotFound when the user is absent or not pending deletion (purged meanwhile, or
	// restored already).
	RestoreUser(ctx context.Context, userID string, at time.Time) error
	// DueDeletions returns up to limit accounts pending deletion whose PurgeAfter is not after
	// now, the longest due first (then by id).
	DueDeletions(ctx context.Context, now time.Time, limit int) ([]Deletion, error)
	// PurgeUser erases a pending account whose PurgeAfter is not after now, in one
	// transaction (joining ctx's): the users row and everything that refers to it (profile,
	// contacts, photos, grants, sessions, the activity log, identifiers, the business card,
	// access to closed apps, ... by cascade), its tokens, the apps its sessions signed in to,
	// and the invitations it answered or that are addressed to its confirmed email; what stays is a tombstone with its id, so CreateUser
	// refuses the id from then on (ErrAlreadyExists). Its email address, phone number and
	// username are free afterwards. ErrNotFound when the account is absent, not pending
	// deletion or not due (restored meanwhile: nothing is erased).
	PurgeUser(ctx context.Context, userID string, now time.Time) error
	// IsTombstone reports whether id was a purged account's.
	IsTombstone(ctx context.Context, id string) (bool, error)
}
