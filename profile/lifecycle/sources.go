package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// The export's parts that other modules own come through these interfaces: each module says
// what it keeps about a person, lifecycle only places it in the document. A nil source
// leaves its part empty (the member is still present).

// IdentifierSource lists the upstream identifiers linked to an account (oauth/federation).
type IdentifierSource interface {
	ExportIdentifiers(ctx context.Context, userID string) ([]Identifier, error)
}

// CardSource returns an account's business card, nil when it has none (profile/card).
type CardSource interface {
	ExportCard(ctx context.Context, userID string) (*Card, error)
}

// AccessSource lists the closed apps an account may use and the invitations addressed to it
// (profile/invite).
type AccessSource interface {
	ExportAccess(ctx context.Context, u storage.User) ([]Access, []Invitation, error)
}

// Identifier is a linked upstream account as the export shows it: what the provider said at
// the last sign-in and the privacy level its owner chose. Never the provider's tokens or
// Facet's client secret there.
type Identifier struct {
	ID         string    `json:"id"`
	MethodID   string    `json:"method_id"`
	Method     string    `json:"method"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Picture    string    `json:"picture"`
	LinkedAt   time.Time `json:"linked_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Privacy    string    `json:"privacy"`
}

// Card is the business card: its identifier, address and Activity switch.
type Card struct {
	Identifier string    `json:"identifier"`
	URL        string    `json:"url"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Access is a closed app the account may use.
type Access struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	GrantedAt time.Time `json:"granted_at"`
}

// Invitation is an invitation to a closed app addressed to the account (never its token).
type Invitation struct {
	ID         string     `json:"id"`
	ClientID   string     `json:"client_id"`
	Name       string     `json:"name"`
	Email      string     `json:"email"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AnsweredAt *time.Time `json:"answered_at"`
}

// exportSources fills the parts the other modules own.
func (h *Handler) exportSources(ctx context.Context, u storage.User, e *export) error {
	e.Identifiers, e.AppAccess, e.Invitations = []Identifier{}, []Access{}, []Invitation{}
	if h.identifiers != nil {
		ids, err := h.identifiers.ExportIdentifiers(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("identifiers: %w", err)
		}
		e.Identifiers = append(e.Identifiers, ids...)
	}
	if h.cards != nil {
		c, err := h.cards.ExportCard(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("business card: %w", err)
		}
		e.BusinessCard = c
	}
	if h.access != nil {
		access, invitations, err := h.access.ExportAccess(ctx, u)
		if err != nil {
			return fmt.Errorf("app access: %w", err)
		}
		e.AppAccess = append(e.AppAccess, access...)
		e.Invitations = append(e.Invitations, invitations...)
	}
	return nil
}
