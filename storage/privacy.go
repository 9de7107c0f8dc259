package storage

import (
	"context"
	"time"
)

// Disclosure is one line of the disclosure record: which claim names (never values) went
// to which app, and when. Lines are aggregated per (user, client, claim set): FirstAt and
// LastAt bound the releases seen, Count is how many times the line was recorded (consent
// records a line at most once per hour and node, so Count counts those recordings, not every
// release).
type Disclosure struct {
	UserID   string
	ClientID string
	Claims   []string // sorted claim names
	FirstAt  time.Time
	LastAt   time.Time
	Count    int
}

// PrivacyStore persists privacy settings beyond per-field levels (private profile) and the disclosure record.
type PrivacyStore interface {
	// SetFieldPrivacy sets the privacy level of one of userID's fields in one upsert, keeping
	// its value and updated_at (a field without a row gets one with an empty value, which
	// carries only the level). ErrNotFound when the user does not exist.
	SetFieldPrivacy(ctx context.Context, userID, field, privacy string, at time.Time) error

	// GetPrivateProfile reports whether the user turned the private profile on; a user who
	// never set it has it off.
	GetPrivateProfile(ctx context.Context, userID string) (bool, error)
	// SetPrivateProfile stores the switch; ErrNotFound when the user does not exist.
	SetPrivateProfile(ctx context.Context, userID string, on bool, at time.Time) error

	// RecordDisclosures adds each line to the record in one upsert per line, keyed by (user,
	// client, claim set): a new key is inserted; an existing one keeps the earliest FirstAt
	// and the latest LastAt and adds Count (0 counts as 1). Claims are sorted by the store.
	RecordDisclosures(ctx context.Context, ds []Disclosure) error
	// ListDisclosures returns the user's record, latest LastAt first.
	ListDisclosures(ctx context.Context, userID string) ([]Disclosure, error)

	// GetReleaseData reads, from current data, everything a release of userID's claims to
	// clientID needs: the user, the profile fields (ordered by field), the private-profile
	// switch and the grant (zero when none, or when clientID is ""). It is what GetUser,
	// GetProfileFields, GetPrivateProfile and GetGrant return, in as few round trips as the
	// backend allows. ErrNotFound when the user does not exist.
	//
	// A backend may keep the data it returns and hand the same data to later calls (sqlstore
	// keeps it per node, checked against a version the database bumps with every change), so
	// callers must treat it as read-only: never modify the Fields slice or its elements, nor
	// Grant.Scopes or Grant.Claims; copy before changing anything.
	GetReleaseData(ctx context.Context, userID, clientID string) (ReleaseData, error)
	// GetReleaseDataAt is GetReleaseData for a caller that has just read the user's release
	// version (a counter every change of this data bumps in its own transaction) together
	// with something else (TokenStore.GetTokenReleaseVersion): data the store already holds
	// at that version is returned without a read of its own. Any other version reads.
	GetReleaseDataAt(ctx context.Context, userID, clientID string, version int64) (ReleaseData, error)
}

// ReleaseData is the stored input of a claims release (see PrivacyStore.GetReleaseData).
type ReleaseData struct {
	User           User
	Fields         []ProfileField
	PrivateProfile bool
	Grant          Grant
}
