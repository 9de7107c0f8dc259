package photo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/sync/semaphore"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// Config is what photo needs from Facet's configuration.
type Config struct {
	// MaxBytes bounds a photo upload (default 5 MiB).
	MaxBytes int64
	// HoldMemory, when set, is told the memory a photo decode may take before it starts and
	// calls the returned function when it is done, so the server's soft memory limit makes
	// room for it only while it runs.
	HoldMemory func(bytes int64) (release func())
	// Development lets an available picture come over http and from any address (a
	// provider on this machine); production fetches only https from public addresses.
	Development bool
}

// Store is the storage photo uses: the photos, the picture field, the upload counter and
// the data a release of the picture claim is decided on.
type Store interface {
	storage.PhotoStore
	storage.Transactor
	storage.CounterStore
	PutProfileValues(ctx context.Context, userID string, values map[string]string, at time.Time) error
	DeleteProfileField(ctx context.Context, userID, field string) error
	GetReleaseData(ctx context.Context, userID, clientID string) (storage.ReleaseData, error)
}

// Deps are the modules photo works with. Kit, Store and Events are required.
type Deps struct {
	// Kit is profile's console kit: pages, sessions, the account API's caller, the picture
	// field's level and the catalog.
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Tokens verifies the bearer token of an app fetching a picture; nil serves apps nothing.
	Tokens profile.TokenVerifier
	// Pictures lists the pictures of the user's linked external identifiers for the
	// "Available" button; nil offers none.
	Pictures PictureSource
	// Client fetches an available picture; nil uses a client that only reaches public
	// addresses over https.
	Client *http.Client
	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

// Handler serves the photo page, the account API's photo resource and the photos themselves.
type Handler struct {
	kit      *profile.Handler
	store    Store
	events   profile.Recorder
	tokens   profile.TokenVerifier
	pictures PictureSource
	client   *http.Client
	catalog  *consent.Catalog
	logger   *slog.Logger
	now      func() time.Time
	cfg      Config
	// decodes bounds the memory of the photo decodes running at once: each holds its
	// photoCost of DecodeMemory, so a burst of uploads waits here instead of taking
	// gigabytes.
	decodes *semaphore.Weighted
}

// New builds the handler.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("photo: the console kit, the store and an event recorder are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{kit: d.Kit, store: d.Store, events: d.Events, tokens: d.Tokens, pictures: d.Pictures,
		client: d.Client, catalog: d.Kit.Catalog, logger: d.Logger, now: d.Now, cfg: cfg,
		decodes: semaphore.NewWeighted(DecodeMemory())}, nil
}

// Routes registers the photo page and the photos on the page router and the photo resource on
// the account API.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc(photoPagePath, h.photoPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(photoPagePath, h.photoUpload).Methods(http.MethodPost)
	r.HandleFunc("/profile/photo/available", h.photoAvailable).Methods(http.MethodPost)
	r.HandleFunc("/profile/photo/delete", h.photoDeletePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/photo/delete", h.photoDelete).Methods(http.MethodPost)
	r.HandleFunc(PathPrefix+"{id}", h.photoServe).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc(apiPhotoPath, h.apiPhotoPut).Methods(http.MethodPut)
	api.HandleFunc(apiPhotoPath, h.apiPhotoDelete).Methods(http.MethodDelete)
}
