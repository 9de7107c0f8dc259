package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/facetid/facet/storage"
)

const userCols = `id, email, email_verified, password_hash, admin, status, created_at, updated_at`

// userSelect reads userCols; an account whose address was deleted has a NULL email (UNIQUE
// admits many NULLs on both dialects), which storage.User carries as "".
const userSelect = `id, COALESCE(email, ''), email_verified, password_hash, admin, status, created_at, updated_at`

func scanUser(sc scanner) (storage.User, error) {
	var u storage.User
	err := sc.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Admin, &u.Status, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser stores u; ErrAlreadyExists when its id or email is taken. An empty Status is
// stored as storage.UserActive.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	if u.Status == "" {
		u.Status = storage.UserActive
	}
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Admin, u.Status, ts(u.CreatedAt), ts(u.UpdatedAt))
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

// GetUserByEmail returns the user with email (compared exactly; callers lower-case it).
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	u, err := scanUser(s.row(ctx, `SELECT `+userSelect+` FROM users WHERE email = ?`, email))
	if err != nil {
		return storage.User{}, fmt.Errorf("get user by email: %w", mapErr(err))
	}
	return u, nil
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
// ErrAlreadyExists when the new email is taken.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	n, err := s.execN(ctx, `UPDATE users SET email = NULLIF(?, ''), email_verified = ?, password_hash = ?, admin = ?,
		status = ?, updated_at = ? WHERE id = ?`,
		u.Email, u.EmailVerified, u.PasswordHash, u.Admin, u.Status, ts(u.UpdatedAt), u.ID)
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
