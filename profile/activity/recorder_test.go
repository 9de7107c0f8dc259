package activity

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"

// TestRecordStoresEvent: Record stores the event with the origin it is given, the time of its
// clock and the app's current name, and drops details that name secrets.
func TestRecordStoresEvent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		uid := e.newUserID("rec@example.com")
		if err := e.Store.CreateClient(t.Context(), storage.Client{ID: "app-1", Name: "Notes", CreatedAt: e.Clock.Now(), UpdatedAt: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		rec := NewRecorder(e.Store, nil, e.Clock.Now)
		o := profile.Origin{IP: "198.51.100.7", Device: "desktop", Browser: "Chrome 118", OS: "Windows"}
		rec.Record(t.Context(), o, uid, profile.Event{Category: profile.CategoryLogin, ClientID: "app-1",
			Details: map[string]string{"method": "password", "password": "hunter2", "code": "123456", "access_token": "x"}})

		evs := e.Events(uid)
		if len(evs) != 1 {
			t.Fatalf("events %+v", evs)
		}
		got := evs[0]
		if len(got.ID) != 36 {
			t.Errorf("id %q", got.ID)
		}
		want := storage.Event{ID: got.ID, UserID: uid, Category: "login", At: e.Clock.Now().UTC(), ClientID: "app-1",
			ClientName: "Notes", Device: "desktop", Browser: "Chrome 118", OS: "Windows", IP: "198.51.100.7",
			Details: map[string]string{"method": "password"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("event (-want +got):\n%s", d)
		}

		// The command line: no address, no browser; an oversized origin is cut to its bound.
		e.Clock.Add(time.Second)
		rec.Record(t.Context(), profile.CommandLine(), uid, profile.Event{Category: profile.CategoryLogout})
		got = e.Events(uid)[0]
		if got.Category != "logout" || got.Device != "cli" || got.Browser != "" || got.IP != "" || got.ClientID != "" || got.Details != nil {
			t.Errorf("command-line event %+v", got)
		}
		e.Clock.Add(time.Second)
		rec.Record(t.Context(), profile.Origin{Browser: strings.Repeat("b", 1000)}, uid, profile.Event{Category: profile.CategoryLogout})
		if got = e.Events(uid)[0]; len(got.Browser) != maxOriginPart {
			t.Errorf("browser of %d bytes stored, want %d", len(got.Browser), maxOriginPart)
		}
	})
}

func TestRecordNeverFailsCaller(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		rec := NewRecorder(e.Store, slog.New(slog.NewJSONHandler(&logs, nil)), e.Clock.Now)
		// No such user: the foreign key refuses the row; Record logs and returns.
		rec.Record(t.Context(), profile.Origin{}, "no-such-user", profile.Event{Category: profile.CategoryLogin})
		if !strings.Contains(logs.String(), `"level":"ERROR","msg":"record event"`) {
			t.Errorf("log %s", logs.String())
		}
		// A canceled request still leaves its trace.
		uid := e.newUserID("cancel@example.com")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		rec.Record(ctx, profile.Origin{IP: "192.0.2.1"}, uid, profile.Event{Category: profile.CategoryLogout})
		if evs := e.Events(uid); len(evs) != 1 {
			t.Errorf("events after a canceled request: %+v", evs)
		}
	})
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
