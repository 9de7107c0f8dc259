package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/facetid/facet/storage"
)

const userCols = `id, email, unverified_email, email_verified, password_hash, admin, status, created_at, updated_at`

// userSelect reads a storage.User. users.email holds a verified address only (UNIQUE, which
// admits many NULLs on both dialects) and users.unverified_email an address not confirmed
// yet, which several accounts may hold (migration 0008); storage.User carries whichever is
// set as Email, "" for an account without an address.
const userSelect = `id, COALESCE(email, unverified_email, ''), email_verified, password_hash, admin, status, created_at, updated_at`

// emailColumns splits u's address into the values of users.email and users.unverified_email:
// only a verified address takes the unique column.
func emailColumns(u storage.User) (verified, unverified string) {
	if u.EmailVerified {
		return u.Email, ""
	}
	return "", u.Email
}

func scanUser(sc scanner) (storage.User, error) {
	var u storage.User
	err := sc.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Admin, &u.Status, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser stores u; ErrAlreadyExists when its id or its verified email is taken. An empty Status is
// stored as storage.UserActive.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	if u.Status == "" {
		u.Status = storage.UserActive
	}
	verified, unverified := emailColumns(u)
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, NULLIF(?, ''), NULLIF(?, ''), ?, ?, ?, ?, ?, ?)`,
		u.ID, verified, unverified, u.EmailVerified, u.PasswordHash, u.Admin, u.Status, ts(u.CreatedAt), ts(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.ID, mapErr(err))
	}
	return nil
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.row(ctx, `SELECT `+userSelect+` FROM users WHERE id = ?`, id))
	if err != nil {
		return storage.User{}, fmt.Errorf("get user %q: %w", id, mapErr(err))
	}
	return u, nil
}

// GetUserByEmail returns the account holding email verified, else the oldest holding it
// unverified (compared exactly; callers lower-case it).
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	users, err := s.UsersByEmail(ctx, email, 1)
	if err != nil {
		return storage.User{}, fmt.Errorf("get user by email: %w", err)
	}
	if len(users) == 0 {
		return storage.User{}, fmt.Errorf("get user by email: %w", storage.ErrNotFound)
	}
	return users[0], nil
}

// UsersByEmail returns up to limit accounts holding email: the verified holder first, then
// the unverified holders, oldest first.
func (s *Store) UsersByEmail(ctx context.Context, email string, limit int) ([]storage.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rows(ctx, `SELECT `+userSelect+` FROM users WHERE email = ? OR unverified_email = ?
		ORDER BY email_verified DESC, created_at, id LIMIT ?`, email, email, limit)
	if err != nil {
		return nil, fmt.Errorf("users by email: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users by email: %w", mapErr(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users by email: %w", mapErr(err))
	}
	return out, nil
}

// VerifyEmail makes email userID's verified address and takes it from every other account
// holding it unverified, in one transaction; the unique index on users.email settles two
// accounts confirming at once.
func (s *Store) VerifyEmail(ctx context.Context, userID, email string, at time.Time) ([]string, error) {
	var losers []string
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.execN(ctx, `UPDATE users SET email = ?, unverified_email = NULL, email_verified = TRUE, updated_at = ?
			WHERE id = ?`, email, ts(at), userID)
		if err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		rows, err := s.rows(ctx, `UPDATE users SET unverified_email = NULL, updated_at = ?
			WHERE unverified_email = ? AND id <> ? RETURNING id`, ts(at), email, userID)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return mapErr(err)
			}
			losers = append(losers, id)
		}
		return mapErr(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("verify email of %q: %w", userID, err)
	}
	slices.Sort(losers)
	return losers, nil
}

// DeleteUnverifiedUsers removes the accounts created before createdBefore that have no way
// back in but an unconfirmed address: no verified email, no verified phone number, no
// preferred_username, not an administrator, and made since registration asked for a
// confirmation (users.unverified_expires). Their tokens go with them, in one transaction.
func (s *Store) DeleteUnverifiedUsers(ctx context.Context, createdBefore time.Time) ([]string, error) {
	var ids []string
	err := s.InTx(ctx, func(ctx context.Context) error {
		// One statement decides and deletes, so an account that confirms its address (or
		// gains a phone number or username) while the job runs is re-checked, not deleted on
		// a stale read (PostgreSQL runs this at READ COMMITTED).
		rows, err := s.rows(ctx, `DELETE FROM users
			WHERE users.email IS NULL AND users.unverified_expires AND NOT users.admin AND users.status = ? AND users.created_at < ?
			  AND NOT EXISTS (SELECT 1 FROM profile_fields f WHERE f.user_id = users.id
			                  AND f.field IN ('phone_number', 'preferred_username') AND f.value <> '')
			RETURNING id`, storage.UserActive, ts(createdBefore))
		if err != nil {
			return mapErr(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return mapErr(err)
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return mapErr(err)
		}
		for _, id := range ids {
			if _, err := s.exec(ctx, `DELETE FROM tokens WHERE subject = ?`, id); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete unverified users: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	rows, err := s.rows(ctx, `SELECT `+userSelect+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", mapErr(err))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", mapErr(err))
	}
	return out, nil
}

// UpdateUser overwrites every field of the user u.ID but CreatedAt; ErrNotFound when absent,
// ErrAlreadyExists when the new email is verified and another account holds it verified.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	verified, unverified := emailColumns(u)
	n, err := s.execN(ctx, `UPDATE users SET email = NULLIF(?, ''), unverified_email = NULLIF(?, ''), email_verified = ?,
		password_hash = ?, admin = ?, status = ?, updated_at = ? WHERE id = ?`,
		verified, unverified, u.EmailVerified, u.PasswordHash, u.Admin, u.Status, ts(u.UpdatedAt), u.ID)
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.ID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("update user %q: %w", u.ID, storage.ErrNotFound)
	}
	return nil
}

// GetProfileFields returns the user's fields ordered by field name; none is not an error.
func (s *Store) GetProfileFields(ctx context.Context, userID string) ([]storage.ProfileField, error) {
	rows, err := s.queryPrepared(ctx, `SELECT user_id, field, value, privacy, updated_at FROM profile_fields
		WHERE user_id = ? ORDER BY field`, userID)
	if err != nil {
		return nil, fmt.Errorf("get profile fields of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.ProfileField
	for rows.Next() {
		var f storage.ProfileField
		if err := rows.Scan(&f.UserID, &f.Field, &f.Value, &f.Privacy, &f.UpdatedAt); err != nil {
			return nil, fmt.Errorf("get profile fields of %q: %w", userID, mapErr(err))
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get profile fields of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// PutProfileFields inserts or overwrites each field (keyed by user and field), in one
// transaction.
func (s *Store) PutProfileFields(ctx context.Context, fields []storage.ProfileField) error {
	if len(fields) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		for _, f := range fields {
			_, err := s.exec(ctx, `INSERT INTO profile_fields (user_id, field, value, privacy, updated_at)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value,
					privacy = excluded.privacy, updated_at = excluded.updated_at`,
				f.UserID, f.Field, f.Value, f.Privacy, ts(f.UpdatedAt))
			if err != nil {
				return fmt.Errorf("put profile field %q of %q: %w", f.Field, f.UserID, mapErr(err))
			}
		}
		return nil
	})
}

// DeleteProfileField removes one field; an absent field is not an error.
func (s *Store) DeleteProfileField(ctx context.Context, userID, field string) error {
	if _, err := s.exec(ctx, `DELETE FROM profile_fields WHERE user_id = ? AND field = ?`, userID, field); err != nil {
		return fmt.Errorf("delete profile field %q of %q: %w", field, userID, mapErr(err))
	}
	return nil
}

// encodeList stores a list as JSON text; nil is "[]".
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil { // []string always marshals
		panic(err)
	}
	return string(b)
}

// decodeList reads a list written by encodeList; an empty list is nil.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
