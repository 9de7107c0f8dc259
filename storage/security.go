package storage

import (
	"context"
	"time"
)

// KindPasswordReset is the Verification kind of a password recovery: Value is where the
// code went (the email address or the E.164 phone number), Channel "email" or "sms".
const KindPasswordReset = "password_reset"

// TOTP is an account's authenticator app (RFC 6238). Secret is encrypted by the caller with
// a key derived from the system secret; storage keeps only the bytes. Confirmed is set once
// the first code proved the app holds the secret; LastStep is the last time step a code was
// accepted for, so no code works twice.
type TOTP struct {
	UserID    string
	Secret    []byte
	Confirmed bool
	LastStep  int64
	CreatedAt time.Time
}

// SecurityStore persists what protects sign-in: the tallies of failed logins, the
// authenticator app and the recovery codes.
//
// Conventions: AddLoginFailure and UseTOTPStep and UseRecoveryCode are single statements, so
// concurrent requests on several nodes neither lose a failure nor accept a code twice.
type SecurityStore interface {
	// AddLoginFailure adds one failure to key's tally at now and returns the new count; a
	// tally whose last failure is before forgetBefore starts again at 1.
	AddLoginFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error)
	// LoginFailures returns key's tally and the time of its last failure; no tally is 0 and
	// the zero time, not an error.
	LoginFailures(ctx context.Context, key string) (int, time.Time, error)
	// ResetLoginFailures forgets key's tally; an absent one is not an error.
	ResetLoginFailures(ctx context.Context, key string) error

	// PutTOTP stores t as the user's authenticator app, replacing an unconfirmed one;
	// ErrAlreadyExists when a confirmed one is there (it must be removed first).
	PutTOTP(ctx context.Context, t TOTP) error
	// GetTOTP returns the user's authenticator app, confirmed or not.
	GetTOTP(ctx context.Context, userID string) (TOTP, error)
	// UseTOTPStep records that a code of time step step was accepted: it confirms the app
	// and moves LastStep to step only when LastStep is below step, in one statement.
	// ErrConflict when it is not (the code, or a later one, was used already); ErrNotFound
	// when the user has no app.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// DeleteTOTP removes the user's authenticator app; an absent one is not an error.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes removes every recovery code of the user and stores hashes as the
	// new set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	// UseRecoveryCode marks the unused code hash of the user used at now; ErrNotFound when
	// there is no such unused code.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
	// CountRecoveryCodes returns how many unused recovery codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteRecoveryCodes removes every recovery code of the user.
	DeleteRecoveryCodes(ctx context.Context, userID string) error
}

// LoginChallenge is a sign-in waiting for its second factor: a right password (AMR holds
// the methods so far) or a signed-in session asked to prove a second factor again (step-up:
// SessionID names it). The browser holds a random token; IDHash is its SHA-256.
type LoginChallenge struct {
	IDHash    []byte
	UserID    string
	AMR       []string
	SessionID string
	ReturnTo  string
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ChallengeStore persists the second login step.
//
// Conventions: CountChallengeAttempt and DeleteLoginChallenge are single statements, so two
// nodes never accept more wrong codes than allowed nor one challenge twice.
type ChallengeStore interface {
	// PutLoginChallenge stores c and removes every challenge expired before c.CreatedAt.
	PutLoginChallenge(ctx context.Context, c LoginChallenge) error
	// GetLoginChallenge returns the challenge with idHash; ErrNotFound when there is none or
	// it expired before now.
	GetLoginChallenge(ctx context.Context, idHash []byte, now time.Time) (LoginChallenge, error)
	// CountChallengeAttempt adds one wrong answer to the challenge and returns the new count;
	// ErrNotFound when it is gone.
	CountChallengeAttempt(ctx context.Context, idHash []byte) (int, error)
	// DeleteLoginChallenge removes the challenge; ErrNotFound when another request removed it
	// first, so a challenge completes once.
	DeleteLoginChallenge(ctx context.Context, idHash []byte) error
	// ElevateSession records a second factor on a live session: its methods become amr and its
	// sign-in time authTime. ErrNotFound when the session is gone.
	ElevateSession(ctx context.Context, id string, amr []string, authTime time.Time) error
}
