package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// MarkDeletion moves an active account to pending deletion in one statement, so a second
// deletion (another tab, the API) finds it pending and changes nothing.
func (s *Store) MarkDeletion(ctx context.Context, d storage.Deletion) error {
	n, err := s.execN(ctx, `UPDATE users SET status = ?, deletion_requested_at = ?, purge_after = ?, updated_at = ?
		WHERE id = ? AND status = ?`,
		storage.UserPendingDeletion, ts(d.RequestedAt), ts(d.PurgeAfter), ts(d.RequestedAt), d.UserID, storage.UserActive)
	if err != nil {
		return fmt.Errorf("mark deletion of %q: %w", d.UserID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("mark deletion of %q: %w", d.UserID, storage.ErrNotFound)
	}
	return nil
}

func scanDeletion(sc scanner) (storage.Deletion, error) {
	var d storage.Deletion
	var requested, purge sql.NullTime
	if err := sc.Scan(&d.UserID, &requested, &purge); err != nil {
		return storage.Deletion{}, err
	}
	d.RequestedAt, d.PurgeAfter = requested.Time.UTC(), purge.Time.UTC()
	return d, nil
}

// GetDeletion returns a pending account's deletion times.
func (s *Store) GetDeletion(ctx context.Context, userID string) (storage.Deletion, error) {
	d, err := scanDeletion(s.row(ctx, `SELECT id, deletion_requested_at, purge_after FROM users WHERE id = ? AND status = ?`,
		userID, storage.UserPendingDeletion))
	if err != nil {
		return storage.Deletion{}, fmt.Errorf("get deletion of %q: %w", userID, mapErr(err))
	}
	return d, nil
}

// RestoreUser makes a pending account active again.
func (s *Store) RestoreUser(ctx context.Context, userID string, at time.Time) error {
	n, err := s.execN(ctx, `UPDATE users SET status = ?, deletion_requested_at = NULL, purge_after = NULL, updated_at = ?
		WHERE id = ? AND status = ?`, storage.UserActive, ts(at), userID, storage.UserPendingDeletion)
	if err != nil {
		return fmt.Errorf("restore %q: %w", userID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("restore %q: %w", userID, storage.ErrNotFound)
	}
	return nil
}

// DueDeletions lists the accounts due for the purge, through users_purge_due.
func (s *Store) DueDeletions(ctx context.Context, now time.Time, limit int) ([]storage.Deletion, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rows(ctx, `SELECT id, deletion_requested_at, purge_after FROM users
		WHERE status = 'pending_deletion' AND purge_after <= ? ORDER BY purge_after, id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due deletions: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.Deletion
	for rows.Next() {
		d, err := scanDeletion(rows)
		if err != nil {
			return nil, fmt.Errorf("due deletions: %w", mapErr(err))
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due deletions: %w", mapErr(err))
	}
	return out, nil
}

// PurgeUser erases a due account in one transaction. The DELETE decides and deletes in one
// statement, so an account restored while the job runs is re-checked, not erased on a stale
// read; the rows without a foreign key to users go in the same transaction.
func (s *Store) PurgeUser(ctx context.Context, userID string, now time.Time) error {
	err := s.InTx(ctx, func(ctx context.Context) error {
		var id string
		var email sql.NullString
		var verified bool
		err := s.row(ctx, `DELETE FROM users WHERE id = ? AND status = ? AND purge_after <= ? RETURNING id, email, email_verified`,
			userID, storage.UserPendingDeletion, ts(now)).Scan(&id, &email, &verified)
		if err != nil {
			return mapErr(err)
		}
		// Invitations hold an address, not a reference: those the account answered and those
		// addressed to the email it had confirmed go with it.
		addressed := ""
		if verified {
			addressed = strings.ToLower(email.String)
		}
		if _, err := s.exec(ctx, `DELETE FROM invitations WHERE user_id = ? OR (email <> '' AND email = ?)`,
			userID, addressed); err != nil {
			return mapErr(err)
		}
		if _, err := s.exec(ctx, `DELETE FROM tokens WHERE subject = ?`, userID); err != nil {
			return mapErr(err)
		}
		if _, err := s.exec(ctx, `DELETE FROM session_clients WHERE user_id = ?`, userID); err != nil {
			return mapErr(err)
		}
		if _, err := s.exec(ctx, `INSERT INTO user_tombstones (id, purged_at) VALUES (?, ?)`, userID, ts(now)); err != nil {
			return mapErr(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("purge %q: %w", userID, err)
	}
	return nil
}

// IsTombstone reports whether id was a purged account's.
func (s *Store) IsTombstone(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.row(ctx, `SELECT 1 FROM user_tombstones WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tombstone %q: %w", id, mapErr(err))
	}
	return true, nil
}
