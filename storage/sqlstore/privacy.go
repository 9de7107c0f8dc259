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

// releasePostgres reads the user with its release_version, the private-profile switch and
// the grant (one row, part 0) and the profile fields (part 1, one row each) in one statement,
// so the version and the data come from one snapshot. On PostgreSQL each query is at least
// one round trip (two for an unprepared one). The field rows reuse the user row's columns:
// field → id, value → email, privacy → password_hash, updated_at → created_at.
const releasePostgres = `
SELECT 0, u.id, COALESCE(u.email, u.unverified_email, ''), u.email_verified, u.password_hash, u.admin, u.status,
       u.created_at, u.updated_at, COALESCE(p.private_profile, FALSE), u.release_version,
       g.client_id, g.scopes, g.claims, g.created_at, g.updated_at
  FROM users u
  LEFT JOIN privacy_settings p ON p.user_id = u.id
  LEFT JOIN grants g ON g.user_id = u.id AND g.client_id = ?
 WHERE u.id = ?
UNION ALL
SELECT 1, f.field, f.value, FALSE, f.privacy, FALSE, '', f.updated_at, f.updated_at, FALSE, 0,
       NULL, NULL, NULL, NULL, NULL
  FROM profile_fields f
 WHERE f.user_id = ?
 ORDER BY 1, 2`

// releaseVersion is the one read of a cache hit: the user's release_version (migration 0007).
const releaseVersion = `SELECT release_version FROM users WHERE id = ?`

// GetReleaseData reads what a release needs. userinfo and every ID token run it, so its data
// is kept per node (releaseCache) and checked against the user's release_version: a hit costs
// one primary-key read. Triggers bump the version in the same transaction as every change of
// the data, made by any node, so an entry whose version is still current holds current data.
//
// Without a usable entry it reads the data and its version (readRelease) and keeps them.
// Inside a transaction it neither uses nor fills the cache: the transaction may see its own
// uncommitted bumps, and a version that is rolled back can later be reached again by other
// changes, so data read there must not be kept under it.
func (s *Store) GetReleaseData(ctx context.Context, userID, clientID string) (storage.ReleaseData, error) {
	version := int64(-1)
	// An entry costs one read of the version; without one, read the data at once (on
	// PostgreSQL its version comes with it).
	if _, inTx := s.txFrom(ctx); !inTx {
		if _, ok := s.release.get(releaseKey{userID: userID, clientID: clientID}); ok {
			if err := s.row(ctx, releaseVersion, userID).Scan(&version); err != nil {
				if err = mapErr(err); errors.Is(err, storage.ErrNotFound) {
					s.release.drop(releaseKey{userID: userID, clientID: clientID})
				}
				return storage.ReleaseData{}, fmt.Errorf("get release data of %q: %w", userID, err)
			}
		}
	}
	return s.GetReleaseDataAt(ctx, userID, clientID, version)
}

// GetReleaseDataAt is GetReleaseData when the caller has read the user's version itself
// (GetTokenReleaseVersion): a hit at that version costs no read at all; -1 never hits.
func (s *Store) GetReleaseDataAt(ctx context.Context, userID, clientID string, version int64) (storage.ReleaseData, error) {
	if _, inTx := s.txFrom(ctx); inTx {
		d, _, err := s.readRelease(ctx, userID, clientID)
		return d, err
	}
	key := releaseKey{userID: userID, clientID: clientID}
	if e, ok := s.release.get(key); ok && version >= 0 && e.version == version {
		return e.data, nil
	}
	return s.readReleaseCached(ctx, key)
}

// readReleaseCached reads the data and keeps it under the version read with it.
func (s *Store) readReleaseCached(ctx context.Context, key releaseKey) (storage.ReleaseData, error) {
	d, v, err := s.readRelease(ctx, key.userID, key.clientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			s.release.drop(key)
		}
		return storage.ReleaseData{}, err
	}
	s.release.put(key, releaseEntry{version: v, data: d})
	return d, nil
}

// readRelease reads the release data and a version it may be kept under: the data is at
// least as new as that version. PostgreSQL: one statement (releasePostgres), one snapshot.
// SQLite: four simple queries, which run in-process and cost less than one compound query
// with joins (see docs/performance.md); they are separate reads, so the version comes with
// the first (the user row) and the rest can only be newer. Data newer than its version is
// never served stale: a later read of the version finds the bump of that newer change, misses
// and reads again.
func (s *Store) readRelease(ctx context.Context, userID, clientID string) (storage.ReleaseData, int64, error) {
	if s.dialect != DialectPostgres {
		return s.releaseDataQueries(ctx, userID, clientID)
	}
	rows, err := s.queryPrepared(ctx, releasePostgres, clientID, userID, userID)
	if err != nil {
		return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var (
		d       storage.ReleaseData
		version int64
		seen    bool
	)
	for rows.Next() {
		var (
			part                     int
			id, email, pw, status    string
			verified, admin, private bool
			created, updated         time.Time
			v                        int64
			gClient, gScopes, gClaim sql.NullString
			gCreated, gUpdated       sql.NullTime
		)
		if err := rows.Scan(&part, &id, &email, &verified, &pw, &admin, &status, &created, &updated, &private, &v,
			&gClient, &gScopes, &gClaim, &gCreated, &gUpdated); err != nil {
			return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
		}
		if part == 1 {
			d.Fields = append(d.Fields, storage.ProfileField{UserID: userID, Field: id, Value: email, Privacy: pw, UpdatedAt: created.UTC()})
			continue
		}
		seen, version = true, v
		d.User = storage.User{ID: id, Email: email, EmailVerified: verified, PasswordHash: pw, Admin: admin, Status: status,
			CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
		d.PrivateProfile = private
		if gClient.Valid {
			g := storage.Grant{UserID: userID, ClientID: gClient.String, CreatedAt: gCreated.Time.UTC(), UpdatedAt: gUpdated.Time.UTC()}
			if g.Scopes, err = decodeList(gScopes.String); err == nil {
				g.Claims, err = decodeList(gClaim.String)
			}
			if err != nil {
				return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: grant: %w", userID, err)
			}
			d.Grant = g
		}
	}
	if err := rows.Err(); err != nil {
		return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
	}
	if !seen {
		return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: %w", userID, storage.ErrNotFound)
	}
	return d, version, nil
}

// releaseDataQueries is readRelease on SQLite: the user row with its version first, then the
// fields, the switch and the grant.
func (s *Store) releaseDataQueries(ctx context.Context, userID, clientID string) (storage.ReleaseData, int64, error) {
	var (
		d       storage.ReleaseData
		version int64
	)
	u := &d.User
	err := s.row(ctx, `SELECT `+userSelect+`, release_version FROM users WHERE id = ?`, userID).
		Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Admin, &u.Status, &u.CreatedAt, &u.UpdatedAt, &version)
	if err != nil {
		return storage.ReleaseData{}, 0, fmt.Errorf("get release data of %q: %w", userID, mapErr(err))
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if d.Fields, err = s.GetProfileFields(ctx, userID); err != nil {
		return storage.ReleaseData{}, 0, err
	}
	if d.PrivateProfile, err = s.GetPrivateProfile(ctx, userID); err != nil {
		return storage.ReleaseData{}, 0, err
	}
	if clientID != "" {
		d.Grant, err = s.GetGrant(ctx, userID, clientID)
		if errors.Is(err, storage.ErrNotFound) {
			d.Grant, err = storage.Grant{}, nil
		}
		if err != nil {
			return storage.ReleaseData{}, 0, err
		}
	}
	return d, version, nil
}
