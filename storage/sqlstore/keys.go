package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// CreateSigningKey stores k. When k is active, every other active key is retired in the same
// transaction: Active=false, RetiredAt=k.CreatedAt (now when zero), PublishUntil=
// publishRetiredUntil, so it stays in JWKS for tokens it signed.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey, publishRetiredUntil time.Time) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		if k.Active {
			_, err := s.exec(ctx, `UPDATE signing_keys SET active = FALSE, retired_at = ?, publish_until = ?
				WHERE active`, ts(k.CreatedAt), ts(publishRetiredUntil))
			if err != nil {
				return mapErr(err)
			}
		}
		_, err := s.exec(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, public_jwk, active,
			created_at, retired_at, publish_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.PrivateKey, k.PublicJWK, k.Active, ts(k.CreatedAt), tsPtr(k.RetiredAt), tsPtr(k.PublishUntil))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("create signing key %q: %w", k.ID, err)
	}
	return nil
}

// ListSigningKeys returns every key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, err := s.rows(ctx, `SELECT id, algorithm, private_key, public_jwk, active, created_at, retired_at,
		publish_until FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.SigningKey
	for rows.Next() {
		var k storage.SigningKey
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicJWK, &k.Active, &k.CreatedAt,
			&k.RetiredAt, &k.PublishUntil); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", mapErr(err))
		}
		k.CreatedAt, k.RetiredAt, k.PublishUntil = k.CreatedAt.UTC(), utcPtr(k.RetiredAt), utcPtr(k.PublishUntil)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", mapErr(err))
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
