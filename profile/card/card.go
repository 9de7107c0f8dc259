// Package card owns the public profile, its vCard export and the digital business card with
// its QR code: the Public Data window of the Profile Privacy block, GET /api/users/{sub}/public
// and /api/account/public-profile (JSON or vCard), the Business Card block of the profile
// page, the account API's /api/account/card, and the card itself at /api/cards/{identifier}
// with its vCard, QR code and photo.
//
// What the public profile and its vCard hold is consent's decision: both come from
// consent.Release (TargetPublicProfile, TargetVCard) and nothing here reads a privacy level.
// The business card is the one documented exception (spec "Personal Profile Digital Business
// Card": "Data is displayed regardless of privacy settings"): photo, first and last name,
// email, phone and birth date, shown only while the user has switched the card on and the
// administrator has switched the business-card feature on.
package card

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// Feature is the name of the installation's switch for the business card (storage.Feature).
const Feature = "business-card"

// Store is the storage card uses: the cards, the feature switch, the data a release is made
// of, and the photos a card shows.
type Store interface {
	storage.CardStore
	GetFeature(ctx context.Context, name string) (storage.Feature, error)
	GetReleaseData(ctx context.Context, userID, clientID string) (storage.ReleaseData, error)
	GetPhoto(ctx context.Context, id string) (storage.Photo, error)
}

// Deps are the modules card works with. Kit and Store are required.
type Deps struct {
	// Kit is profile's console kit: pages, sessions, the account API's caller, the catalog.
	Kit   *profile.Handler
	Store Store
	// Tokens verifies the bearer token of an app reading a public profile; nil refuses
	// bearer calls.
	Tokens profile.TokenVerifier
	// Issuer is Facet's public base URL: card links, QR codes and vCard photos are absolute.
	Issuer string
	// CardDefault is whether the business card is on when the administrator never switched
	// the feature in the database (the features configuration key).
	CardDefault bool
	// PhotoPrefix is the path the picture field's own photos live under (photo.PathPrefix):
	// the card serves the photo whose id follows it.
	PhotoPrefix string
	Logger      *slog.Logger // nil discards
	Now         func() time.Time
}

// Handler serves the public profile, the business card and their API routes.
type Handler struct {
	kit         *profile.Handler
	store       Store
	tokens      profile.TokenVerifier
	issuer      string
	cardDefault bool
	photoPrefix string
	logger      *slog.Logger
	now         func() time.Time
}

// New builds the handler.
func New(d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil {
		return nil, errors.New("card: the console kit and the store are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{kit: d.Kit, store: d.Store, tokens: d.Tokens, issuer: strings.TrimRight(d.Issuer, "/"),
		cardDefault: d.CardDefault, photoPrefix: d.PhotoPrefix, logger: d.Logger, now: d.Now}, nil
}

// CardEnabled reports whether the business-card feature is on. It reads the database at
// every call (one primary-key lookup, no cache), so a switch made by `facet features` on any
// node applies to every node at the next request; without a stored switch the configured
// default applies.
func (h *Handler) CardEnabled(ctx context.Context) (bool, error) {
	f, err := h.store.GetFeature(ctx, Feature)
	if errors.Is(err, storage.ErrNotFound) {
		return h.cardDefault, nil
	}
	if err != nil {
		return false, fmt.Errorf("feature %s: %w", Feature, err)
	}
	return f.Enabled, nil
}

// catalog is the field catalog the kit was built with.
func (h *Handler) catalog() *consent.Catalog { return h.kit.Catalog }

// errNotPublic answers every public-profile or card request that must not reveal anything:
// unknown, pending deletion, private or inactive are the same 404.
var errNotPublic = errors.New("not public")

// notFoundJSON is the one 404 of the API routes, whatever the reason.
func notFoundJSON(w http.ResponseWriter, r *http.Request) {
	profile.WriteAPIError(w, http.StatusNotFound, "not_found", trNotFound(r))
}
