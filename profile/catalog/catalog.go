// Package catalog owns the application catalog and favorites: the Catalog window listing the
// apps an administrator put in the catalog, grouped by type, each leading to its home page
// (where its sign-in through Facet starts); the star that marks an app favorite; the
// favorites in the sidebar of every account page; and the account API's GET
// /api/account/catalog and PUT and DELETE /api/account/favorites/{client_id}.
//
// It is an experimental feature, switched on for every node with `facet features enable
// catalog`: while it is off there is no Catalog button, no favorites in the sidebar, and
// every route answers 404. The switch is read from the database at each request, as the
// business card's is.
//
// Which apps a user sees is storage's rule (storage.CatalogStore), applied when it is read:
// listed, and open or closed with the user holding access (profile/invite grants it). So an
// app taken out of the catalog, or whose access was revoked, leaves the list and the sidebar
// at the next page, and favoring it answers 404. It does not decide who may sign in to an
// app: the authorization endpoint does, when the home page starts the sign-in.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// Feature is the name of the installation's switch for the catalog (storage.Feature).
const Feature = "catalog"

// Paths of the catalog's pages.
const (
	// PathCatalog is the Catalog window (a page of its own without JavaScript).
	PathCatalog = "/profile/catalog"
	// PathFavorites is followed by a client id: the star's form (POST favorite=on|off).
	PathFavorites = "/profile/catalog/favorites/"
)

// Store is the storage catalog uses: the feature switch and the catalog with its favorites.
type Store interface {
	storage.CatalogStore
	GetFeature(ctx context.Context, name string) (storage.Feature, error)
}

// Deps are the modules catalog works with. Kit and Store are required.
type Deps struct {
	// Kit is profile's console kit: pages, sessions, the account API's caller.
	Kit   *profile.Handler
	Store Store
	// Default is whether the catalog is on when the administrator never switched the
	// feature in the database (the features configuration key).
	Default bool
	Logger  *slog.Logger // nil discards
	Now     func() time.Time
}

// Handler serves the Catalog window, the stars, the sidebar's favorites and their API routes.
type Handler struct {
	kit     *profile.Handler
	store   Store
	deflt   bool
	logger  *slog.Logger
	now     func() time.Time
	collate func(language.Tag) *collate.Collator
}

