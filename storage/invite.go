package storage

import (
	"context"
	"time"
)

// Invitation states.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationDeclined = "declined"
	InvitationRevoked  = "revoked"
)

// Invitation invites an email address to a closed app. TokenHash is the HMAC of the token
// the link carries, never the token. UserID names the account that answered it.
type Invitation struct {
	ID         string     `db:"id"`
	ClientID   string     `db:"client_id"`
	Email      string     `db:"email"`
	TokenHash  string     `db:"token_hash"`
	State      string     `db:"state"`
	UserID     string     `db:"user_id"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	AnsweredAt *time.Time `db:"answered_at"`
}

// ClientAccess is one closed app a user may use: since GrantedAt (an accepted invitation or an
// administrator's grant).
type ClientAccess struct {
	ClientID  string
	UserID    string
	GrantedAt time.Time
}

// InviteStore persists who may use a closed app and the invitations to it.
type InviteStore interface {
	// GrantClientAccess lets userID use clientID; granting again keeps the first grant.
	GrantClientAccess(ctx context.Context, clientID, userID string, at time.Time) error
	// RevokeClientAccess removes userID's access to clientID; false when there was none.
	RevokeClientAccess(ctx context.Context, clientID, userID string) (bool, error)
	// HasClientAccess reports whether userID may use clientID.
	HasClientAccess(ctx context.Context, clientID, userID string) (bool, error)
	// ListClientAccess returns the closed apps userID may use, oldest grant first (then by
	// app id).
	ListClientAccess(ctx context.Context, userID string) ([]ClientAccess, error)

	// CreateInvitation stores inv; ErrAlreadyExists when its id or token hash is taken.
	CreateInvitation(ctx context.Context, inv Invitation) error
	// GetInvitation returns the invitation with id.
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	// GetInvitationByToken returns the invitation whose token hash is tokenHash.
	GetInvitationByToken(ctx context.Context, tokenHash string) (Invitation, error)
	// ListInvitations returns the invitations to clientID ("" for every app), newest first.
	ListInvitations(ctx context.Context, clientID string) ([]Invitation, error)
	// InvitationsForEmail returns the invitations addressed to email, newest first.
	InvitationsForEmail(ctx context.Context, email string) ([]Invitation, error)
	// AnswerInvitation moves invitation id from pending to state (accepted, declined,
	// revoked), naming userID, only if it is still pending and, unless state is revoked,
	// unexpired at at: ErrConflict otherwise, ErrNotFound when there is no such invitation.
	// It is the single-use check.
	AnswerInvitation(ctx context.Context, id, state, userID string, at time.Time) error
	// CountInvitationsSince counts the invitations to clientID created at or after since
	// (the sending rate limit).
	CountInvitationsSince(ctx context.Context, clientID string, since time.Time) (int, error)
}
