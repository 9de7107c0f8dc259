package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/facetid/facet/storage"
)

// SetFieldPrivacy upserts only the privacy column, so a concurrent value edit is never
// overwritten with a stale value.
func (s *Store) SetFieldPrivacy(ctx context.Context, userID, field, privacy string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO profile_fields (user_id, field, value, privacy, updated_at) VALUES (?, ?, '', ?, ?)
		ON CONFLICT (user_id, field) DO UPDATE SET privacy = excluded.privacy`, userID, field, privacy, ts(at))
	if err != nil {
		if isForeignKey(err) {
			return fmt.Errorf("set privacy of %q of %q: %w", field, userID, storage.ErrNotFound)
		}
		return fmt.Errorf("set privacy of %q of %q: %w", field, userID, mapErr(err))
	}
	return nil
}

// isForeignKey reports whether err is a foreign-key violation (the referenced user is gone).
func isForeignKey(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23503"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// GetPrivateProfile reports the user's private-profile switch; no row is off.
func (s *Store) GetPrivateProfile(ctx context.Context, userID string) (bool, error) {
	var on bool
	err := s.row(ctx, `SELECT private_profile FROM privacy_settings WHERE user_id = ?`, userID).Scan(&on)
	if err != nil {
		if errors.Is(mapErr(err), storage.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("get private profile of %q: %w", userID, mapErr(err))
	}
	return on, nil
}

// SetPrivateProfile stores the switch in one upsert; ErrNotFound when the user is unknown
// (the foreign key refuses the row).
func (s *Store) SetPrivateProfile(ctx context.Context, userID string, on bool, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO privacy_settings (user_id, private_profile, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET private_profile = excluded.private_profile, updated_at = excluded.updated_at`,
		userID, on, ts(at))
	if err != nil {
		if isForeignKey(err) {
			return fmt.Errorf("set private profile of %q: %w", userID, storage.ErrNotFound)
		}
		return fmt.Errorf("set private profile of %q: %w", userID, mapErr(err))
	}
	return nil
}

// claimSetHash keys a set of claim names: SHA-256 of the sorted names joined by spaces.
func claimSetHash(sorted []string) string {
	sum := sha256.Sum256([]byte(strings.Join(sorted, " ")))
	return hex.EncodeToString(sum[:])
}

// RecordDisclosures upserts each line (see storage.PrivacyStore), in one transaction.
func (s *Store) RecordDisclosures(ctx context.Context, ds []storage.Disclosure) error {
	if len(ds) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		for _, d := range ds {
			claims := slices.Clone(d.Claims)
			slices.Sort(claims)
			claims = slices.Compact(claims)
			first, last := d.FirstAt, d.LastAt
			if last.IsZero() {
				last = first
			}
			if first.IsZero() || last.Before(first) {
				first = last
			}
			n := d.Count
			if n <= 0 {
				n = 1
			}
			_, err := s.exec(ctx, `INSERT INTO disclosures (user_id, client_id, claims_hash, claims, first_at, last_at, count)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (user_id, client_id, claims_hash) DO UPDATE SET
					first_at = CASE WHEN excluded.first_at < disclosures.first_at THEN excluded.first_at ELSE disclosures.first_at END,
					last_at = CASE WHEN excluded.last_at > disclosures.last_at THEN excluded.last_at ELSE disclosures.last_at END,
					count = disclosures.count + excluded.count`,
				d.UserID, d.ClientID, claimSetHash(claims), encodeList(claims), ts(first), ts(last), n)
			if err != nil {
				return fmt.Errorf("record disclosure to %q of %q: %w", d.ClientID, d.UserID, mapErr(err))
			}
		}
		return nil
	})
}

