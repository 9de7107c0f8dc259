package activity

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

func TestDetailSentences(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		details map[string]string
		want    []string
	}{
		{"none", nil, nil},
		{"level", map[string]string{"field": "family_name", "level": "private"}, []string{"Family name: visible to only you"}},
		{"level on request", map[string]string{"field": "birthdate", "level": "on_request"}, []string{"Birth date: apps get it only with your consent"}},
		{"level public", map[string]string{"field": "given_name", "level": "public"}, []string{"Given name: visible to everyone"}},
		{"unknown level fails closed", map[string]string{"field": "given_name", "level": "friends"}, []string{"Given name: visible to only you"}},
		{"private profile", map[string]string{"private_profile": "on"}, []string{"Private profile turned on"}},
		{"fields", map[string]string{"fields": "given_name,birthdate"}, []string{"Changed: Given name, Birth date"}},
		{"unknown field keeps its name", map[string]string{"fields": "given_name,shoe_size"}, []string{"Changed: Given name, shoe_size"}},
		{"method", map[string]string{"method": "password"}, []string{"With your password"}},
		{"unknown method", map[string]string{"method": "carrier pigeon"}, []string{"Method: carrier pigeon"}},
		{"consent", map[string]string{"scopes": "openid,email,notes.read", "claims": "birthdate", "declined": "phone_number", "public": "given_name,family_name"},
			[]string{"Shared with your permission: Birth date", "Shared because you made it public: Given name, Family name",
				"Not shared, as you chose: Phone number",
				"Permissions: Know who you are when you sign in, Your email address, Access “notes.read”"}},
		{"sign-in in the user's zone", map[string]string{"scopes": "openid", "auth_time": "2030-01-02T03:01:00Z"},
			[]string{"Permissions: Know who you are when you sign in", "Using your Facet sign-in of 2 Jan 2030, 04:01:00"}},
		{"bad time shows as given", map[string]string{"auth_time": "yesterday"}, []string{"auth_time: yesterday"}},
		{"unknown keys last, sorted", map[string]string{"zeta": "1", "count": "3", "field": "nickname", "level": "public"},
			[]string{"Nickname: visible to everyone", "Number: 3", "zeta: 1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, detailSentences(templates.English, c.details, berlin, false)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			var brief []string
			for _, s := range c.want {
				if !strings.HasPrefix(s, "Permissions: ") {
					brief = append(brief, s)
				}
			}
			if d := cmp.Diff(brief, detailSentences(templates.English, c.details, berlin, true)); d != "" {
				t.Errorf("brief (-want +got):\n%s", d)
			}
		})
	}
}

// TestEventLogInWords: what the account's own pages record reads as sentences on the Event
// Log and an event's page, with field names in words and the time zone named once; app
// activity has its own group in the filter, which the page and the API both apply.
func TestEventLogInWords(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		now := e.Clock.Now()
		if err := e.Store.CreateClient(ctx, storage.Client{ID: "notes", Name: "Notes", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		b, u := e.SignUp("words@example.com", "Alex Timofeeva", "192.0.2.70")
		if res := b.Post("/profile/privacy/family_name", url.Values{"level": {"private"}}); res.Status >= 400 {
			t.Fatalf("privacy: %d", res.Status)
		}
		if res := b.Post("/profile/edit", url.Values{"block": {"main"}, "given_name": {"Alexandra"}, "family_name": {"Timofeeva"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("edit: %d %s", res.Status, res.Body)
		}
		// App activity, as oauth records it through the same recorder.
		rec := recorder(e.Store, e.Clock.Now)
		o := profile.Origin{IP: "192.0.2.71", Device: "mobile", Browser: "Firefox 120", OS: "Android"}
		e.Clock.Add(time.Second)
		rec.Record(ctx, o, u.ID, profile.Event{Category: profile.CategoryAppConsentGiven, ClientID: "notes",
			Details: map[string]string{"scopes": "openid,email", "claims": "family_name"}})
		e.Clock.Add(time.Second)
		rec.Record(ctx, o, u.ID, profile.Event{Category: profile.CategoryAppSignIn, ClientID: "notes",
			Details: map[string]string{"scopes": "openid,email", "auth_time": now.Format(time.RFC3339)}})

		page := b.Get("/profile/events")
		mustContain(t, page, "Family name: visible to only you", "Changed: Given name", "Times in UTC.",
			"App allowed", "Signed in to an app", "Shared with your permission: Family name",
			"Using your Facet sign-in of 2 Jan 2030, 03:01:00",
			`<optgroup label="App activity">`, `<option value="app">All app activity</option>`,
			`<option value="app_consent_given">App allowed</option>`, `<option value="app_signin">Signed in to an app</option>`,
			`<optgroup label="Your account">`, `<option value="privacy_changed">Privacy settings changed</option>`,
			`data-label="Date and time"`)
		for _, raw := range []string{"family_name", "given_name", "Changed fields", "UTC (UTC)", "private</"} {
			if strings.Contains(page.Body, raw) {
				t.Errorf("the Event Log shows %q", raw)
			}
		}
		var privacyID string
		for _, ev := range e.Events(u.ID) {
			if ev.Category == profile.CategoryPrivacyChanged {
				privacyID = ev.ID
			}
		}
		if strings.Contains(page.Body, "Permissions: ") {
			t.Error("the Event Log's table lists the scopes of each event")
		}
		one := b.Get("/profile/events/" + privacyID)
		mustContain(t, one, "Family name: visible to only you", "(UTC)")
		signIn := e.Events(u.ID)[0]
		mustContain(t, b.Get("/profile/events/"+signIn.ID), "Signed in to an app", "Notes",
			"Permissions: Know who you are when you sign in, Your email address", "Using your Facet sign-in of 2 Jan 2030, 03:01:00")
		if strings.Contains(one.Body, "UTC (UTC)") || strings.Contains(one.Body, "family_name") {
			t.Errorf("the event's page shows raw keys or the zone twice:\n%s", one.Body)
		}

		// The app group: the page and the API list the app's events only.
		apps := b.Get("/profile/events?category=app")
		mustContain(t, apps, `<option value="app" selected>`, "App allowed", "Signed in to an app")
		if strings.Contains(apps.Body, "Privacy settings changed</a>") || strings.Contains(apps.Body, "Account created</a>") {
			t.Error("the app group shows the account's own events")
		}
		_, body := apiGet(t, b, "/api/account/events?category=app")
		var got []string
		for _, ev := range body["events"].([]any) {
			got = append(got, ev.(map[string]any)["category"].(string))
		}
		if d := cmp.Diff([]string{profile.CategoryAppSignIn, profile.CategoryAppConsentGiven}, got); d != "" {
			t.Errorf("API category=app (-want +got):\n%s", d)
		}
		for _, c := range got {
			if !slices.Contains(profile.AppCategories(), c) {
				t.Errorf("API category=app listed %q", c)
			}
		}
	})
}

// TestAppCategoriesHaveWords: every app category has its header in the catalog.
func TestAppCategoriesHaveWords(t *testing.T) {
	for _, c := range profile.AppCategories() {
		if categoryLabel(templates.English, c) == c {
			t.Errorf("category %q has no message", c)
		}
	}
}
