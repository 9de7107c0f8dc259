package demo

import (
	"testing"

	"github.com/facetid/facet/storage/sqltest"
)

// TestDemoClientFollowsIssuer: a second start with another issuer (a new port) updates the
// demo client's URLs instead of failing; the same issuer leaves it alone.
func TestDemoClientFollowsIssuer(t *testing.T) {
	store := sqltest.Backends(t)[0].Open(t)
	ctx := t.Context()
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://localhost:9090"} {
		if err := register(ctx, issuer, store); err != nil {
			t.Fatalf("register for %s: %v", issuer, err)
		}
		c, err := store.GetClient(ctx, ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if c.RedirectURIs[0] != issuer+"/demo/callback" || c.PostLogoutRedirectURIs[0] != issuer+"/demo" || !c.Public {
			t.Errorf("issuer %s: client %+v", issuer, c)
		}
	}
}
