package storage

import (
	"context"
	"time"
)

// SessionClient records that an app was signed in through a browser session, under the sid its
// ID tokens carry (OIDC Back-Channel Logout 1.0 §2.1). The row goes when its session does.
type SessionClient struct {
	SessionID string
	ClientID  string
	UserID    string
	SID       string
	// RequestID is the authorization request the app was signed in with: the tokens it
	// issued carry it, so ending the session ends them (RevokeSessionTokens). Empty records
	// none.
	RequestID string
	CreatedAt time.Time
	// ClientName is the app's name when read back ("" when the client is gone); not stored.
	ClientName string
}

// Logout message states.
const (
	LogoutPending   = "pending"
	LogoutDelivered = "delivered"
	LogoutAbandoned = "abandoned"
)

// LogoutMessage is one back-channel logout waiting for (or done with) delivery to one app:
// the logout token is signed at each attempt from these fields, so a retry never sends an
// expired token.
type LogoutMessage struct {
	ID            string
	ClientID      string
	Subject       string
	SID           string // empty when the app was not signed in through a browser session
	RequestID     string // the request that ended the session, for the logs
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	FinishedAt    *time.Time
}

// BackchannelStore persists which apps each browser session signed in to, and the durable
// queue of back-channel logout messages.
type BackchannelStore interface {
	// PutSessionClient records c; the same (session, client) again keeps the first row, and
	// adds c.RequestID to the session's requests.
	PutSessionClient(ctx context.Context, c SessionClient) error
	// RevokeSessionTokens ends every token issued under an authorization request approved
	// through browser session sessionID (PutSessionClient's RequestID): codes and access
	// tokens are deleted, refresh tokens deactivated. It returns how many rows it ended.
	RevokeSessionTokens(ctx context.Context, sessionID string) (int64, error)
	// SessionClients returns the apps signed in through browser session sessionID, ordered
	// by client id.
	SessionClients(ctx context.Context, sessionID string) ([]SessionClient, error)
	// UserSessionClients returns every (session, app) of userID's browser sessions, ordered
	// by client id, then session id.
	UserSessionClients(ctx context.Context, userID string) ([]SessionClient, error)

	// EnqueueLogouts stores msgs as pending, due at their NextAttemptAt; inside the caller's
	// transaction when ctx carries one.
	EnqueueLogouts(ctx context.Context, msgs []LogoutMessage) error
	// ClaimLogouts takes up to limit pending messages due at now, for this caller alone: each
	// one's attempt count goes up and its next attempt moves to leaseUntil, so another node
	// sees it only if this one never reports back. On PostgreSQL rows locked by another
	// claimer are skipped (FOR UPDATE SKIP LOCKED); SQLite's immediate transaction serialises
	// claimers.
	ClaimLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]LogoutMessage, error)
	// FinishLogout marks message id delivered or abandoned (status) at now.
	FinishLogout(ctx context.Context, id, status, lastError string, now time.Time) error
	// RetryLogout schedules message id's next attempt at next.
	RetryLogout(ctx context.Context, id string, next time.Time, lastError string) error
	// GetLogout returns message id.
	GetLogout(ctx context.Context, id string) (LogoutMessage, error)
	// DeleteFinishedLogouts removes delivered and abandoned messages finished before before.
	DeleteFinishedLogouts(ctx context.Context, before time.Time) (int64, error)
}
