package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testCards: a card is created once per user (the first writer wins), found by its
// identifier ignoring case, and an identifier is unique ignoring case; changing it frees the
// old one at once.
func testCards(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")

	if _, err := s.GetCard(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetCard before any: %v, want ErrNotFound", err)
	}
	c, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: "u1", Identifier: "Alex-T", CreatedAt: base, UpdatedAt: base})
	must(t, err)
	diff(t, "CreateCardIfAbsent", storage.Card{UserID: "u1", Identifier: "Alex-T", CreatedAt: at(0), UpdatedAt: at(0)}, c)
	// A second create keeps the first card.
	again, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: "u1", Identifier: "other", Active: true, CreatedAt: base.Add(time.Hour), UpdatedAt: base.Add(time.Hour)})
	must(t, err)
	diff(t, "CreateCardIfAbsent again", c, again)
	// Another user cannot take the identifier, in any case.
	if _, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: "u2", Identifier: "alex-t", CreatedAt: base, UpdatedAt: base}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("CreateCardIfAbsent with a taken identifier: %v, want ErrAlreadyExists", err)
	}
	if _, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: "nobody", Identifier: "free", CreatedAt: base, UpdatedAt: base}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("CreateCardIfAbsent for an unknown user: %v, want ErrNotFound", err)
	}
	for _, id := range []string{"Alex-T", "alex-t", "ALEX-T"} {
		got, err := s.GetCardByIdentifier(ctx, id)
		must(t, err)
		if got.UserID != "u1" || got.Identifier != "Alex-T" {
			t.Errorf("GetCardByIdentifier(%q) = %+v, want u1's Alex-T", id, got)
		}
	}
	if _, err := s.GetCardByIdentifier(ctx, "nobody-here"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetCardByIdentifier(unknown): %v, want ErrNotFound", err)
	}

	c2, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: "u2", Identifier: "second", CreatedAt: base, UpdatedAt: base})
	must(t, err)
	if err := s.UpdateCard(ctx, storage.Card{UserID: "u2", Identifier: "ALEX-t", UpdatedAt: base}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("UpdateCard to a taken identifier: %v, want ErrAlreadyExists", err)
	}
	if got, err := s.GetCard(ctx, "u2"); err != nil || got != c2 {
		t.Errorf("u2's card after the refused update = %+v, %v; want unchanged %+v", got, err, c2)
	}
	// u1 moves to a new identifier and switches the card on: the old one is free at once.
	must(t, s.UpdateCard(ctx, storage.Card{UserID: "u1", Identifier: "alex-new", Active: true, UpdatedAt: base.Add(time.Minute)}))
	got, err := s.GetCard(ctx, "u1")
	must(t, err)
	diff(t, "GetCard after UpdateCard", storage.Card{UserID: "u1", Identifier: "alex-new", Active: true, CreatedAt: at(0), UpdatedAt: at(time.Minute)}, got)
	if _, err := s.GetCardByIdentifier(ctx, "Alex-T"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("old identifier after the change: %v, want ErrNotFound", err)
	}
	must(t, s.UpdateCard(ctx, storage.Card{UserID: "u2", Identifier: "alex-T", UpdatedAt: base}))
	if got, err := s.GetCardByIdentifier(ctx, "ALEX-T"); err != nil || got.UserID != "u2" {
		t.Errorf("freed identifier taken by u2: %+v, %v", got, err)
	}
	// The same identifier in another case is the user's own: allowed.
	must(t, s.UpdateCard(ctx, storage.Card{UserID: "u2", Identifier: "Alex-T", UpdatedAt: base}))
	if err := s.UpdateCard(ctx, storage.Card{UserID: "nobody", Identifier: "x-y-z", UpdatedAt: base}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateCard without a card: %v, want ErrNotFound", err)
	}
}

// testCardIdentifierRace: 16 users claim one identifier at once (each in another case);
// exactly one wins, the others get ErrAlreadyExists (never another error).
func testCardIdentifierRace(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	const n = 16
	for i := range n {
		id := fmt.Sprintf("racer%d", i)
		createUser(t, s, id)
		_, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: id, Identifier: id + "-start", CreatedAt: base, UpdatedAt: base})
		must(t, err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []string
		lost    int
		unknown []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ident := "Wanted-Name"
			if i%2 == 1 {
				ident = "wanted-NAME"
			}
			user := fmt.Sprintf("racer%d", i)
			err := s.UpdateCard(ctx, storage.Card{UserID: user, Identifier: ident, Active: true, UpdatedAt: base})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, user)
			case errors.Is(err, storage.ErrAlreadyExists):
				lost++
			default:
				unknown = append(unknown, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 || lost != n-1 || len(unknown) != 0 {
		t.Fatalf("16 claims of one identifier: won by %v, %d lost, other errors %v; want exactly one winner", won, lost, unknown)
	}
	got, err := s.GetCardByIdentifier(ctx, "WANTED-name")
	must(t, err)
	if got.UserID != won[0] {
		t.Errorf("identifier held by %q, want the winner %q", got.UserID, won[0])
	}
}

// testFeatures: a switch never set is absent; SetFeature upserts; ListFeatures is by name.
func testFeatures(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	if _, err := s.GetFeature(ctx, "business-card"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetFeature before any: %v, want ErrNotFound", err)
	}
	if l, err := s.ListFeatures(ctx); err != nil || l != nil {
		t.Fatalf("ListFeatures before any = %v, %v; want nil", l, err)
	}
	must(t, s.SetFeature(ctx, "catalog", false, base))
	must(t, s.SetFeature(ctx, "business-card", true, base))
	must(t, s.SetFeature(ctx, "business-card", false, base.Add(time.Hour)))
	must(t, s.SetFeature(ctx, "business-card", true, base.Add(2*time.Hour)))
	got, err := s.GetFeature(ctx, "business-card")
	must(t, err)
	diff(t, "GetFeature", storage.Feature{Name: "business-card", Enabled: true, UpdatedAt: at(2 * time.Hour)}, got)
	l, err := s.ListFeatures(ctx)
	must(t, err)
	diff(t, "ListFeatures", []storage.Feature{
		{Name: "business-card", Enabled: true, UpdatedAt: at(2 * time.Hour)},
		{Name: "catalog", Enabled: false, UpdatedAt: at(0)},
	}, l)
}
