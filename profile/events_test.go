package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
	iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)

// newUserID registers a user through the service function and returns its id.
func (e *env) newUserID(email string) string {
	e.t.Helper()
	u, err := e.h.Register(e.t.Context(), email, goodPassword, "", false)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// userEvents lists every event of userID, newest first.
func (e *env) userEvents(userID string) []storage.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.t.Context(), userID, storage.EventFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func TestRecordStoresEvent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.newUserID("rec@example.com")
		if err := e.store.CreateClient(t.Context(), storage.Client{ID: "app-1", Name: "Notes", CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/login", nil)
		req.RemoteAddr = "198.51.100.7:50000"
		req.Header.Set("User-Agent", chromeUA)
		req.Header.Set("X-Forwarded-For", "203.0.113.9") // from an untrusted peer: ignored
		e.h.Record(t.Context(), req, uid, Event{Category: CategoryLogin, ClientID: "app-1",
			Details: map[string]string{"method": "password", "password": "hunter2", "code": "123456", "access_token": "x"}})

		evs := e.userEvents(uid)
		if len(evs) != 1 {
			t.Fatalf("events %+v", evs)
		}
		got := evs[0]
		if len(got.ID) != 36 {
			t.Errorf("id %q", got.ID)
		}
		want := storage.Event{ID: got.ID, UserID: uid, Category: "login", At: e.clock.Now().UTC(), ClientID: "app-1",
			ClientName: "Notes", Device: "desktop", Browser: "Chrome 118", OS: "Windows", IP: "198.51.100.7",
			Details: map[string]string{"method": "password"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("event (-want +got):\n%s", d)
		}

		// iPhone Safari, through a trusted proxy that appended the client's address.
		e.h.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		e.clock.Add(time.Second)
		req = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/logout", nil)
		req.RemoteAddr = "10.1.2.3:443"
		req.Header.Set("User-Agent", iPhoneUA)
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
		e.h.Record(t.Context(), req, uid, Event{Category: CategoryLogout})
		got = e.userEvents(uid)[0]
		if got.Category != "logout" || got.Device != "mobile" || got.Browser != "Safari 17" || got.OS != "iOS" ||
			got.IP != "203.0.113.9" || got.ClientID != "" || got.Details != nil {
			t.Errorf("iPhone event %+v", got)
		}
	})
}

func TestRecordNeverFailsCaller(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		e.h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
		// No such user: the foreign key refuses the row; Record logs and returns.
		e.h.Record(t.Context(), req, "no-such-user", Event{Category: CategoryLogin})
		if !strings.Contains(logs.String(), `"level":"ERROR","msg":"record event"`) {
			t.Errorf("log %s", logs.String())
		}
		// A canceled request still leaves its trace.
		uid := e.newUserID("cancel@example.com")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		e.h.Record(ctx, req.WithContext(ctx), uid, Event{Category: CategoryLogout})
		if evs := e.userEvents(uid); len(evs) != 1 {
			t.Errorf("events after a canceled request: %+v", evs)
		}
	})
}

