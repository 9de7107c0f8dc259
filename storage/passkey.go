package storage

import (
	"context"
	"time"
)

// Passkey is a WebAuthn public key credential registered to an account (W3C Web
// Authentication Level 3 §4 "credential record"). CredentialID is the authenticator's id,
// unique across accounts; PublicKey the COSE key; SignCount the last signature counter seen
// (0 for authenticators that keep none); Flags the authenticator data flags byte last seen.
// BackupEligible says the credential may be synced (a "synced passkey"); it never changes
// after registration, BackupState may. LastUsedAt is zero until the first sign-in with it.
type Passkey struct {
	ID              string
	UserID          string
	CredentialID    []byte
	PublicKey       []byte
	SignCount       uint32
	AAGUID          []byte
	Transports      []string
	AttestationType string
	Flags           uint8
	BackupEligible  bool
	BackupState     bool
	Name            string
	CreatedAt       time.Time
	LastUsedAt      time.Time
}

// Kinds of WebAuthnChallenge: the ceremony a challenge was issued for.
const (
	ChallengeRegister = "register" // adding a passkey to a signed-in account
	ChallengeLogin    = "login"    // passwordless sign-in with a discoverable credential
	ChallengeMFA      = "mfa"      // a passkey as the second factor of a pending login
)

// WebAuthnChallenge is the state a WebAuthn ceremony keeps between its two steps (the
// library's session data, opaque to storage), so that any node can finish what another
// began. ID is the hash of the random value the browser holds; UserID is empty for a
// passwordless sign-in, whose user is known only at the end.
type WebAuthnChallenge struct {
	ID        string
	Kind      string
	UserID    string
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PasskeyStore persists passkeys and the challenges of their ceremonies.
//
// Conventions: a passkey belongs to one user and every call that names one by ID takes the
// user too, so another user's ID is ErrNotFound. UsePasskey and ConsumeWebAuthnChallenge are
// single statements: two nodes cannot both accept one signature counter value, or both
// finish one ceremony.
type PasskeyStore interface {
	// CreatePasskey stores p; ErrAlreadyExists when its ID or CredentialID is taken.
	CreatePasskey(ctx context.Context, p Passkey) error
	// ListPasskeys returns the user's passkeys, oldest first; none is an empty list.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// GetPasskeyByCredentialID returns the passkey with the authenticator's credential id.
	GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// RenamePasskey sets the name of the user's passkey id; ErrNotFound when the user has no
	// such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey id; ErrNotFound when the user has no such
	// passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
	// UsePasskey records a sign-in with passkey id: the new signature counter, flags and
	// backup state, and usedAt as LastUsedAt, only while the stored counter is still
	// oldCount; ErrConflict when it is not (a concurrent sign-in moved it), ErrNotFound when
	// the passkey is gone.
	UsePasskey(ctx context.Context, id string, oldCount, newCount uint32, flags uint8, backupState bool, usedAt time.Time) error

	// PutWebAuthnChallenge stores c, and removes the challenges that expired before
	// c.CreatedAt; ErrAlreadyExists when its ID is taken.
	PutWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error
	// ConsumeWebAuthnChallenge removes and returns the challenge id of kind in one
	// statement; ErrNotFound when there is none, or it expired at now (it is removed all the
	// same).
	ConsumeWebAuthnChallenge(ctx context.Context, id, kind string, now time.Time) (WebAuthnChallenge, error)
}
