package apps

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// countingStore is a real store that counts the statements List issues through it.
type countingStore struct {
	Store
	calls atomic.Int64
}

func (c *countingStore) ListUserApps(ctx context.Context, userID string, now time.Time) ([]storage.UserApp, error) {
	c.calls.Add(1)
	return c.Store.ListUserApps(ctx, userID, now)
}

func (c *countingStore) ListClaimDeclines(ctx context.Context, userID string) ([]storage.ClaimDecline, error) {
	c.calls.Add(1)
	return c.Store.ListClaimDeclines(ctx, userID)
}

func (c *countingStore) ListDisclosures(ctx context.Context, userID string) ([]storage.Disclosure, error) {
	c.calls.Add(1)
	return c.Store.ListDisclosures(ctx, userID)
}

func (c *countingStore) GetGrant(ctx context.Context, userID, clientID string) (storage.Grant, error) {
	c.calls.Add(1)
	return c.Store.GetGrant(ctx, userID, clientID)
}

// TestListFiftyApps: a user with 50 apps gets all 50, each with its own declines and
// disclosures, for three statements — the same as for one app.
func TestListFiftyApps(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			db := be.Open(t)
			now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, u := range []string{"u1", "u2"} {
				if err := db.CreateUser(ctx, storage.User{ID: u, Email: u + "@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			const n = 50
			for i := range n {
				id := fmt.Sprintf("app-%02d", i)
				if err := db.CreateClient(ctx, storage.Client{ID: id, Name: fmt.Sprintf("App %02d", i), CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
				for _, u := range []string{"u1", "u2"} {
					if err := db.PutGrant(ctx, storage.Grant{UserID: u, ClientID: id, Scopes: []string{"openid"}, Claims: []string{"email"}, CreatedAt: now, UpdatedAt: now}); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.PutClaimDeclines(ctx, "u1", id, []string{"phone_number"}, now); err != nil {
					t.Fatal(err)
				}
				if err := db.RecordDisclosures(ctx, []storage.Disclosure{{UserID: "u1", ClientID: id, Claims: []string{"email", "name"}, FirstAt: now, LastAt: now}}); err != nil {
					t.Fatal(err)
				}
				if err := db.CreateToken(ctx, storage.Token{Kind: storage.KindAccessToken, Signature: "a" + id, RequestID: "r" + id, ClientID: id,
					Subject: "u1", Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
					t.Fatal(err)
				}
			}
			cs := &countingStore{Store: db}
			h := &Handler{store: cs, now: func() time.Time { return now }}
			list, err := h.List(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != n {
				t.Fatalf("List = %d apps, want %d", len(list), n)
			}
			if got := cs.calls.Load(); got != 3 {
				t.Errorf("List of %d apps issued %d statements, want 3", n, got)
			}
			for i, a := range list {
				id := fmt.Sprintf("app-%02d", i)
				if a.Client.ID != id || a.ActiveTokens != 1 || len(a.Declined) != 1 || a.Declined[0] != "phone_number" ||
					len(a.Disclosures) != 1 || a.Disclosures[0].ClientID != id {
					t.Fatalf("app %d = %+v, want %s with 1 token, its decline and its disclosure", i, a, id)
				}
			}
		})
	}
}

// TestSessionHandle: the handle is stable, differs per session and is not the id.
func TestSessionHandle(t *testing.T) {
	a, b := SessionHandle("abc"), SessionHandle("abd")
	if a != SessionHandle("abc") || a == b || a == "abc" || len(a) != 32 {
		t.Errorf("SessionHandle: %q, %q", a, b)
	}
}