// ListDisclosures returns the user's record, latest first.
func (s *Store) ListDisclosures(ctx context.Context, userID string) ([]storage.Disclosure, error) {
	rows, err := s.rows(ctx, `SELECT user_id, client_id, claims, first_at, last_at, count FROM disclosures
		WHERE user_id = ? ORDER BY last_at DESC, client_id, claims_hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("list disclosures of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.Disclosure
	for rows.Next() {
		var (
			d      storage.Disclosure
			claims string
		)
		if err := rows.Scan(&d.UserID, &d.ClientID, &claims, &d.FirstAt, &d.LastAt, &d.Count); err != nil {
			return nil, fmt.Errorf("list disclosures of %q: %w", userID, mapErr(err))
		}
		if d.Claims, err = decodeList(claims); err != nil {
			return nil, fmt.Errorf("list disclosures of %q: %w", userID, err)
		}
		d.FirstAt, d.LastAt = d.FirstAt.UTC(), d.LastAt.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list disclosures of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// releasePostgres reads the user, the private-profile switch and the grant (one row, part 0)
// and the profile fields (part 1, one row each) in one statement. On PostgreSQL each query is
// at least one round trip (two for an unprepared one), and userinfo runs this on every call.
// The field rows reuse the user row's columns: field → id, value → email, privacy →
// password_hash, updated_at → created_at.
const releasePostgres = `
SELECT 0, u.id, COALESCE(u.email, ''), u.email_verified, u.password_hash, u.admin, u.status,
       u.created_at, u.updated_at, COALESCE(p.private_profile, FALSE),
       g.client_id, g.scopes, g.claims, g.created_at, g.updated_at
  FROM users u
  LEFT JOIN privacy_settings p ON p.user_id = u.id
  LEFT JOIN grants g ON g.user_id = u.id AND g.client_id = ?
 WHERE u.id = ?
UNION ALL
SELECT 1, f.field, f.value, FALSE, f.privacy, FALSE, '', f.updated_at, f.updated_at, FALSE,
       NULL, NULL, NULL, NULL, NULL
  FROM profile_fields f
 WHERE f.user_id = ?
 ORDER BY 1, 2`

// GetReleaseData reads what a release needs. PostgreSQL: one statement (releasePostgres).
// SQLite: the four simple queries, which run in-process and cost less than one compound
// query with joins (see docs/performance.md).
func (s *Store) GetReleaseData(ctx context.Context, userID, clientID string) (storage.ReleaseData, error) {
	if s.dialect != DialectPostgres {
		return s.releaseDataQueries(ctx, userID, clientID)
	}
	rows, err := s.queryPrepared(ctx, releasePostgres, clientID, userID, userID)
	if err != nil {
		return storage.ReleaseData{}, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var (
		d    storage.ReleaseData
		seen bool
	)
	for rows.Next() {
		var (
			part                     int
			id, email, pw, status    string
			verified, admin, private bool
			created, updated         time.Time
			gClient, gScopes, gClaim sql.NullString
			gCreated, gUpdated       sql.NullTime
		)
		if err := rows.Scan(&part, &id, &email, &verified, &pw, &admin, &status, &created, &updated, &private,
			&gClient, &gScopes, &gClaim, &gCreated, &gUpdated); err != nil {
			return storage.ReleaseData{}, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
		}
		if part == 1 {
			d.Fields = append(d.Fields, storage.ProfileField{UserID: userID, Field: id, Value: email, Privacy: pw, UpdatedAt: created.UTC()})
			continue
		}
		seen = true
		d.User = storage.User{ID: id, Email: email, EmailVerified: verified, PasswordHash: pw, Admin: admin, Status: status,
			CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
		d.PrivateProfile = private
		if gClient.Valid {
			g := storage.Grant{UserID: userID, ClientID: gClient.String, CreatedAt: gCreated.Time.UTC(), UpdatedAt: gUpdated.Time.UTC()}
			if g.Scopes, err = decodeList(gScopes.String); err == nil {
				g.Claims, err = decodeList(gClaim.String)
			}
			if err != nil {
				return storage.ReleaseData{}, fmt.Errorf("get release data of %q: grant: %w", userID, err)
			}
			d.Grant = g
		}
	}
	if err := rows.Err(); err != nil {
		return storage.ReleaseData{}, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
	}
	if !seen {
		return storage.ReleaseData{}, fmt.Errorf("get release data of %q: %w", userID, storage.ErrNotFound)
	}
	return d, nil
}

func (s *Store) releaseDataQueries(ctx context.Context, userID, clientID string) (storage.ReleaseData, error) {
	var (
		d   storage.ReleaseData
		err error
	)
	if d.User, err = s.GetUser(ctx, userID); err != nil {
		return storage.ReleaseData{}, err
	}
	if d.Fields, err = s.GetProfileFields(ctx, userID); err != nil {
		return storage.ReleaseData{}, err
	}
	if d.PrivateProfile, err = s.GetPrivateProfile(ctx, userID); err != nil {
		return storage.ReleaseData{}, err
	}
	if clientID != "" {
		d.Grant, err = s.GetGrant(ctx, userID, clientID)
		if errors.Is(err, storage.ErrNotFound) {
			d.Grant, err = storage.Grant{}, nil
		}
		if err != nil {
			return storage.ReleaseData{}, err
		}
	}
	return d, nil
}
