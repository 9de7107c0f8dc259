package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const grantCols = `user_id, client_id, scopes, claims, created_at, updated_at`

func scanGrant(sc scanner) (storage.Grant, error) {
	var (
		g              storage.Grant
		scopes, claims string
	)
	if err := sc.Scan(&g.UserID, &g.ClientID, &scopes, &claims, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return storage.Grant{}, err
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	var err error
	if g.Scopes, err = decodeList(scopes); err != nil {
		return storage.Grant{}, err
	}
	if g.Claims, err = decodeList(claims); err != nil {
		return storage.Grant{}, err
	}
	return g, nil
}

// GetGrant returns the user's grant for the client.
func (s *Store) GetGrant(ctx context.Context, userID, clientID string) (storage.Grant, error) {
	g, err := scanGrant(s.row(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = ? AND client_id = ?`, userID, clientID))
	if err != nil {
		return storage.Grant{}, fmt.Errorf("get grant of %q for %q: %w", userID, clientID, mapErr(err))
	}
	return g, nil
}

// PutGrant inserts the grant or replaces its scopes, claims and UpdatedAt (CreatedAt stays
// the first one). Merging old and new scopes is the caller's job (consent).
func (s *Store) PutGrant(ctx context.Context, g storage.Grant) error {
	_, err := s.exec(ctx, `INSERT INTO grants (`+grantCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, claims = excluded.claims,
			updated_at = excluded.updated_at`,
		g.UserID, g.ClientID, encodeList(g.Scopes), encodeList(g.Claims), ts(g.CreatedAt), ts(g.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put grant of %q for %q: %w", g.UserID, g.ClientID, mapErr(err))
	}
	return nil
}

// DeleteGrant removes the grant; an absent grant is not an error.
func (s *Store) DeleteGrant(ctx context.Context, userID, clientID string) error {
	if _, err := s.exec(ctx, `DELETE FROM grants WHERE user_id = ? AND client_id = ?`, userID, clientID); err != nil {
		return fmt.Errorf("delete grant of %q for %q: %w", userID, clientID, mapErr(err))
	}
	return nil
}

// ListGrants returns the user's grants ordered by client id.
func (s *Store) ListGrants(ctx context.Context, userID string) ([]storage.Grant, error) {
	rows, err := s.rows(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = ? ORDER BY client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list grants of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list grants of %q: %w", userID, mapErr(err))
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list grants of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// PutClaimDeclines upserts one row per claim; a missing grant is a foreign-key violation,
// reported as ErrNotFound.
func (s *Store) PutClaimDeclines(ctx context.Context, userID, clientID string, claims []string, at time.Time) error {
	for _, c := range claims {
		_, err := s.exec(ctx, `INSERT INTO claim_declines (user_id, client_id, claim, declined_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, client_id, claim) DO UPDATE SET declined_at = excluded.declined_at`,
			userID, clientID, c, ts(at))
		if err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("decline %q of %q for %q: %w", c, userID, clientID, storage.ErrNotFound)
			}
			return fmt.Errorf("decline %q of %q for %q: %w", c, userID, clientID, mapErr(err))
		}
	}
	return nil
}

// DeleteClaimDeclines deletes the rows of claims.
func (s *Store) DeleteClaimDeclines(ctx context.Context, userID, clientID string, claims []string) error {
	for _, c := range claims {
		if _, err := s.exec(ctx, `DELETE FROM claim_declines WHERE user_id = ? AND client_id = ? AND claim = ?`, userID, clientID, c); err != nil {
			return fmt.Errorf("forget decline %q of %q for %q: %w", c, userID, clientID, mapErr(err))
		}
	}
	return nil
}

// GetClaimDeclines reads the user's declines for one client.
func (s *Store) GetClaimDeclines(ctx context.Context, userID, clientID string) ([]storage.ClaimDecline, error) {
	out, err := s.claimDeclines(ctx, `SELECT user_id, client_id, claim, declined_at FROM claim_declines
		WHERE user_id = ? AND client_id = ? ORDER BY claim`, userID, clientID)
	if err != nil {
		return nil, fmt.Errorf("declines of %q for %q: %w", userID, clientID, err)
	}
	return out, nil
}

// ListClaimDeclines reads the user's declines for every client.
func (s *Store) ListClaimDeclines(ctx context.Context, userID string) ([]storage.ClaimDecline, error) {
	out, err := s.claimDeclines(ctx, `SELECT user_id, client_id, claim, declined_at FROM claim_declines
		WHERE user_id = ? ORDER BY client_id, claim`, userID)
	if err != nil {
		return nil, fmt.Errorf("list declines of %q: %w", userID, err)
	}
	return out, nil
}

func (s *Store) claimDeclines(ctx context.Context, query string, args ...any) ([]storage.ClaimDecline, error) {
	rows, err := s.rows(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []storage.ClaimDecline
	for rows.Next() {
		var d storage.ClaimDecline
		if err := rows.Scan(&d.UserID, &d.ClientID, &d.Claim, &d.DeclinedAt); err != nil {
			return nil, mapErr(err)
		}
		d.DeclinedAt = d.DeclinedAt.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}
