package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const cardColumns = `user_id, identifier, active, created_at, updated_at`

func scanCard(sc scanner) (storage.Card, error) {
	var c storage.Card
	if err := sc.Scan(&c.UserID, &c.Identifier, &c.Active, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return storage.Card{}, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// GetCard returns userID's card.
func (s *Store) GetCard(ctx context.Context, userID string) (storage.Card, error) {
	c, err := scanCard(s.row(ctx, `SELECT `+cardColumns+` FROM cards WHERE user_id = ?`, userID))
	if err != nil {
		return storage.Card{}, fmt.Errorf("get card of %q: %w", userID, mapErr(err))
	}
	return c, nil
}

// GetCardByIdentifier looks the identifier up through the unique index on lower(identifier).
func (s *Store) GetCardByIdentifier(ctx context.Context, identifier string) (storage.Card, error) {
	c, err := scanCard(s.row(ctx, `SELECT `+cardColumns+` FROM cards WHERE lower(identifier) = lower(?)`, identifier))
	if err != nil {
		return storage.Card{}, fmt.Errorf("get card %q: %w", identifier, mapErr(err))
	}
	return c, nil
}

// CreateCardIfAbsent inserts c unless the user has a card (ON CONFLICT on the user only: a
// taken identifier still fails with ErrAlreadyExists), then reads the stored card.
func (s *Store) CreateCardIfAbsent(ctx context.Context, c storage.Card) (storage.Card, error) {
	_, err := s.exec(ctx, `INSERT INTO cards (`+cardColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, c.UserID, c.Identifier, c.Active, ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		if isForeignKey(err) {
			return storage.Card{}, fmt.Errorf("create card of %q: %w", c.UserID, storage.ErrNotFound)
		}
		return storage.Card{}, fmt.Errorf("create card of %q: %w", c.UserID, mapErr(err))
	}
	return s.GetCard(ctx, c.UserID)
}

// UpdateCard changes the identifier and the switch in one statement.
func (s *Store) UpdateCard(ctx context.Context, c storage.Card) error {
	n, err := s.execN(ctx, `UPDATE cards SET identifier = ?, active = ?, updated_at = ? WHERE user_id = ?`,
		c.Identifier, c.Active, ts(c.UpdatedAt), c.UserID)
	if err != nil {
		return fmt.Errorf("update card of %q: %w", c.UserID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("update card of %q: %w", c.UserID, storage.ErrNotFound)
	}
	return nil
}

// ListFeatures returns the stored switches by name.
func (s *Store) ListFeatures(ctx context.Context) ([]storage.Feature, error) {
	rows, err := s.rows(ctx, `SELECT name, enabled, updated_at FROM features ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list features: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.Feature
	for rows.Next() {
		var f storage.Feature
		if err := rows.Scan(&f.Name, &f.Enabled, &f.UpdatedAt); err != nil {
			return nil, fmt.Errorf("list features: %w", mapErr(err))
		}
		f.UpdatedAt = f.UpdatedAt.UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list features: %w", mapErr(err))
	}
	return out, nil
}

// GetFeature returns the stored switch of name.
func (s *Store) GetFeature(ctx context.Context, name string) (storage.Feature, error) {
	var f storage.Feature
	err := s.row(ctx, `SELECT name, enabled, updated_at FROM features WHERE name = ?`, name).Scan(&f.Name, &f.Enabled, &f.UpdatedAt)
	if err != nil {
		return storage.Feature{}, fmt.Errorf("get feature %q: %w", name, mapErr(err))
	}
	f.UpdatedAt = f.UpdatedAt.UTC()
	return f, nil
}

// SetFeature upserts the switch of name.
func (s *Store) SetFeature(ctx context.Context, name string, enabled bool, at time.Time) error {
	if name == "" {
		return errors.New("set feature: empty name")
	}
	_, err := s.exec(ctx, `INSERT INTO features (name, enabled, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`, name, enabled, ts(at))
	if err != nil {
		return fmt.Errorf("set feature %q: %w", name, mapErr(err))
	}
	return nil
}