// New builds the handler.
func New(d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil {
		return nil, errors.New("catalog: the console kit and the store are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{kit: d.Kit, store: d.Store, deflt: d.Default, logger: d.Logger, now: d.Now,
		collate: func(t language.Tag) *collate.Collator { return collate.New(t, collate.IgnoreCase) }}, nil
}

// Enabled reports whether the catalog is switched on. It reads the database at every call
// (one primary-key lookup, no cache), so `facet features enable|disable catalog` on any node
// applies to every node at the next request; without a stored switch the configured default
// applies.
func (h *Handler) Enabled(ctx context.Context) (bool, error) {
	f, err := h.store.GetFeature(ctx, Feature)
	if errors.Is(err, storage.ErrNotFound) {
		return h.deflt, nil
	}
	if err != nil {
		return false, fmt.Errorf("feature %s: %w", Feature, err)
	}
	return f.Enabled, nil
}

// ErrNotInCatalog: the app is not in this user's catalog (unknown, not listed, or closed
// without access). Callers answer 404 whichever it is.
var ErrNotInCatalog = errors.New("the app is not in this user's catalog")

// Group is one type of apps in the catalog; Type "" is the Other group.
type Group struct {
	Type string
	Apps []storage.CatalogApp
}

// Groups puts apps into their types' groups: the groups by type name, then the Other group
// (apps without a type) last; in each group the apps by name, then client id. Names compare
// with col, the reader's language's collation (letter case ignored, accents and scripts in
// the order that language reads them).
func Groups(apps []storage.CatalogApp, col *collate.Collator) []Group {
	byType := map[string][]storage.CatalogApp{}
	for _, a := range apps {
		byType[a.Type] = append(byType[a.Type], a)
	}
	out := make([]Group, 0, len(byType))
	for t, list := range byType {
		slices.SortFunc(list, func(a, b storage.CatalogApp) int { return compareApps(col, a, b) })
		out = append(out, Group{Type: t, Apps: list})
	}
	slices.SortFunc(out, func(a, b Group) int {
		switch {
		case a.Type == b.Type:
			return 0
		case a.Type == "":
			return 1
		case b.Type == "":
			return -1
		}
		if c := col.CompareString(a.Type, b.Type); c != 0 {
			return c
		}
		return compareBytes(a.Type, b.Type)
	})
	return out
}

// compareApps orders apps by name as people read it, then by the name's bytes (two names
// that differ only in case keep one order), then by client id.
func compareApps(col *collate.Collator, a, b storage.CatalogApp) int {
	if c := col.CompareString(a.Name, b.Name); c != 0 {
		return c
	}
	if c := compareBytes(a.Name, b.Name); c != 0 {
		return c
	}
	return compareBytes(a.ClientID, b.ClientID)
}

func compareBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Catalog returns userID's catalog in groups, ordered for people reading lang.
func (h *Handler) Catalog(ctx context.Context, userID string, lang language.Tag) ([]Group, error) {
	apps, err := h.store.CatalogApps(ctx, userID)
	if err != nil {
		return nil, err
	}
	return Groups(apps, h.collate(lang)), nil
}

// AddFavorite marks clientID favorite for userID; ErrNotInCatalog when it is not in userID's
// catalog. Marking a favorite again changes nothing.
func (h *Handler) AddFavorite(ctx context.Context, userID, clientID string) error {
	err := h.store.AddFavorite(ctx, userID, clientID, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotInCatalog
	}
	return err
}

// RemoveFavorite unmarks clientID for userID; ErrNotInCatalog when it is not in userID's
// catalog (a favorite of an app that left the catalog is hidden, not removable, and shows
// again should the app come back). Removing a mark that is not there changes nothing.
func (h *Handler) RemoveFavorite(ctx context.Context, userID, clientID string) error {
	if _, err := h.store.CatalogApp(ctx, userID, clientID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotInCatalog
		}
		return err
	}
	_, err := h.store.RemoveFavorite(ctx, userID, clientID)
	return err
}

// Favorites returns userID's favorites that are in userID's catalog now, by name as people
// reading lang expect.
func (h *Handler) Favorites(ctx context.Context, userID string, lang language.Tag) ([]storage.CatalogApp, error) {
	favs, err := h.store.Favorites(ctx, userID)
	if err != nil {
		return nil, err
	}
	col := h.collate(lang)
	slices.SortFunc(favs, func(a, b storage.CatalogApp) int { return compareApps(col, a, b) })
	return favs, nil
}

// Sidebar is the catalog's part of every account page's sidebar (profile.Deps.Favorites):
// the Catalog button and the favorites. While the feature is off it costs one read of the
// switch and shows nothing.
func (h *Handler) Sidebar(ctx context.Context, userID string) (profile.SidebarApps, bool, error) {
	on, err := h.Enabled(ctx)
	if err != nil || !on {
		return profile.SidebarApps{}, false, err
	}
	favs, err := h.Favorites(ctx, userID, langTag(ctx))
	if err != nil {
		return profile.SidebarApps{}, false, fmt.Errorf("favorites: %w", err)
	}
	apps := profile.SidebarApps{CatalogURL: PathCatalog}
	for _, f := range favs {
		apps.Favorites = append(apps.Favorites, profile.Favorite{Name: f.Name, Logo: safeHTTPURL(f.LogoURI), URL: safeHTTPURL(f.HomeURI)})
	}
	return apps, true, nil
}

// safeHTTPURL returns u when it is an absolute http(s) URL, else "" (a registered URL is
// shown as a link or an image only then).
func safeHTTPURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}
