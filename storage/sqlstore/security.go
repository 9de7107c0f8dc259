package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// AddLoginFailure adds one failure to key's tally in one upsert; a tally last hit before
// forgetBefore starts again.
func (s *Store) AddLoginFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error) {
	var n int
	err := s.row(ctx, `INSERT INTO login_failures (key, failures, last_failure_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_failures.last_failure_at < ? THEN 1 ELSE login_failures.failures + 1 END,
			last_failure_at = excluded.last_failure_at
		RETURNING failures`, key, ts(now), ts(forgetBefore)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("add login failure: %w", mapErr(err))
	}
	return n, nil
}

// LoginFailures returns key's tally and its last failure; none is (0, zero time).
func (s *Store) LoginFailures(ctx context.Context, key string) (int, time.Time, error) {
	var n int
	var last time.Time
	err := s.row(ctx, `SELECT failures, last_failure_at FROM login_failures WHERE key = ?`, key).Scan(&n, &last)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, storage.ErrNotFound) {
			return 0, time.Time{}, nil
		}
		return 0, time.Time{}, fmt.Errorf("get login failures: %w", err)
	}
	return n, last.UTC(), nil
}

// ResetLoginFailures forgets key's tally.
func (s *Store) ResetLoginFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM login_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("reset login failures: %w", mapErr(err))
	}
	return nil
}

// PutTOTP stores an unconfirmed authenticator app, replacing an unconfirmed one only.
func (s *Store) PutTOTP(ctx context.Context, t storage.TOTP) error {
	n, err := s.execN(ctx, `INSERT INTO mfa_totp (user_id, secret, confirmed, last_step, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created_at = excluded.created_at
		WHERE mfa_totp.confirmed = FALSE`,
		t.UserID, t.Secret, t.Confirmed, t.LastStep, ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("put totp of %q: %w", t.UserID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("put totp of %q: %w", t.UserID, storage.ErrAlreadyExists)
	}
	return nil
}

// GetTOTP returns the user's authenticator app.
func (s *Store) GetTOTP(ctx context.Context, userID string) (storage.TOTP, error) {
	var t storage.TOTP
	err := s.row(ctx, `SELECT user_id, secret, confirmed, last_step, created_at FROM mfa_totp WHERE user_id = ?`, userID).
		Scan(&t.UserID, &t.Secret, &t.Confirmed, &t.LastStep, &t.CreatedAt)
	if err != nil {
		return storage.TOTP{}, fmt.Errorf("get totp of %q: %w", userID, mapErr(err))
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, nil
}

// UseTOTPStep confirms the app and moves last_step forward, only forward.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	n, err := s.execN(ctx, `UPDATE mfa_totp SET last_step = ?, confirmed = TRUE WHERE user_id = ? AND last_step < ?`,
		step, userID, step)
	if err != nil {
		return fmt.Errorf("use totp step of %q: %w", userID, mapErr(err))
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetTOTP(ctx, userID); err != nil {
		return err
	}
	return fmt.Errorf("use totp step of %q: %w", userID, storage.ErrConflict)
}

// DeleteTOTP removes the user's authenticator app.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, `DELETE FROM mfa_totp WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete totp of %q: %w", userID, mapErr(err))
	}
	return nil
}

// ReplaceRecoveryCodes swaps the user's recovery codes for hashes, in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.DeleteRecoveryCodes(ctx, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := s.exec(ctx, `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
				userID, h, ts(now)); err != nil {
				return fmt.Errorf("put recovery code of %q: %w", userID, mapErr(err))
			}
		}
		return nil
	})
}

// UseRecoveryCode marks an unused code used, in one statement.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	n, err := s.execN(ctx, `UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		ts(now), userID, hash)
	if err != nil {
		return fmt.Errorf("use recovery code of %q: %w", userID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("use recovery code of %q: %w", userID, storage.ErrNotFound)
	}
	return nil
}

// CountRecoveryCodes counts the user's unused recovery codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes of %q: %w", userID, mapErr(err))
	}
	return n, nil
}

// DeleteRecoveryCodes removes the user's recovery codes.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete recovery codes of %q: %w", userID, mapErr(err))
	}
	return nil
}

// PutLoginChallenge stores c and sweeps the expired challenges (they are few: minutes each).
func (s *Store) PutLoginChallenge(ctx context.Context, c storage.LoginChallenge) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, `DELETE FROM login_challenges WHERE expires_at < ?`, ts(c.CreatedAt)); err != nil {
			return fmt.Errorf("sweep login challenges: %w", mapErr(err))
		}
		_, err := s.exec(ctx, `INSERT INTO login_challenges (id_hash, user_id, amr, session_id, return_to, attempts,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.IDHash, c.UserID, encodeList(c.AMR), c.SessionID, c.ReturnTo, c.Attempts, ts(c.CreatedAt), ts(c.ExpiresAt))
		if err != nil {
			return fmt.Errorf("put login challenge: %w", mapErr(err))
		}
		return nil
	})
}

// GetLoginChallenge returns a live challenge.
func (s *Store) GetLoginChallenge(ctx context.Context, idHash []byte, now time.Time) (storage.LoginChallenge, error) {
	var (
		c   storage.LoginChallenge
		amr string
	)
	err := s.row(ctx, `SELECT id_hash, user_id, amr, session_id, return_to, attempts, created_at, expires_at
		FROM login_challenges WHERE id_hash = ? AND expires_at > ?`, idHash, ts(now)).
		Scan(&c.IDHash, &c.UserID, &amr, &c.SessionID, &c.ReturnTo, &c.Attempts, &c.CreatedAt, &c.ExpiresAt)
	if err != nil {
		return storage.LoginChallenge{}, fmt.Errorf("get login challenge: %w", mapErr(err))
	}
	if c.AMR, err = decodeList(amr); err != nil {
		return storage.LoginChallenge{}, fmt.Errorf("login challenge amr: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c, nil
}

// CountChallengeAttempt adds a wrong answer in one statement.
func (s *Store) CountChallengeAttempt(ctx context.Context, idHash []byte) (int, error) {
	var n int
	err := s.row(ctx, `UPDATE login_challenges SET attempts = attempts + 1 WHERE id_hash = ? RETURNING attempts`, idHash).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count challenge attempt: %w", mapErr(err))
	}
	return n, nil
}

// DeleteLoginChallenge removes the challenge once.
func (s *Store) DeleteLoginChallenge(ctx context.Context, idHash []byte) error {
	n, err := s.execN(ctx, `DELETE FROM login_challenges WHERE id_hash = ?`, idHash)
	if err != nil {
		return fmt.Errorf("delete login challenge: %w", mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("delete login challenge: %w", storage.ErrNotFound)
	}
	return nil
}

// ElevateSession sets a live session's methods and sign-in time.
func (s *Store) ElevateSession(ctx context.Context, id string, amr []string, authTime time.Time) error {
	n, err := s.execN(ctx, `UPDATE sessions SET amr = ?, auth_time = ? WHERE id = ?`, encodeList(amr), ts(authTime), id)
	if err != nil {
		return fmt.Errorf("elevate session: %w", mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("elevate session: %w", storage.ErrNotFound)
	}
	return nil
}
