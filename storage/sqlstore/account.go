package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/facetid/facet/storage"
)

// PutProfileValues upserts the values in one transaction without touching privacy; the unique
// partial index on preferred_username (migration 0002) turns a taken name into
// ErrAlreadyExists, also when two users claim it at the same moment.
func (s *Store) PutProfileValues(ctx context.Context, userID string, values map[string]string, at time.Time) error {
	if len(values) == 0 {
		return nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	// A fixed order: two concurrent saves lock rows in the same order.
	slices.Sort(keys)
	return s.InTx(ctx, func(ctx context.Context) error {
		for _, k := range keys {
			_, err := s.exec(ctx, `INSERT INTO profile_fields (user_id, field, value, privacy, updated_at)
				VALUES (?, ?, ?, '', ?)
				ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				userID, k, values[k], ts(at))
			if err != nil {
				return fmt.Errorf("put profile value %q of %q: %w", k, userID, mapErr(err))
			}
		}
		return nil
	})
}

// FindUserIDByField returns the user whose field holds value (the oldest edit when several do,
// for fields without a unique index).
func (s *Store) FindUserIDByField(ctx context.Context, field, value string) (string, error) {
	var id string
	err := s.row(ctx, `SELECT user_id FROM profile_fields WHERE field = ? AND value = ?
		ORDER BY updated_at, user_id LIMIT 1`, field, value).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("find user by field %q: %w", field, mapErr(err))
	}
	return id, nil
}

// SetPasswordHash replaces the password hash of userID.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error {
	n, err := s.execN(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ts(at), userID)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", userID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("set password of %q: %w", userID, storage.ErrNotFound)
	}
	return nil
}

// CountUserSessions counts userID's sessions within both timeouts.
func (s *Store) CountUserSessions(ctx context.Context, userID string, idleBefore, now time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = ? AND last_seen_at >= ? AND expires_at > ?`,
		userID, ts(idleBefore), ts(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sessions of %q: %w", userID, mapErr(err))
	}
	return n, nil
}
