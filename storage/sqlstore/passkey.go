package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, transports, attestation_type,
	flags, backup_eligible, backup_state, name, created_at, last_used_at`

func scanPasskey(sc scanner) (storage.Passkey, error) {
	var (
		p          storage.Passkey
		count      int64
		flags      int64
		transports string
		lastUsed   sql.NullTime
	)
	if err := sc.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &count, &p.AAGUID, &transports, &p.AttestationType,
		&flags, &p.BackupEligible, &p.BackupState, &p.Name, &p.CreatedAt, &lastUsed); err != nil {
		return storage.Passkey{}, err
	}
	if err := json.Unmarshal([]byte(transports), &p.Transports); err != nil {
		return storage.Passkey{}, fmt.Errorf("passkey %q transports: %w", p.ID, err)
	}
	p.SignCount, p.Flags = uint32(count), uint8(flags)
	if p.AAGUID == nil { // SQLite reads an empty BLOB as NULL
		p.AAGUID = []byte{}
	}
	p.CreatedAt = p.CreatedAt.UTC()
	if lastUsed.Valid {
		p.LastUsedAt = lastUsed.Time.UTC()
	}
	return p, nil
}

// CreatePasskey stores p; ErrAlreadyExists when its id or credential id is taken.
func (s *Store) CreatePasskey(ctx context.Context, p storage.Passkey) error {
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	tj, err := json.Marshal(transports)
	if err != nil {
		return fmt.Errorf("create passkey: %w", err)
	}
	var lastUsed *time.Time
	if !p.LastUsedAt.IsZero() {
		lastUsed = &p.LastUsedAt
	}
	aaguid := p.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	_, err = s.exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.CredentialID, p.PublicKey, int64(p.SignCount), aaguid, string(tj), p.AttestationType,
		int64(p.Flags), p.BackupEligible, p.BackupState, p.Name, ts(p.CreatedAt), tsPtr(lastUsed))
	if err != nil {
		return fmt.Errorf("create passkey: %w", mapErr(err))
	}
	return nil
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error) {
	rows, err := s.rows(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	out := []storage.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("list passkeys of %q: %w", userID, mapErr(err))
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list passkeys of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// GetPasskeyByCredentialID returns the passkey with the authenticator's credential id.
func (s *Store) GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (storage.Passkey, error) {
	p, err := scanPasskey(s.row(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, credentialID))
	if err != nil {
		return storage.Passkey{}, fmt.Errorf("get passkey by credential id: %w", mapErr(err))
	}
	return p, nil
}

// RenamePasskey sets the name of the user's passkey.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	n, err := s.execN(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return fmt.Errorf("rename passkey %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("rename passkey %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// DeletePasskey removes the user's passkey.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	n, err := s.execN(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete passkey %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("delete passkey %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// UsePasskey moves the counter from oldCount to newCount in one compare-and-set statement.
func (s *Store) UsePasskey(ctx context.Context, id string, oldCount, newCount uint32, flags uint8, backupState bool, usedAt time.Time) error {
	n, err := s.execN(ctx, `UPDATE passkeys SET sign_count = ?, flags = ?, backup_state = ?, last_used_at = ?
		WHERE id = ? AND sign_count = ?`,
		int64(newCount), int64(flags), backupState, ts(usedAt), id, int64(oldCount))
	if err != nil {
		return fmt.Errorf("use passkey %q: %w", id, mapErr(err))
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := s.row(ctx, `SELECT 1 FROM passkeys WHERE id = ?`, id).Scan(&one); err != nil {
		return fmt.Errorf("use passkey %q: %w", id, mapErr(err))
	}
	return fmt.Errorf("use passkey %q: %w", id, storage.ErrConflict)
}

// PutWebAuthnChallenge stores c and sweeps the challenges that expired before it was made.
func (s *Store) PutWebAuthnChallenge(ctx context.Context, c storage.WebAuthnChallenge) error {
	if _, err := s.exec(ctx, `DELETE FROM webauthn_challenges WHERE expires_at < ?`, ts(c.CreatedAt)); err != nil {
		return fmt.Errorf("sweep webauthn challenges: %w", mapErr(err))
	}
	var userID *string
	if c.UserID != "" {
		userID = &c.UserID
	}
	_, err := s.exec(ctx, `INSERT INTO webauthn_challenges (id, kind, user_id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Kind, userID, c.Data, ts(c.CreatedAt), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("put webauthn challenge: %w", mapErr(err))
	}
	return nil
}

// ConsumeWebAuthnChallenge deletes the challenge and returns it, in one statement; an expired
// one is deleted and reported as not found.
func (s *Store) ConsumeWebAuthnChallenge(ctx context.Context, id, kind string, now time.Time) (storage.WebAuthnChallenge, error) {
	var (
		c      storage.WebAuthnChallenge
		userID sql.NullString
	)
	err := s.row(ctx, `DELETE FROM webauthn_challenges WHERE id = ? AND kind = ?
		RETURNING id, kind, user_id, data, created_at, expires_at`, id, kind).
		Scan(&c.ID, &c.Kind, &userID, &c.Data, &c.CreatedAt, &c.ExpiresAt)
	if err != nil {
		return storage.WebAuthnChallenge{}, fmt.Errorf("consume webauthn challenge: %w", mapErr(err))
	}
	c.UserID = userID.String
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	if !now.Before(c.ExpiresAt) {
		return storage.WebAuthnChallenge{}, fmt.Errorf("consume webauthn challenge: expired: %w", storage.ErrNotFound)
	}
	return c, nil
}
