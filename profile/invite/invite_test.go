package invite_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/profile/invite"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestInviteTokens: a link's token is 256 bits, is not what the database keeps, finds its
// invitation only through the service that keyed it, and the sending limit per app holds.
func TestInviteTokens(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			db := be.Open(t)
			now := time.Now().UTC()
			if err := db.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", Closed: true, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			svc, err := invite.NewService(invite.Config{Issuer: "https://id.example/", Secret: []byte(strings.Repeat("s", 32)), PerClientHourly: 2},
				invite.Deps{Store: db})
			if err != nil {
				t.Fatal(err)
			}
			sent, err := svc.Invite(ctx, "notes", " Ann@Example.com ", 0)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(sent.URL)
			if err != nil || u.Host != "id.example" || !strings.HasPrefix(u.Path, invite.PathInvitation) {
				t.Fatalf("url = %q", sent.URL)
			}
			token := strings.TrimPrefix(u.Path, invite.PathInvitation)
			if len(token) < 43 { // 32 bytes, base64url
				t.Errorf("token %q is shorter than 256 bits", token)
			}
			if d := sent.ExpiresAt.Sub(now); d < 167*time.Hour || d > 169*time.Hour {
				t.Errorf("expires in %v, want the default 168 h", d)
			}
			stored, err := db.GetInvitation(ctx, sent.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.TokenHash == token || strings.Contains(stored.TokenHash, token) || stored.Email != "ann@example.com" {
				t.Errorf("stored %+v: want the token's hash only and the address normalised", stored)
			}
			if got, err := svc.ByToken(ctx, token); err != nil || got.ID != sent.ID {
				t.Fatalf("ByToken = %+v, %v", got, err)
			}
			other, err := invite.NewService(invite.Config{Secret: []byte(strings.Repeat("t", 32))}, invite.Deps{Store: db})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.ByToken(ctx, token); !errors.Is(err, invite.ErrNotFound) {
				t.Errorf("another secret's ByToken: %v, want ErrNotFound", err)
			}
			if _, err := svc.Invite(ctx, "notes", "bob@example.com", 0); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Invite(ctx, "notes", "carol@example.com", 0); !errors.Is(err, invite.ErrRateLimited) {
				t.Errorf("third invitation in an hour with a limit of 2: %v, want ErrRateLimited", err)
			}
			if _, err := svc.Invite(ctx, "nope", "carol@example.com", 0); !errors.Is(err, invite.ErrNoClient) {
				t.Errorf("invitation to an unknown app: %v", err)
			}
			if _, err := svc.Invite(ctx, "notes", "not an address", 0); !errors.Is(err, invite.ErrBadEmail) {
				t.Errorf("invitation to a non-address: %v", err)
			}
		})
	}
}
