package storage

import (
	"context"
	"time"
)

// CatalogApp is an app of the application catalog as one user sees it: what the catalog
// shows of the client, and whether the user marked it favorite (FavoriteAt is then when).
type CatalogApp struct {
	ClientID    string
	Name        string
	Description string
	LogoURI     string
	HomeURI     string
	Type        string
	Favorite    bool
	FavoriteAt  *time.Time
}

// CatalogStore reads the application catalog and persists favorites.
//
// An app is in a user's catalog when it is listed (in_catalog) and either open or closed
// with the user holding access to it (InviteStore). Every read applies that rule when it
// runs, so an app taken out of the catalog or whose access was revoked disappears from the
// list and from the favorites at once; the favorite row stays, and shows again when the app
// does.
type CatalogStore interface {
	// CatalogApps returns the apps in userID's catalog, each with whether userID marked it
	// favorite, ordered by client id (callers order them for people).
	CatalogApps(ctx context.Context, userID string) ([]CatalogApp, error)
	// CatalogApp returns clientID as userID's catalog shows it; ErrNotFound when it is not
	// in userID's catalog (unknown, unlisted, or closed without access).
	CatalogApp(ctx context.Context, userID, clientID string) (CatalogApp, error)
	// AddFavorite marks clientID favorite for userID, in one statement that checks it is in
	// userID's catalog: ErrNotFound when it is not. Marking it again keeps the first time.
	AddFavorite(ctx context.Context, userID, clientID string, at time.Time) error
	// RemoveFavorite unmarks clientID for userID; false when it was not marked.
	RemoveFavorite(ctx context.Context, userID, clientID string) (bool, error)
	// Favorites returns userID's favorites that are in userID's catalog now, ordered by
	// client id.
	Favorites(ctx context.Context, userID string) ([]CatalogApp, error)
	// ListFavorites returns every favorite userID marked, shown or not (the data export),
	// oldest first, then by client id.
	ListFavorites(ctx context.Context, userID string) ([]CatalogApp, error)
}
