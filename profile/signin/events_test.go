package signin

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

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

// TestCompleteProfileAfterLogin: a login whose account lacks a mandatory field goes through the
// core's completion step before return_to.
func TestCompleteProfileAfterLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "ann@example.com", goodPassword, "Ann", false); err != nil {
			t.Fatal(err)
		}
		b := e.browser("192.0.2.3")
		returnTo := "/oauth2/auth?client_id=app&state=1"
		res := b.post("/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}, "return_to": {returnTo}})
		want := "/profile/complete?return_to=" + url.QueryEscape(returnTo)
		if res.Status != http.StatusSeeOther || res.Location != want {
			t.Fatalf("login: %d %q, want %q", res.Status, res.Location, want)
		}
		page := b.get(res.Location)
		mustContain(t, page, "Complete your profile", `name="family_name"`, `action="/profile/complete"`, `value="`+html.EscapeString(returnTo)+`"`)
		if strings.Contains(page.Body, `name="given_name"`) || strings.Contains(page.Body, `name="birthdate"`) {
			t.Error("complete page asks for more than the missing fields")
		}
		res = b.post("/profile/complete", url.Values{"return_to": {returnTo}, "family_name": {"  "}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("empty: %d", res.Status)
		}
		mustContain(t, res, "This is required.")
		res = b.post("/profile/complete", url.Values{"return_to": {returnTo}, "family_name": {"Lee"}})
		if res.Status != http.StatusSeeOther || res.Location != returnTo {
			t.Fatalf("complete: %d %q\n%s", res.Status, res.Location, res.Body)
		}
		u, err := e.store.GetUserByEmail(t.Context(), "ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if need, err := e.core.NeedsCompletion(t.Context(), u.ID); err != nil || need {
			t.Errorf("NeedsCompletion after completing = %v, %v", need, err)
		}
		// Complete already: the page goes straight on; the next login too.
		if res := b.get(want); res.Status != http.StatusSeeOther || res.Location != returnTo {
			t.Errorf("complete page when complete: %d %q", res.Status, res.Location)
		}
		res = e.browser("192.0.2.4").post("/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}, "return_to": {returnTo}})
		if res.Location != returnTo {
			t.Errorf("second login: %q", res.Location)
		}
		// Saving the profile with mandatory fields empty is allowed (spec); the next login asks again.
		if res := b.post("/profile/edit", url.Values{"block": {"main"}, "given_name": {""}, "family_name": {"Lee"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("clear given_name: %d", res.Status)
		}
		mustContain(t, b.get("/profile"), "Some required information is missing", "Given name")
		res = e.browser("192.0.2.5").post("/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}})
		if res.Location != "/profile/complete" {
			t.Errorf("login with given_name cleared: %q", res.Location)
		}
	})
}

// TestLoginNotice: a page that ended the sessions (a password change) sends the login form a
// notice it shows; an unknown notice shows nothing.
func TestLoginNotice(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.60")
		mustContain(t, b.get("/login?notice=password_changed"), "Your password was changed. Log in again.")
		if res := b.get("/login?notice=nonsense"); res.Status != http.StatusOK || strings.Contains(res.Body, `role="alert"`) {
			t.Errorf("unknown notice: %d\n%s", res.Status, res.Body)
		}
	})
}
