package storage

import (
	"context"
	"time"
)

// Card is a user's digital business card: the identifier its address is made of and the
// Activity switch. Identifier keeps the letters' case as the user typed it; uniqueness is
// case-insensitive.
type Card struct {
	UserID     string
	Identifier string
	Active     bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CardStore persists business cards, at most one per user.
type CardStore interface {
	// GetCard returns userID's card; ErrNotFound when the user has none yet.
	GetCard(ctx context.Context, userID string) (Card, error)
	// GetCardByIdentifier returns the card whose identifier equals identifier ignoring case;
	// ErrNotFound when none does.
	GetCardByIdentifier(ctx context.Context, identifier string) (Card, error)
	// CreateCardIfAbsent stores c unless c.UserID has a card already, and returns the stored
	// card (the first writer wins). ErrAlreadyExists when another user's card holds the
	// identifier (ignoring case); ErrNotFound when the user does not exist.
	CreateCardIfAbsent(ctx context.Context, c Card) (Card, error)
	// UpdateCard stores c's identifier and Active switch on c.UserID's card in one
	// statement: the old identifier is free as soon as it returns. ErrNotFound when the user
	// has no card; ErrAlreadyExists when another user's card holds the identifier (ignoring
	// case) — of concurrent claims of one identifier exactly one succeeds.
	UpdateCard(ctx context.Context, c Card) error
}

// Feature is an installation-wide switch of an experimental capability, stored so every
// node agrees.
type Feature struct {
	Name      string
	Enabled   bool
	UpdatedAt time.Time
}

// FeatureStore persists the feature switches.
type FeatureStore interface {
	// ListFeatures returns every switch set in the database, ordered by name; a feature
	// never set has no row (the configuration's default applies).
	ListFeatures(ctx context.Context) ([]Feature, error)
	// GetFeature returns the switch of name; ErrNotFound when it was never set.
	GetFeature(ctx context.Context, name string) (Feature, error)
	// SetFeature stores the switch of name in one upsert.
	SetFeature(ctx context.Context, name string, enabled bool, at time.Time) error
}
