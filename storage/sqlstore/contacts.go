package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const verificationCols = `user_id, kind, value, channel, code_hash, link_hash, attempts, expires_at, last_sent_at, created_at`

func scanVerification(sc scanner) (storage.Verification, error) {
	var v storage.Verification
	err := sc.Scan(&v.UserID, &v.Kind, &v.Value, &v.Channel, &v.CodeHash, &v.LinkHash, &v.Attempts,
		&v.ExpiresAt, &v.LastSentAt, &v.CreatedAt)
	v.ExpiresAt, v.LastSentAt, v.CreatedAt = v.ExpiresAt.UTC(), v.LastSentAt.UTC(), v.CreatedAt.UTC()
	if len(v.LinkHash) == 0 {
		v.LinkHash = nil
	}
	return v, err
}

// nullBytes stores an empty slice as NULL, so the partial unique index on link_hash skips it.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// PutVerification upserts the pending verification of (user, kind) unless the stored one was
// sent after sentBefore: the throttle check and the write are one statement, so two nodes
// racing to resend store (and send) one code.
func (s *Store) PutVerification(ctx context.Context, v storage.Verification, sentBefore time.Time) (bool, error) {
	n, err := s.execN(ctx, `INSERT INTO verifications (`+verificationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (user_id, kind) DO UPDATE SET value = excluded.value, channel = excluded.channel,
			code_hash = excluded.code_hash, link_hash = excluded.link_hash, attempts = 0,
			expires_at = excluded.expires_at, last_sent_at = excluded.last_sent_at,
			created_at = excluded.created_at
		WHERE verifications.last_sent_at <= ?`,
		v.UserID, v.Kind, v.Value, v.Channel, v.CodeHash, nullBytes(v.LinkHash),
		ts(v.ExpiresAt), ts(v.LastSentAt), ts(v.CreatedAt), ts(sentBefore))
	if err != nil {
		return false, fmt.Errorf("put %s verification of %q: %w", v.Kind, v.UserID, mapErr(err))
	}
	return n == 1, nil
}

// GetVerification returns the pending verification of (userID, kind).
func (s *Store) GetVerification(ctx context.Context, userID, kind string) (storage.Verification, error) {
	v, err := scanVerification(s.row(ctx, `SELECT `+verificationCols+` FROM verifications
		WHERE user_id = ? AND kind = ?`, userID, kind))
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get %s verification of %q: %w", kind, userID, mapErr(err))
	}
	return v, nil
}

// GetVerificationByLink returns the pending verification whose link token hashes to linkHash.
func (s *Store) GetVerificationByLink(ctx context.Context, linkHash []byte) (storage.Verification, error) {
	if len(linkHash) == 0 {
		return storage.Verification{}, fmt.Errorf("get verification by link: %w", storage.ErrNotFound)
	}
	v, err := scanVerification(s.row(ctx, `SELECT `+verificationCols+` FROM verifications
		WHERE link_hash = ?`, linkHash))
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get verification by link: %w", mapErr(err))
	}
	return v, nil
}

// CountVerificationAttempt adds one attempt below max in one statement and returns the count.
func (s *Store) CountVerificationAttempt(ctx context.Context, userID, kind string, max int) (int, error) {
	var n int
	err := s.row(ctx, `UPDATE verifications SET attempts = attempts + 1
		WHERE user_id = ? AND kind = ? AND attempts < ? RETURNING attempts`, userID, kind, max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s verification attempt of %q: %w", kind, userID, mapErr(err))
	}
	return n, nil
}

// ConsumeVerification deletes the verification if it still holds v's code hash.
func (s *Store) ConsumeVerification(ctx context.Context, v storage.Verification) error {
	n, err := s.execN(ctx, `DELETE FROM verifications WHERE user_id = ? AND kind = ? AND code_hash = ?`,
		v.UserID, v.Kind, v.CodeHash)
	if err != nil {
		return fmt.Errorf("consume %s verification of %q: %w", v.Kind, v.UserID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("consume %s verification of %q: %w", v.Kind, v.UserID, storage.ErrNotFound)
	}
	return nil
}

// DeleteVerification removes the pending verification of (userID, kind), if any.
func (s *Store) DeleteVerification(ctx context.Context, userID, kind string) error {
	if _, err := s.exec(ctx, `DELETE FROM verifications WHERE user_id = ? AND kind = ?`, userID, kind); err != nil {
		return fmt.Errorf("delete %s verification of %q: %w", kind, userID, mapErr(err))
	}
	return nil
}

// PhoneOwner returns the user holding the verified phone number phone. The condition repeats
// the partial unique index's predicate so the index answers it.
func (s *Store) PhoneOwner(ctx context.Context, phone string) (string, error) {
	var id string
	err := s.row(ctx, `SELECT user_id FROM profile_fields
		WHERE field = 'phone_number' AND value <> '' AND value = ?`, phone).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("phone owner: %w", mapErr(err))
	}
	return id, nil
}

// CreatePhoto stores p.
func (s *Store) CreatePhoto(ctx context.Context, p storage.Photo) error {
	_, err := s.exec(ctx, `INSERT INTO photos (id, user_id, content_type, data, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.ContentType, p.Data, ts(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("create photo of %q: %w", p.UserID, mapErr(err))
	}
	return nil
}

// GetPhoto returns the photo with id.
func (s *Store) GetPhoto(ctx context.Context, id string) (storage.Photo, error) {
	var p storage.Photo
	err := s.row(ctx, `SELECT id, user_id, content_type, data, created_at FROM photos WHERE id = ?`, id).
		Scan(&p.ID, &p.UserID, &p.ContentType, &p.Data, &p.CreatedAt)
	if err != nil {
		return storage.Photo{}, fmt.Errorf("get photo: %w", mapErr(err))
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, nil
}

// DeletePhoto removes userID's photo id; ErrNotFound when it is not userID's (or absent).
func (s *Store) DeletePhoto(ctx context.Context, userID, id string) error {
	n, err := s.execN(ctx, `DELETE FROM photos WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete photo of %q: %w", userID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("delete photo of %q: %w", userID, storage.ErrNotFound)
	}
	return nil
}

// DeleteOtherPhotos removes userID's photos but keepID.
func (s *Store) DeleteOtherPhotos(ctx context.Context, userID, keepID string) (int64, error) {
	n, err := s.execN(ctx, `DELETE FROM photos WHERE user_id = ? AND id <> ?`, userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("delete other photos of %q: %w", userID, mapErr(err))
	}
	return n, nil
}

// AddDevMail appends m and trims the outbox to the newest keep messages, in one transaction.
func (s *Store) AddDevMail(ctx context.Context, m storage.DevMail, keep int) error {
	if keep < 1 {
		keep = 1
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		_, err := s.exec(ctx, `INSERT INTO dev_mail (channel, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?)`,
			m.Channel, m.To, m.Subject, m.Body, ts(m.CreatedAt))
		if err != nil {
			return fmt.Errorf("add dev mail: %w", mapErr(err))
		}
		_, err = s.exec(ctx, `DELETE FROM dev_mail WHERE seq <= (SELECT COALESCE(MAX(seq), 0) FROM dev_mail) - ?`, keep)
		if err != nil {
			return fmt.Errorf("trim dev mail: %w", mapErr(err))
		}
		return nil
	})
}

// ListDevMail returns up to limit messages, newest first.
func (s *Store) ListDevMail(ctx context.Context, limit int) ([]storage.DevMail, error) {
	rows, err := s.rows(ctx, `SELECT seq, channel, recipient, subject, body, created_at FROM dev_mail
		ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dev mail: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.DevMail
	for rows.Next() {
		var m storage.DevMail
		if err := rows.Scan(&m.Seq, &m.Channel, &m.To, &m.Subject, &m.Body, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("list dev mail: %w", mapErr(err))
		}
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dev mail: %w", mapErr(err))
	}
	return out, nil
}
