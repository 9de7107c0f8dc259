package storage

import (
	"context"
	"time"
)

// TokenKind names the kind of a stored OAuth2 artefact. All kinds share one table keyed by
// (kind, signature).
type TokenKind string

// The token kinds fosite stores.
const (
	KindAuthorizeCode TokenKind = "authorize_code"
	KindAccessToken   TokenKind = "access_token"
	KindRefreshToken  TokenKind = "refresh_token"
	KindPKCE          TokenKind = "pkce"
	KindOIDC          TokenKind = "oidc"
)

// Token is a stored OAuth2 request under one token signature. Data is the serialized request
// (scopes, form, session) the oauth package writes and reads back; storage does not interpret
// it. Subject, ClientID and RequestID are copied out of it so revocation by subject, by
// subject+client and by request id are single statements.
type Token struct {
	Kind            TokenKind `db:"kind"`
	Signature       string    `db:"signature"`
	RequestID       string    `db:"request_id"`
	ClientID        string    `db:"client_id"`
	Subject         string    `db:"subject"`
	Active          bool      `db:"active"`
	AccessSignature string    `db:"access_signature"` // refresh tokens: the access token issued with it
	RequestedAt     time.Time `db:"requested_at"`
	ExpiresAt       time.Time `db:"expires_at"`
	// RotatedAt is when a refresh made this refresh token inactive by issuing its successor
	// (TokenRotate); zero for every other token, and for refresh tokens that are active or
	// were revoked. A reuse grace reads it.
	RotatedAt time.Time `db:"rotated_at"`
	Data      []byte    `db:"data"`
}

// TokenOp names what one TokenWrite does.
type TokenOp uint8

// The writes a unit of ApplyTokenWrites is made of; each does what the TokenStore method of
// the same name does.
const (
	// TokenCreate inserts Token (CreateToken); ErrAlreadyExists when its signature is taken.
	TokenCreate TokenOp = iota + 1
	// TokenDeactivate marks the active token (Kind, Signature) inactive (DeactivateToken). It
	// is the unit's precondition: when the token is not active (a concurrent request won) the
	// whole unit fails with ErrConflict, when it is absent with ErrNotFound.
	TokenDeactivate
	// TokenDelete deletes the token (Kind, Signature) (DeleteToken); absent is not an error.
	TokenDelete
	// TokenRevokeRequest ends every token of Kind issued under RequestID (RevokeRequest).
	TokenRevokeRequest
	// TokenRotate is TokenDeactivate (the same precondition) of a refresh token a refresh
	// supersedes: the row also records Token.RotatedAt.
	TokenRotate
)

// TokenWrite is one write of a unit. Token is the row for TokenCreate; the other ops read
// only Token.Kind and Token.Signature (TokenDeactivate, TokenDelete; TokenRotate also
// Token.RotatedAt) or Token.RequestID (TokenRevokeRequest).
type TokenWrite struct {
	Op    TokenOp
	Token Token
}

// TokenStore persists fosite's requests, one row per (kind, signature). GetToken returns
// inactive tokens too (fosite needs the request of an invalidated code or a rotated refresh
// token); the caller checks Active.
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, kind TokenKind, signature string) (Token, error)
	// GetTokenReleaseVersion is GetToken together with the release version of the token's
	// subject (PrivacyStore.GetReleaseDataAt), read in the same statement; -1 when the
	// subject is no user (a client's own token).
	GetTokenReleaseVersion(ctx context.Context, kind TokenKind, signature string) (Token, int64, error)
	DeleteToken(ctx context.Context, kind TokenKind, signature string) error
	// DeactivateToken marks an active token inactive. ErrConflict when it was already
	// inactive (a concurrent request won), ErrNotFound when absent.
	DeactivateToken(ctx context.Context, kind TokenKind, signature string) error
	// RotateRefreshToken deactivates the refresh token (ErrConflict if it was not active,
	// ErrNotFound if absent), recording at as its RotatedAt, and deletes the access tokens of
	// requestID, as one unit.
	RotateRefreshToken(ctx context.Context, requestID, signature string, at time.Time) error
	// ActiveRefreshToken returns the signature of requestID's active refresh token;
	// ErrNotFound when it has none (every one rotated or revoked). Rotation keeps at most one
	// refresh token of a request active.
	ActiveRefreshToken(ctx context.Context, requestID string) (string, error)
	// RevokeRequest ends every token of kind issued under requestID: refresh tokens are
	// deactivated (kept for reuse detection), other kinds deleted.
	RevokeRequest(ctx context.Context, kind TokenKind, requestID string) error
	// RevokeSubject ends every access and refresh token (and pending code) of subject, only
	// those of clientID when it is not empty. It returns how many rows it ended.
	RevokeSubject(ctx context.Context, subject, clientID string) (int64, error)
	// DeleteExpiredTokens removes tokens that expired before t.
	DeleteExpiredTokens(ctx context.Context, t time.Time) (int64, error)

	// ApplyTokenWrites applies writes, in order, as one unit: every write applies or none
	// does, and it returns only once the unit is durable. A TokenDeactivate or TokenRotate
	// that finds its token inactive fails the unit with ErrConflict, absent with ErrNotFound;
	// a taken signature fails it with ErrAlreadyExists. Of concurrent units deactivating one
	// token exactly one succeeds. Inside a transaction carried by ctx the unit joins it.
	//
	// It is how fosite's token flows write (oauth/store.go defers the writes made between
	// BeginTX and Commit): a code exchange, a refresh rotation or a reuse revocation costs one
	// member of SQLite's group commit, or one statement on PostgreSQL, instead of a
	// transaction of its own. No writes is a no-op.
	ApplyTokenWrites(ctx context.Context, writes []TokenWrite) error
}
