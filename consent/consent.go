// Package consent decides what an application may learn about a person: which scopes
// cover which claims, whether a stored grant already covers a request, and — in one pure
// function, Release — which claims an audience receives.
//
// It owns the meaning of scopes, claims and consent grants. It does not own the protocol
// (oauth asks it), the pages that edit profile values (profile), or persistence (storage).
package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/facetid/facet/storage"
)

// Service records and checks a user's consent grants.
type Service struct {
	Store storage.Storage
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Covers reports whether userID already granted clientID every scope in scopes and every
// claim those scopes carry, so the consent page can be skipped. A missing grant covers nothing.
func (s *Service) Covers(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	g, err := s.Store.GetGrant(ctx, userID, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get grant of %q for %q: %w", userID, clientID, err)
	}
	for _, sc := range scopes {
		if !slices.Contains(g.Scopes, sc) {
			return false, nil
		}
	}
	// A scope granted before its claim list grew asks again for the new claims.
	for _, c := range ClaimsForScopes(scopes) {
		if !slices.Contains(g.Claims, c) {
			return false, nil
		}
	}
	return true, nil
}

// Grant merges scopes and claims into the user's grant for clientID (creating it).
func (s *Service) Grant(ctx context.Context, userID, clientID string, scopes, claims []string) error {
	now := s.now()
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.Store.GetGrant(ctx, userID, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			g = storage.Grant{UserID: userID, ClientID: clientID, CreatedAt: now}
		case err != nil:
			return fmt.Errorf("get grant of %q for %q: %w", userID, clientID, err)
		}
		g.Scopes = union(g.Scopes, scopes)
		g.Claims = union(g.Claims, claims)
		g.UpdatedAt = now
		if err := s.Store.PutGrant(ctx, g); err != nil {
			return fmt.Errorf("put grant of %q for %q: %w", userID, clientID, err)
		}
		return nil
	})
}

// union returns a followed by the members of b not in a, without duplicates.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, v := range slices.Concat(a, b) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
