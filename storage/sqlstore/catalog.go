package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// inCatalog is the rule of storage.CatalogStore on clients c for the user bound to its last
// placeholder: listed, and open or closed with the user holding access. Its first two
// placeholders take true and false (booleans are INTEGER on SQLite, BOOLEAN on PostgreSQL;
// the driver binds either).
const inCatalog = `c.in_catalog = ? AND (c.closed = ? OR EXISTS (
	SELECT 1 FROM client_access a WHERE a.client_id = c.id AND a.user_id = ?))`

const catalogCols = `c.id, c.name, c.description, c.logo_uri, c.home_uri, c.type, f.created_at`

func scanCatalogApp(sc scanner) (storage.CatalogApp, error) {
	var a storage.CatalogApp
	if err := sc.Scan(&a.ClientID, &a.Name, &a.Description, &a.LogoURI, &a.HomeURI, &a.Type, &a.FavoriteAt); err != nil {
		return storage.CatalogApp{}, err
	}
	if a.FavoriteAt != nil {
		t := a.FavoriteAt.UTC()
		a.FavoriteAt, a.Favorite = &t, true
	}
	return a, nil
}

// CatalogApps returns the apps in userID's catalog with userID's favorite marks, by id.
func (s *Store) CatalogApps(ctx context.Context, userID string) ([]storage.CatalogApp, error) {
	return s.catalogApps(ctx, "catalog apps", `SELECT `+catalogCols+` FROM clients c
		LEFT JOIN favorites f ON f.client_id = c.id AND f.user_id = ?
		WHERE `+inCatalog+` ORDER BY c.id`, userID, true, false, userID)
}

// Favorites returns userID's favorites that are in userID's catalog now, by client id.
func (s *Store) Favorites(ctx context.Context, userID string) ([]storage.CatalogApp, error) {
	return s.catalogApps(ctx, "favorites", `SELECT `+catalogCols+` FROM favorites f
		JOIN clients c ON c.id = f.client_id
		WHERE f.user_id = ? AND `+inCatalog+` ORDER BY c.id`, userID, true, false, userID)
}

// ListFavorites returns every favorite of userID, in the catalog or not, oldest first.
func (s *Store) ListFavorites(ctx context.Context, userID string) ([]storage.CatalogApp, error) {
	return s.catalogApps(ctx, "list favorites", `SELECT `+catalogCols+` FROM favorites f
		JOIN clients c ON c.id = f.client_id
		WHERE f.user_id = ? ORDER BY f.created_at, c.id`, userID)
}

func (s *Store) catalogApps(ctx context.Context, what, query string, args ...any) ([]storage.CatalogApp, error) {
	rows, err := s.queryPrepared(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	defer rows.Close()
	var out []storage.CatalogApp
	for rows.Next() {
		a, err := scanCatalogApp(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, mapErr(err))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return out, nil
}

// CatalogApp returns clientID as userID's catalog shows it; ErrNotFound when it is not there.
func (s *Store) CatalogApp(ctx context.Context, userID, clientID string) (storage.CatalogApp, error) {
	a, err := scanCatalogApp(s.row(ctx, `SELECT `+catalogCols+` FROM clients c
		LEFT JOIN favorites f ON f.client_id = c.id AND f.user_id = ?
		WHERE c.id = ? AND `+inCatalog, userID, clientID, true, false, userID))
	if err != nil {
		return storage.CatalogApp{}, fmt.Errorf("catalog app %q: %w", clientID, mapErr(err))
	}
	return a, nil
}

// AddFavorite marks clientID favorite for userID when it is in userID's catalog, in one
// statement: the check and the insert cannot be told apart by a concurrent revocation. When
// it inserts nothing, the app was either marked already or not in the catalog; a read tells
// which.
func (s *Store) AddFavorite(ctx context.Context, userID, clientID string, at time.Time) error {
	n, err := s.execN(ctx, `INSERT INTO favorites (user_id, client_id, created_at)
		SELECT ?, c.id, ? FROM clients c WHERE c.id = ? AND `+inCatalog+`
		ON CONFLICT (user_id, client_id) DO NOTHING`, userID, ts(at), clientID, true, false, userID)
	if err != nil {
		return fmt.Errorf("add favorite %q: %w", clientID, mapErr(err))
	}
	if n > 0 {
		return nil
	}
	if _, err := s.CatalogApp(ctx, userID, clientID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("add favorite %q: %w", clientID, storage.ErrNotFound)
		}
		return err
	}
	return nil
}

// RemoveFavorite unmarks clientID for userID; false when it was not marked.
func (s *Store) RemoveFavorite(ctx context.Context, userID, clientID string) (bool, error) {
	n, err := s.execN(ctx, `DELETE FROM favorites WHERE user_id = ? AND client_id = ?`, userID, clientID)
	if err != nil {
		return false, fmt.Errorf("remove favorite %q: %w", clientID, mapErr(err))
	}
	return n > 0, nil
}
