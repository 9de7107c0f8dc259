package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// GrantClientAccess lets userID use clientID; a second grant keeps the first row.
func (s *Store) GrantClientAccess(ctx context.Context, clientID, userID string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO client_access (client_id, user_id, granted_at) VALUES (?, ?, ?)
		ON CONFLICT (client_id, user_id) DO NOTHING`, clientID, userID, ts(at))
	if err != nil {
		return fmt.Errorf("grant access to %q: %w", clientID, mapErr(err))
	}
	return nil
}

// RevokeClientAccess removes userID's access to clientID; false when there was none.
func (s *Store) RevokeClientAccess(ctx context.Context, clientID, userID string) (bool, error) {
	n, err := s.execN(ctx, `DELETE FROM client_access WHERE client_id = ? AND user_id = ?`, clientID, userID)
	if err != nil {
		return false, fmt.Errorf("revoke access to %q: %w", clientID, mapErr(err))
	}
	return n > 0, nil
}

// HasClientAccess reports whether userID may use clientID.
func (s *Store) HasClientAccess(ctx context.Context, clientID, userID string) (bool, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM client_access WHERE client_id = ? AND user_id = ?`, clientID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check access to %q: %w", clientID, mapErr(err))
	}
	return n > 0, nil
}

// ListClientAccess returns the closed apps userID may use, oldest grant first.
func (s *Store) ListClientAccess(ctx context.Context, userID string) ([]storage.ClientAccess, error) {
	rows, err := s.rows(ctx, `SELECT client_id, user_id, granted_at FROM client_access WHERE user_id = ?
		ORDER BY granted_at, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list access of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.ClientAccess
	for rows.Next() {
		var a storage.ClientAccess
		if err := rows.Scan(&a.ClientID, &a.UserID, &a.GrantedAt); err != nil {
			return nil, fmt.Errorf("list access of %q: %w", userID, mapErr(err))
		}
		a.GrantedAt = a.GrantedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list access of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

const invitationCols = `id, client_id, email, token_hash, state, user_id, created_at, expires_at, answered_at`

func scanInvitation(sc scanner) (storage.Invitation, error) {
	var inv storage.Invitation
	if err := sc.Scan(&inv.ID, &inv.ClientID, &inv.Email, &inv.TokenHash, &inv.State, &inv.UserID,
		&inv.CreatedAt, &inv.ExpiresAt, &inv.AnsweredAt); err != nil {
		return storage.Invitation{}, err
	}
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	if inv.AnsweredAt != nil {
		t := inv.AnsweredAt.UTC()
		inv.AnsweredAt = &t
	}
	return inv, nil
}

// CreateInvitation stores inv; ErrAlreadyExists when its id or token hash is taken.
func (s *Store) CreateInvitation(ctx context.Context, inv storage.Invitation) error {
	if inv.State == "" {
		inv.State = storage.InvitationPending
	}
	_, err := s.exec(ctx, `INSERT INTO invitations (`+invitationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.ClientID, inv.Email, inv.TokenHash, inv.State, inv.UserID,
		ts(inv.CreatedAt), ts(inv.ExpiresAt), tsPtr(inv.AnsweredAt))
	if err != nil {
		return fmt.Errorf("create invitation: %w", mapErr(err))
	}
	return nil
}

// GetInvitation returns the invitation with id.
func (s *Store) GetInvitation(ctx context.Context, id string) (storage.Invitation, error) {
	inv, err := scanInvitation(s.row(ctx, `SELECT `+invitationCols+` FROM invitations WHERE id = ?`, id))
	if err != nil {
		return storage.Invitation{}, fmt.Errorf("get invitation: %w", mapErr(err))
	}
	return inv, nil
}

// GetInvitationByToken returns the invitation whose token hash is tokenHash.
func (s *Store) GetInvitationByToken(ctx context.Context, tokenHash string) (storage.Invitation, error) {
	inv, err := scanInvitation(s.row(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return storage.Invitation{}, fmt.Errorf("get invitation: %w", mapErr(err))
	}
	return inv, nil
}

// ListInvitations returns the invitations to clientID ("" for every app), newest first.
func (s *Store) ListInvitations(ctx context.Context, clientID string) ([]storage.Invitation, error) {
	if clientID == "" {
		return s.invitations(ctx, `SELECT `+invitationCols+` FROM invitations ORDER BY created_at DESC, id`)
	}
	return s.invitations(ctx, `SELECT `+invitationCols+` FROM invitations WHERE client_id = ? ORDER BY created_at DESC, id`, clientID)
}

// InvitationsForEmail returns the invitations addressed to email, newest first.
func (s *Store) InvitationsForEmail(ctx context.Context, email string) ([]storage.Invitation, error) {
	return s.invitations(ctx, `SELECT `+invitationCols+` FROM invitations WHERE email = ? ORDER BY created_at DESC, id`, email)
}

func (s *Store) invitations(ctx context.Context, query string, args ...any) ([]storage.Invitation, error) {
	rows, err := s.rows(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, fmt.Errorf("list invitations: %w", mapErr(err))
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list invitations: %w", mapErr(err))
	}
	return out, nil
}

// AnswerInvitation moves a pending invitation to state in one conditional update, so two
// answers to the same invitation cannot both win.
func (s *Store) AnswerInvitation(ctx context.Context, id, state, userID string, at time.Time) error {
	query := `UPDATE invitations SET state = ?, user_id = ?, answered_at = ?
		WHERE id = ? AND state = 'pending' AND expires_at > ?`
	args := []any{state, userID, ts(at), id, ts(at)}
	if state == storage.InvitationRevoked {
		query = `UPDATE invitations SET state = ?, user_id = ?, answered_at = ? WHERE id = ? AND state = 'pending'`
		args = args[:4]
	}
	n, err := s.execN(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("answer invitation: %w", mapErr(err))
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetInvitation(ctx, id); err != nil {
		return fmt.Errorf("answer invitation: %w", err)
	}
	return fmt.Errorf("answer invitation: %w", storage.ErrConflict)
}

// CountInvitationsSince counts the invitations to clientID created at or after since.
func (s *Store) CountInvitationsSince(ctx context.Context, clientID string, since time.Time) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT COUNT(*) FROM invitations WHERE client_id = ? AND created_at >= ?`, clientID, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count invitations: %w", mapErr(err))
	}
	return n, nil
}
