package storagetest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func newEvent(id, user, category string, at time.Time, client string) storage.Event {
	return storage.Event{ID: id, UserID: user, Category: category, At: at, ClientID: client,
		Device: "desktop", Browser: "Chrome 118", OS: "Windows", IP: "192.0.2.7"}
}

// testEvents covers the activity log: a round trip with the client's name joined in, other
// users' events kept apart, keyset pages over ties in time, filters, facets and the purge.
func testEvents(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.CreateClient(ctx, newClient("app")))

	e := newEvent("e1", "u1", "login", base, "app")
	e.Details = map[string]string{"method": "password"}
	must(t, s.AddEvent(ctx, e))
	wantErr(t, s.AddEvent(ctx, e), storage.ErrAlreadyExists, "AddEvent with a taken id")
	got, err := s.GetEvent(ctx, "u1", "e1")
	must(t, err)
	e.At, e.ClientName = want(base), "App app"
	diff(t, "GetEvent", e, got)
	_, err = s.GetEvent(ctx, "u2", "e1")
	wantErr(t, err, storage.ErrNotFound, "GetEvent of another user's event")
	_, err = s.GetEvent(ctx, "u1", "none")
	wantErr(t, err, storage.ErrNotFound, "GetEvent of a missing event")

	// An event without an app or details; one of a client that no longer exists.
	must(t, s.AddEvent(ctx, storage.Event{ID: "e2", UserID: "u1", Category: "logout", At: base.Add(time.Second)}))
	must(t, s.AddEvent(ctx, newEvent("e3", "u1", "login", base.Add(2*time.Second), "gone")))
	must(t, s.AddEvent(ctx, newEvent("x1", "u2", "login", base.Add(3*time.Second), "app")))
	got, err = s.GetEvent(ctx, "u1", "e2")
	must(t, err)
	diff(t, "GetEvent without app", storage.Event{ID: "e2", UserID: "u1", Category: "logout", At: at(time.Second)}, got)

	list, err := s.ListEvents(ctx, "u1", storage.EventFilter{})
	must(t, err)
	diff(t, "ListEvents ids", []string{"e3", "e2", "e1"}, eventIDs(list))
	if list[0].ClientName != "" || list[2].ClientName != "App app" {
		t.Errorf("ListEvents client names = %q, %q; want \"\" (client gone) and %q", list[0].ClientName, list[2].ClientName, "App app")
	}

	facets, err := s.EventFacets(ctx, "u1")
	must(t, err)
	diff(t, "EventFacets", storage.EventFacets{
		Categories: []string{"login", "logout"},
		Clients:    []storage.EventClient{{ID: "app", Name: "App app"}, {ID: "gone"}},
	}, facets)
	facets, err = s.EventFacets(ctx, "nobody")
	must(t, err)
	diff(t, "EventFacets of a user without events", storage.EventFacets{}, facets)

	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Category: "login"})
	must(t, err)
	diff(t, "ListEvents category=login", []string{"e3", "e1"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{ClientID: "app"})
	must(t, err)
	diff(t, "ListEvents client=app", []string{"e1"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Category: "logout", ClientID: "app"})
	must(t, err)
	diff(t, "ListEvents category=logout client=app", []string(nil), eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Categories: []string{"logout", "login"}})
	must(t, err)
	diff(t, "ListEvents categories=logout,login", []string{"e3", "e2", "e1"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Categories: []string{"logout", "consent"}})
	must(t, err)
	diff(t, "ListEvents categories=logout,consent", []string{"e2"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Categories: []string{"login"}, ClientID: "app"})
	must(t, err)
	diff(t, "ListEvents categories=login client=app", []string{"e1"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{Categories: []string{"login", "logout"}, Category: "logout"})
	must(t, err)
	diff(t, "ListEvents categories=login,logout category=logout", []string{"e2"}, eventIDs(list))

	// In a transaction: the event goes with it.
	txCtx, err := s.BeginTx(ctx)
	must(t, err)
	must(t, s.AddEvent(txCtx, newEvent("tx", "u1", "login", base, "")))
	if _, err := s.GetEvent(txCtx, "u1", "tx"); err != nil {
		t.Errorf("GetEvent in the transaction: %v", err)
	}
	must(t, s.Rollback(txCtx))
	_, err = s.GetEvent(ctx, "u1", "tx")
	wantErr(t, err, storage.ErrNotFound, "GetEvent after rollback")

	// The purge removes exactly the events older than t, of every user.
	n, err := s.DeleteEventsBefore(ctx, base.Add(2*time.Second))
	must(t, err)
	if n != 2 {
		t.Errorf("DeleteEventsBefore removed %d, want 2 (e1, e2)", n)
	}
	list, err = s.ListEvents(ctx, "u1", storage.EventFilter{})
	must(t, err)
	diff(t, "ListEvents after purge", []string{"e3"}, eventIDs(list))
	list, err = s.ListEvents(ctx, "u2", storage.EventFilter{})
	must(t, err)
	diff(t, "ListEvents of u2 after purge", []string{"x1"}, eventIDs(list))
}

// testEventPages walks 120 events, many sharing a timestamp, page by page with the cursor:
// each event comes exactly once, in (At, ID) descending order, with filters applied.
func testEventPages(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	var all []storage.Event
	for i := range 120 {
		cat := "login"
		if i%3 == 0 {
			cat = "logout"
		}
		// Groups of 4 share one microsecond, so the id breaks ties.
		ev := newEvent(fmt.Sprintf("ev-%03d-%d", (i*37)%120, i), "u1", cat, base.Add(time.Duration(i/4)*time.Microsecond), "")
		must(t, s.AddEvent(ctx, ev))
		all = append(all, ev)
		must(t, s.AddEvent(ctx, newEvent(fmt.Sprintf("other-%d", i), "u2", cat, ev.At, "")))
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].At.Equal(all[j].At) {
			return all[i].At.After(all[j].At)
		}
		return all[i].ID > all[j].ID
	})

	// A category, and a group of categories (one of which no event has).
	for _, category := range []string{"", "logout", "logout,consent"} {
		group := strings.Split(category, ",")
		var wantIDs []string
		for _, e := range all {
			if category == "" || slices.Contains(group, e.Category) {
				wantIDs = append(wantIDs, e.ID)
			}
		}
		var gotIDs []string
		f := storage.EventFilter{Category: category, Limit: 7}
		if len(group) > 1 {
			f = storage.EventFilter{Categories: group, Limit: 7}
		}
		for pages := 0; ; pages++ {
			if pages > 40 {
				t.Fatal("pagination does not end")
			}
			page, err := s.ListEvents(ctx, "u1", f)
			must(t, err)
			if len(page) > 7 {
				t.Fatalf("page of %d events, limit 7", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.UserID != "u1" {
					t.Fatalf("event %s of %s in u1's pages", e.ID, e.UserID)
				}
			}
			gotIDs = append(gotIDs, eventIDs(page)...)
			last := page[len(page)-1]
			f.Before = &storage.EventCursor{At: last.At, ID: last.ID}
		}
		diff(t, "event ids over all pages, category "+category, wantIDs, gotIDs)
	}

	list, err := s.ListEvents(ctx, "u1", storage.EventFilter{Limit: -1})
	must(t, err)
	if len(list) != 120 {
		t.Errorf("ListEvents without limit returned %d, want all 120 (under MaxEventPage)", len(list))
	}
}

func eventIDs(l []storage.Event) []string {
	var ids []string
	for _, e := range l {
		ids = append(ids, e.ID)
	}
	return ids
}
