package activity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// env is the account core with the Event Log mounted, on a fresh database.
type env struct {
	*profiletest.Env
	t   *testing.T
	log *Handler
}

func newEnv(t *testing.T, b sqltest.Backend) *env {
	e := &env{t: t}
	e.Env = profiletest.New(t, b, nil, recorder, func(k profiletest.Kit) []profiletest.Module {
		e.log = New(k.Core, k.Store, 0, k.Now)
		return []profiletest.Module{e.log}
	})
	return e
}

// recorder is the activity log's own recorder on the env's store and clock.
func recorder(store storage.Storage, now func() time.Time) profile.Recorder {
	return NewRecorder(store, nil, now)
}

// eachBackend runs fn on SQLite and, when configured, PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

// newUserID creates an account with an empty activity log and returns its id.
func (e *env) newUserID(email string) string {
	e.t.Helper()
	now := e.Clock.Now()
	u := storage.User{ID: profile.NewID(), Email: email, Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := e.Store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// apiGet calls the account API with the browser's session.
func apiGet(t *testing.T, b *profiletest.Browser, path string) (int, map[string]any) {
	t.Helper()
	res := b.Get(path)
	var body map[string]any
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatalf("%s: %d %q: %v", path, res.Status, res.Body, err)
	}
	return res.Status, body
}

func mustContain(t *testing.T, res profiletest.Response, parts ...string) {
	t.Helper()
	profiletest.WantStatus(t, "page", res, res.Status, parts...)
}

// addEvents stores n events of userID one microsecond apart (every other pair sharing a
// time), alternating categories and apps, and returns their ids newest first.
func (e *env) addEvents(userID string, n int) []string {
	e.t.Helper()
	var ids []string
	for i := range n {
		ev := storage.Event{ID: fmt.Sprintf("%s-%03d", userID[:8], i), UserID: userID, Category: profile.CategoryLogin,
			At: e.Clock.Now().Add(time.Duration(i/2) * time.Microsecond), IP: "192.0.2.1", Device: "desktop", Browser: "Firefox 120", OS: "Linux"}
		if i%4 == 0 {
			ev.Category, ev.ClientID = profile.CategoryProfileUpdated, "notes"
		}
		if err := e.Store.AddEvent(e.t.Context(), ev); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	slices.Reverse(ids)
	return ids
}

var eventLinkRE = regexp.MustCompile(`<a href="/profile/events/([^"]+)">`)
var olderLinkRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

func TestEventLogPage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if err := e.Store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes & Co", CreatedAt: e.Clock.Now(), UpdatedAt: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.Browser("192.0.2.50")
		if res := b.Get("/profile/events"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login?") {
			t.Fatalf("signed out: %d %q", res.Status, res.Location)
		}
		b.Register("page@example.com", profiletest.Password, "", "/")
		u, err := e.Store.GetUserByEmail(ctx, "page@example.com")
		if err != nil {
			t.Fatal(err)
		}
		other := e.newUserID("other@example.com")
		otherIDs := e.addEvents(other, 3)
		e.Clock.Add(time.Minute)
		ids := e.addEvents(u.ID, 120)
		ids = append(ids, e.Events(u.ID)[120].ID) // the registration, oldest

		// Walk the pages through the "Older" links: each event once, in order.
		walk := func(start string) []string {
			var seen []string
			next := start
			for pages := 0; next != ""; pages++ {
				if pages > 5 {
					t.Fatal("too many pages")
				}
				res := b.Get(next)
				if res.Status != http.StatusOK {
					t.Fatalf("%s: %d", next, res.Status)
				}
				for _, m := range eventLinkRE.FindAllStringSubmatch(res.Body, -1) {
					seen = append(seen, m[1])
				}
				next = ""
				if m := olderLinkRE.FindStringSubmatch(res.Body); m != nil {
					next = strings.ReplaceAll(m[1], "&amp;", "&")
				}
			}
			return seen
		}
		if d := cmp.Diff(ids, walk("/profile/events")); d != "" {
			t.Errorf("pages (-want +got):\n%s", d)
		}
		var profileIDs []string
		for i, id := range ids[:120] {
			if (119-i)%4 == 0 {
				profileIDs = append(profileIDs, id)
			}
		}
		if d := cmp.Diff(profileIDs, walk("/profile/events?category=profile_updated")); d != "" {
			t.Errorf("category filter (-want +got):\n%s", d)
		}
		if d := cmp.Diff(profileIDs, walk("/profile/events?client_id=notes")); d != "" {
			t.Errorf("app filter (-want +got):\n%s", d)
		}

		first := b.Get("/profile/events")
		mustContain(t, first,
			`<option value="profile_updated">Profile changed</option>`,
			`<option value="registration">Account created</option>`,
			`<option value="notes">Notes &amp; Co</option>`,
			"Times in UTC.", "Signed in", "Notes &amp; Co", "Computer · Firefox 120 · Linux", "192.0.2.1",
			`rel="next"`)
		if strings.Contains(first.Body, "Newest events") {
			t.Error("the first page links to itself")
		}
		for _, id := range otherIDs {
			if strings.Contains(first.Body, id) {
				t.Errorf("another user's event %s on the page", id)
			}
		}
		filtered := b.Get("/profile/events?category=profile_updated")
		mustContain(t, filtered, `<option value="profile_updated" selected>`, "Show all events")

		// Times in the user's zone, with the zone named.
		if err := e.Store.PutProfileFields(ctx, []storage.ProfileField{{UserID: u.ID, Field: "zoneinfo", Value: "Europe/Berlin", Privacy: "private", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		berlin := b.Get("/profile/events")
		// The clock is 2030-01-02 03:02 UTC: 04:02 in Berlin (CET). The zone is named once,
		// in the caption, not after every time.
		mustContain(t, berlin, "Times in Europe/Berlin.", "2 Jan 2030, 04:02:00</time>")
		if strings.Contains(berlin.Body, "CET") {
			t.Error("the zone's abbreviation is repeated after the times")
		}

		// Details: own event yes, another user's or a missing one 404.
		detail := b.Get("/profile/events/" + ids[0])
		if detail.Status != http.StatusOK {
			t.Fatalf("detail %d", detail.Status)
		}
		mustContain(t, detail, "Signed in", u.ID, "Firefox 120", "Linux", "192.0.2.1", "2 Jan 2030, 04:02:00</time> (Europe/Berlin)")
		for _, path := range []string{"/profile/events/" + otherIDs[0], "/profile/events/none"} {
			if res := b.Get(path); res.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, res.Status)
			}
		}
		app := b.Get("/profile/events/" + profileIDs[0])
		mustContain(t, app, "Profile changed", "Notes &amp; Co", "<code>notes</code>")

		if res := b.Get("/profile/events?cursor=%21%21"); res.Status != http.StatusBadRequest {
			t.Errorf("bad cursor: %d", res.Status)
		}
	})
}

func TestEventsAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if err := e.Store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", CreatedAt: e.Clock.Now(), UpdatedAt: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.Browser("192.0.2.60")
		if status, body := apiGet(t, b, "/api/account/events"); status != http.StatusUnauthorized || body["error"] != "login_required" {
			t.Fatalf("signed out: %d %v", status, body)
		}
		b.Register("api@example.com", profiletest.Password, "", "/")
		u, err := e.Store.GetUserByEmail(ctx, "api@example.com")
		if err != nil {
			t.Fatal(err)
		}
		other := e.newUserID("other@example.com")
		otherIDs := e.addEvents(other, 2)
		e.Clock.Add(time.Minute)
		ids := append(e.addEvents(u.ID, 120), e.Events(u.ID)[120].ID)

		var got []string
		next := "/api/account/events"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			status, body := apiGet(t, b, next)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %v", next, status, body)
			}
			events := body["events"].([]any)
			if len(events) > eventPageSize {
				t.Fatalf("%d events in a page", len(events))
			}
			for _, ev := range events {
				got = append(got, ev.(map[string]any)["id"].(string))
			}
			next = ""
			if c, ok := body["next_cursor"].(string); ok {
				next = "/api/account/events?cursor=" + url.QueryEscape(c)
			} else if body["next_cursor"] != nil {
				t.Fatalf("next_cursor %v", body["next_cursor"])
			}
		}
		if d := cmp.Diff(ids, got); d != "" {
			t.Errorf("API pages (-want +got):\n%s", d)
		}
		for _, id := range otherIDs {
			if slices.Contains(got, id) {
				t.Errorf("another user's event %s in the API", id)
			}
		}

		// The shape of one event.
		_, body := apiGet(t, b, "/api/account/events?client_id=notes&category=profile_updated")
		events := body["events"].([]any)
		if len(events) != 30 {
			t.Fatalf("filtered: %d events", len(events))
		}
		wantEv := map[string]any{
			"id": ids[119-116], "category": "profile_updated", "time": "2030-01-02T03:02:00.000058Z",
			"client_id": "notes", "client_name": "Notes", "device": "desktop", "browser": "Firefox 120",
			"os": "Linux", "ip": "192.0.2.1", "details": map[string]any{},
		}
		if d := cmp.Diff(wantEv, events[0]); d != "" {
			t.Errorf("event JSON (-want +got):\n%s", d)
		}
		if body["next_cursor"] != nil {
			t.Errorf("next_cursor %v on the only page", body["next_cursor"])
		}

		for _, bad := range []string{"!!", "bm90LWEtY3Vyc29y", "MTIzLg", url.QueryEscape(strings.Repeat("A", 300))} {
			status, body := apiGet(t, b, "/api/account/events?cursor="+bad)
			if status != http.StatusBadRequest || body["error"] != "invalid_request" {
				t.Errorf("cursor %q: %d %v", bad, status, body)
			}
		}
		// A valid cursor of another user's event still only pages through the caller's own.
		cursor := encodeCursor(storage.EventCursor{At: e.Clock.Now().Add(time.Hour), ID: otherIDs[0]})
		_, body = apiGet(t, b, "/api/account/events?cursor="+cursor)
		for _, ev := range body["events"].([]any) {
			if id := ev.(map[string]any)["id"].(string); !slices.Contains(ids, id) {
				t.Errorf("event %s is not the caller's", id)
			}
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	c := storage.EventCursor{At: time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC), ID: "3f1c-id.with.dots"}
	got, err := decodeCursor(encodeCursor(c))
	if err != nil || !got.At.Equal(c.At) || got.ID != c.ID {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(storage.EventCursor{At: time.Unix(1, 0), ID: "x"}))
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if c.ID == "" {
			t.Errorf("decoded %q to an empty id", s)
		}
	})
}

func TestPurgeEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.newUserID("purge@example.com")
		start := e.Clock.Now()
		for i, age := range []time.Duration{400 * 24 * time.Hour, 366 * 24 * time.Hour, 364 * 24 * time.Hour, time.Hour} {
			ev := storage.Event{ID: fmt.Sprint("p", i), UserID: uid, Category: profile.CategoryLogin, At: start.Add(-age)}
			if err := e.Store.AddEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.log.Purge(t.Context()); err != nil || n != 2 {
			t.Errorf("Purge = %d, %v; want 2", n, err)
		}
		var left []string
		for _, ev := range e.Events(uid) {
			left = append(left, ev.ID)
		}
		if d := cmp.Diff([]string{"p3", "p2"}, left); d != "" {
			t.Errorf("after purge (-want +got):\n%s", d)
		}
		// Another retention.
		short := New(e.Core, e.Store, 30*time.Minute, e.Clock.Now)
		if n, err := short.Purge(t.Context()); err != nil || n != 2 {
			t.Errorf("Purge with a 30-minute retention = %d, %v; want 2", n, err)
		}
	})
}

// TestEventPagesShowSidebar: the Event Log and an event's page show the account sidebar of
// /profile, with the Event Log tab current.
func TestEventPagesShowSidebar(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.SignUp("side@example.com", "Sid Bar", "192.0.2.51")
		list := b.Get("/profile/events")
		profiletest.WantStatus(t, "event log", list, 200, `class="account-sidebar"`, "Sid Bar", "side@example.com",
			`<span class="account-initials" aria-hidden="true">SB</span>`,
			`href="/profile"`, `<a href="/profile/events" aria-current="page">`)
		id := e.Events(u.ID)[0].ID
		profiletest.WantStatus(t, "event", b.Get("/profile/events/"+id), 200, `class="account-sidebar"`, "Sid Bar",
			`<a href="/profile/events" aria-current="page">`)
	})
}
