package storage

import (
	"context"
	"time"
)

// Kinds of contact a Verification confirms.
const (
	ContactEmail = "email"
	ContactPhone = "phone"
)

// Verification is a pending change of a user's email address or phone number: one row per
// (UserID, Kind). Value is the address or E.164 number waiting for confirmation; it applies
// only once the code (or, for email, the link) is confirmed. CodeHash is an HMAC of the
// one-time code bound to the user, kind and value; LinkHash is the SHA-256 of the one-click
// link token (email only, nil for phones). Neither the code nor the token is stored.
// Attempts counts codes entered; LastSentAt throttles resending.
type Verification struct {
	UserID     string
	Kind       string
	Value      string
	Channel    string // "email", "sms" or "call"
	CodeHash   []byte
	LinkHash   []byte
	Attempts   int
	ExpiresAt  time.Time
	LastSentAt time.Time
	CreatedAt  time.Time
}

// Photo is a profile photo as served at /public/images/profile/<ID>. ID is random (≥ 128
// bits) and never reused, so the bytes under an id never change.
type Photo struct {
	ID          string
	UserID      string
	ContentType string
	Data        []byte
	CreatedAt   time.Time
}

// DevMail is a message the development mailer or SMS sender kept so that /dev/mail can show
// it on every node. Channel is "email", "sms" or "call". Seq orders messages (newest is
// highest); the backend assigns it.
type DevMail struct {
	Seq       int64
	Channel   string
	To        string
	Subject   string
	Body      string
	CreatedAt time.Time
}

// HasEmail reports whether u has an email address. A deleted address is stored as NULL and
// read back as "".
func HasEmail(u User) bool { return u.Email != "" }

// ContactStore persists contact verification (one-time codes for email and phone) and the
// development outbox.
//
// Conventions: PutVerification is a conditional upsert (the resend throttle holds across
// nodes); CountVerificationAttempt is a single statement, so concurrent guesses cannot exceed
// the limit; ConsumeVerification deletes exactly the row that was checked, so a code works
// once.
type ContactStore interface {
	// PutVerification stores v as the pending verification of (v.UserID, v.Kind), replacing
	// a previous one (and resetting its attempts) only when that one's LastSentAt is not
	// after sentBefore. It reports whether v was stored; false means the previous code was
	// sent too recently (throttled).
	PutVerification(ctx context.Context, v Verification, sentBefore time.Time) (bool, error)
	// GetVerification returns the pending verification of (userID, kind).
	GetVerification(ctx context.Context, userID, kind string) (Verification, error)
	// GetVerificationByLink returns the pending verification whose link token hashes to
	// linkHash.
	GetVerificationByLink(ctx context.Context, linkHash []byte) (Verification, error)
	// CountVerificationAttempt adds one to the attempts of (userID, kind) if they are below
	// max, in one statement, and returns the new count. ErrNotFound when there is no pending
	// verification or its attempts already reached max.
	CountVerificationAttempt(ctx context.Context, userID, kind string, max int) (int, error)
	// ConsumeVerification deletes the pending verification of (v.UserID, v.Kind) if it still
	// holds v.CodeHash; ErrNotFound when it does not (used already, or replaced by a resend).
	ConsumeVerification(ctx context.Context, v Verification) error
	// DeleteVerification removes the pending verification of (userID, kind); an absent row
	// is not an error.
	DeleteVerification(ctx context.Context, userID, kind string) error
	// PhoneOwner returns the id of the user whose verified phone number (profile field
	// phone_number) is phone; ErrNotFound when nobody has it.
	PhoneOwner(ctx context.Context, phone string) (string, error)

	// AddDevMail appends m to the development outbox and keeps only the newest keep messages.
	AddDevMail(ctx context.Context, m DevMail, keep int) error
	// ListDevMail returns up to limit messages, newest first.
	ListDevMail(ctx context.Context, limit int) ([]DevMail, error)
}

// PhotoStore persists profile photos, stored apart from the profile field that points at them.
type PhotoStore interface {
	// CreatePhoto stores p; ErrAlreadyExists when its id is taken.
	CreatePhoto(ctx context.Context, p Photo) error
	// GetPhoto returns the photo with id.
	GetPhoto(ctx context.Context, id string) (Photo, error)
	// DeletePhoto removes the photo id of userID; ErrNotFound when userID has no photo id.
	DeletePhoto(ctx context.Context, userID, id string) error
	// DeleteOtherPhotos removes userID's photos other than keepID and returns how many.
	DeleteOtherPhotos(ctx context.Context, userID, keepID string) (int64, error)
}