func TestClientAddr(t *testing.T) {
	h := &Handler{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"),
	}}}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "198.51.100.1:1234", nil, "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:1234", []string{"203.0.113.5"}, "198.51.100.1"},
		{"trusted peer", "10.0.0.1:1234", []string{"203.0.113.5"}, "203.0.113.5"},
		{"right-most untrusted", "10.0.0.1:1234", []string{"1.2.3.4, 203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"header lines in order", "10.0.0.1:1234", []string{"1.2.3.4", "203.0.113.5"}, "203.0.113.5"},
		{"all trusted", "10.0.0.1:1234", []string{"10.9.9.9, 10.0.0.2"}, "10.9.9.9"},
		{"garbage stops the walk", "10.0.0.1:1234", []string{"203.0.113.5, nonsense"}, "10.0.0.1"},
		{"trusted without header", "10.0.0.1:1234", nil, "10.0.0.1"},
		{"ipv6 peer", "[2001:db8::1]:443", []string{"2001:db8::2, 2a00:1450::1"}, "2a00:1450::1"},
		{"ipv4-mapped", "[::ffff:10.0.0.1]:443", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"no port", "198.51.100.1", nil, "198.51.100.1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := h.clientAddr(r); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRateKey(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"198.51.100.1", "198.51.100.1"},
		{"::ffff:198.51.100.1", "198.51.100.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-address", "not-an-address"},
	}
	for _, c := range cases {
		if got := rateKey(c.addr); got != c.want {
			t.Errorf("rateKey(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestCleanDetails(t *testing.T) {
	got := cleanDetails(map[string]string{
		"fields": "given_name,birthdate", "method": "password", "new_password": "x", "code": "1",
		"verification_code": "2", "country_code": "DE", "id_token": "t", "client_secret": "s",
		"long": strings.Repeat("a", 1000),
	})
	want := map[string]string{"fields": "given_name,birthdate", "method": "password", "country_code": "DE", "long": strings.Repeat("a", maxDetailValue)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cleanDetails (-want +got):\n%s", d)
	}
	many := map[string]string{}
	for i := range 40 {
		many[fmt.Sprint("k", i)] = "v"
	}
	if n := len(cleanDetails(many)); n != maxEventDetails {
		t.Errorf("kept %d details, want %d", n, maxEventDetails)
	}
}

func TestLoginEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if err := e.store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.browser("192.0.2.40")
		b.register("ev@example.com", goodPassword, "", "/oauth2/auth?client_id=notes&state=1")
		u, err := e.store.GetUserByEmail(ctx, "ev@example.com")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
		if res := b.post("/logout", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("logout %d", res.Status)
		}
		e.clock.Add(time.Second)
		b.login("ev@example.com", "wrong password")
		e.clock.Add(time.Second)
		b.login("nobody@example.com", "wrong password") // unknown: no event anywhere
		e.clock.Add(time.Second)
		res := b.post("/login", url.Values{"email": {"ev@example.com"}, "password": {goodPassword}, "return_to": {"/oauth2/auth?client_id=notes"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("login %d", res.Status)
		}
		e.clock.Add(time.Second)
		// A client id that does not exist is not recorded as an app.
		b.post("/login", url.Values{"email": {"ev@example.com"}, "password": {goodPassword}, "return_to": {"/oauth2/auth?client_id=forged"}})

		type row struct{ Category, ClientID, Method, IP string }
		var got []row
		for _, ev := range e.userEvents(u.ID) {
			got = append(got, row{ev.Category, ev.ClientID, ev.Details["method"], ev.IP})
			if ev.Device != "" || ev.UserID != u.ID {
				t.Errorf("event %+v", ev)
			}
		}
		want := []row{
			{"login", "", "password", "192.0.2.40"},
			{"login", "notes", "password", "192.0.2.40"},
			{"login_failed", "", "password", "192.0.2.40"},
			{"logout", "", "", "192.0.2.40"},
			{"registration", "notes", "password", "192.0.2.40"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
		users, err := e.store.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 {
			t.Fatalf("users %+v", users)
		}
		// Logging out without a session records nothing.
		before := len(e.userEvents(u.ID))
		e.browser("192.0.2.41").post("/logout", nil)
		if after := len(e.userEvents(u.ID)); after != before {
			t.Errorf("events %d → %d after an anonymous logout", before, after)
		}
	})
}

// addEvents stores n events of userID one microsecond apart (every other pair sharing a
// time), alternating categories and apps, and returns their ids newest first.
func (e *env) addEvents(userID string, n int) []string {
	e.t.Helper()
	var ids []string
	for i := range n {
		ev := storage.Event{ID: fmt.Sprintf("%s-%03d", userID[:8], i), UserID: userID, Category: CategoryLogin,
			At: e.clock.Now().Add(time.Duration(i/2) * time.Microsecond), IP: "192.0.2.1", Device: "desktop", Browser: "Firefox 120", OS: "Linux"}
		if i%4 == 0 {
			ev.Category, ev.ClientID = CategoryProfileUpdated, "notes"
		}
		if err := e.store.AddEvent(e.t.Context(), ev); err != nil {
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
		if err := e.store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes & Co", CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.browser("192.0.2.50")
		if res := b.get("/profile/events"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login?") {
			t.Fatalf("signed out: %d %q", res.Status, res.Location)
		}
		b.register("page@example.com", goodPassword, "", "/")
		u, err := e.store.GetUserByEmail(ctx, "page@example.com")
		if err != nil {
			t.Fatal(err)
		}
		other := e.newUserID("other@example.com")
		otherIDs := e.addEvents(other, 3)
		e.clock.Add(time.Minute)
		ids := e.addEvents(u.ID, 120)
		ids = append(ids, e.userEvents(u.ID)[120].ID) // the registration, oldest

		// Walk the pages through the "Older" links: each event once, in order.
		walk := func(start string) []string {
			var seen []string
			next := start
			for pages := 0; next != ""; pages++ {
				if pages > 5 {
					t.Fatal("too many pages")
				}
				res := b.get(next)
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

		first := b.get("/profile/events")
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
		filtered := b.get("/profile/events?category=profile_updated")
		mustContain(t, filtered, `<option value="profile_updated" selected>`, "Show all events")

		// Times in the user's zone, with the zone named.
		if err := e.store.PutProfileFields(ctx, []storage.ProfileField{{UserID: u.ID, Field: "zoneinfo", Value: "Europe/Berlin", Privacy: "private", UpdatedAt: e.clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		berlin := b.get("/profile/events")
		// The clock is 2030-01-02 03:02 UTC: 04:02 in Berlin (CET).
		mustContain(t, berlin, "Times in Europe/Berlin.", "2 Jan 2030, 04:02:00 CET")

		// Details: own event yes, another user's or a missing one 404.
		detail := b.get("/profile/events/" + ids[0])
		if detail.Status != http.StatusOK {
			t.Fatalf("detail %d", detail.Status)
		}
		mustContain(t, detail, "Signed in", u.ID, "Firefox 120", "Linux", "192.0.2.1", "Europe/Berlin")
		for _, path := range []string{"/profile/events/" + otherIDs[0], "/profile/events/none"} {
			if res := b.get(path); res.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, res.Status)
			}
		}
		app := b.get("/profile/events/" + profileIDs[0])
		mustContain(t, app, "Profile changed", "Notes &amp; Co", "<code>notes</code>")

		if res := b.get("/profile/events?cursor=%21%21"); res.Status != http.StatusBadRequest {
			t.Errorf("bad cursor: %d", res.Status)
		}
	})
}

// apiGet calls the account API with the browser's session.
func (b *browser) apiGet(path string) (int, map[string]any) {
	b.e.t.Helper()
	res := b.get(path)
	var body map[string]any
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		b.e.t.Fatalf("%s: %d %q: %v", path, res.Status, res.Body, err)
	}
	return res.Status, body
}

func TestEventsAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if err := e.store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.browser("192.0.2.60")
		if status, body := b.apiGet("/api/account/events"); status != http.StatusUnauthorized || body["error"] != "login_required" {
			t.Fatalf("signed out: %d %v", status, body)
		}
		b.register("api@example.com", goodPassword, "", "/")
		u, err := e.store.GetUserByEmail(ctx, "api@example.com")
		if err != nil {
			t.Fatal(err)
		}
		other := e.newUserID("other@example.com")
		otherIDs := e.addEvents(other, 2)
		e.clock.Add(time.Minute)
		ids := append(e.addEvents(u.ID, 120), e.userEvents(u.ID)[120].ID)

		var got []string
		next := "/api/account/events"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			status, body := b.apiGet(next)
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
		_, body := b.apiGet("/api/account/events?client_id=notes&category=profile_updated")
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
			status, body := b.apiGet("/api/account/events?cursor=" + bad)
			if status != http.StatusBadRequest || body["error"] != "invalid_request" {
				t.Errorf("cursor %q: %d %v", bad, status, body)
			}
		}
		// A valid cursor of another user's event still only pages through the caller's own.
		cursor := encodeCursor(storage.EventCursor{At: e.clock.Now().Add(time.Hour), ID: otherIDs[0]})
		_, body = b.apiGet("/api/account/events?cursor=" + cursor)
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
		start := e.clock.Now()
		for i, age := range []time.Duration{400 * 24 * time.Hour, 366 * 24 * time.Hour, 364 * 24 * time.Hour, time.Hour} {
			ev := storage.Event{ID: fmt.Sprint("p", i), UserID: uid, Category: CategoryLogin, At: start.Add(-age)}
			if err := e.store.AddEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
		// Two nodes: only the lease holder purges.
		e.h.purgeEventsOnce(t.Context(), "node-a", time.Hour)
		e.h.purgeEventsOnce(t.Context(), "node-b", time.Hour)
		var left []string
		for _, ev := range e.userEvents(uid) {
			left = append(left, ev.ID)
		}
		if d := cmp.Diff([]string{"p3", "p2"}, left); d != "" {
			t.Errorf("after purge (-want +got):\n%s", d)
		}
		if ok, err := e.store.TryLease(t.Context(), EventPurgeLease, "node-b", e.clock.Now(), time.Hour); err != nil || ok {
			t.Errorf("node-b took the lease node-a holds: %v %v", ok, err)
		}
		// Another retention.
		e.h.cfg.EventRetention = 30 * time.Minute
		if n, err := e.h.PurgeEvents(t.Context()); err != nil || n != 2 {
			t.Errorf("PurgeEvents = %d, %v; want 2", n, err)
		}
	})
}

// TestEventPagesShowSidebar: the Event Log and an event's page show the account sidebar of
// /profile, with the Event Log tab current.
func TestEventPagesShowSidebar(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("side@example.com", "Sid Bar", "192.0.2.51")
		list := b.get("/profile/events")
		wantStatus(t, "event log", list, 200, `class="account-sidebar"`, "Sid Bar", "side@example.com",
			`<span class="account-initials" aria-hidden="true">SB</span>`,
			`href="/profile"`, `<a href="/profile/events" aria-current="page">`)
		id := e.userEvents(u.ID)[0].ID
		wantStatus(t, "event", b.get("/profile/events/"+id), 200, `class="account-sidebar"`, "Sid Bar",
			`<a href="/profile/events" aria-current="page">`)
	})
}
