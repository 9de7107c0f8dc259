package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/oauth/federation"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestFederationBrowser: in headless Chromium at 1280 and 390 px, the login page shows two
// provider buttons; signing in with the OIDC one creates an account and asks only for the
// mandatory field the provider did not give, prefilled from the provider's full name; linking the GitHub-shaped one from the profile
// fills the Identifiers block, whose rows have the level button the fields have. Each page passes the console audit; with FACET_SCREENSHOT_DIR
// set the pages are written there.
func TestFederationBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	gh, acme := newTestProvider(t, false), newTestProvider(t, true)
	ghMethod, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "github",
		AuthURL: gh.srv.URL + "/authorize", TokenURL: gh.srv.URL + "/token", UserinfoURL: gh.srv.URL + "/user",
		ClientID: gh.clientID, Secret: gh.secret, Public: true, LoginPage: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acmeMethod, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Name: "Acme ID", Type: storage.MethodOIDC,
		Issuer: acme.srv.URL, ClientID: acme.clientID, Secret: acme.secret, Public: true, LoginPage: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv(profiletest.ScreenshotDirEnv)
	for _, width := range []int{1280, 390} {
		t.Run(map[int]string{1280: "desktop", 390: "phone"}[width], func(t *testing.T) {
			suffix := map[int]string{1280: "-1280", 390: "-390"}[width]
			b := profiletest.StartChrome(t, f.issuer, width, 2*time.Minute)
			check := func(name string) {
				t.Helper()
				for _, p := range profiletest.Eval[[]string](b, "audit "+name, auditJS) {
					t.Errorf("%s at %d px: %s", name, width, p)
				}
				for _, s := range b.Odd() {
					t.Errorf("%s at %d px: the browser saw %s", name, width, s)
				}
				b.Screenshot(dir, name+suffix)
			}
			acme.set(map[string]any{"sub": "alex" + suffix, "email": "alex" + suffix + "@acme.example", "email_verified": true, "given_name": "Alex", "name": "Alex Timofeeva"})
			gh.set(map[string]any{"id": 7000 + width, "name": "Alex Timofeeva", "email": "alex" + suffix + "@users.github.example",
				"avatar_url": gh.srv.URL + "/avatar.png"})

			b.Open("/login")
			b.WantText("main", "Sign in with GitHub")
			b.WantText("main", "Sign in with Acme ID")
			check("login-methods")

			b.Load("sign in with Acme ID", chromedp.Click(chromedp.CSS(`a[href^="/login/methods/`+acmeMethod.ID+`"]`), chromedp.NodeVisible))
			b.WantPath("/profile/complete")
			// The provider gave no family name: the form asks for it, prefilled from the
			// provider's full name.
			if got := profiletest.Eval[string](b, "family name", `document.querySelector("#f-family_name").value`); got != "Timofeeva" {
				t.Errorf("family name on the completion form = %q, want the provider's Timofeeva", got)
			}
			check("complete-after-upstream")
			b.Submit(`form[action="/profile/complete"] button[type=submit]`)
			b.WantPath("/profile")

			b.Open("/profile/identifiers/add")
			b.WantText("main", "GitHub")
			check("identifiers-add")
			b.Load("link GitHub", chromedp.Click(chromedp.CSS(`a[href="/profile/identifiers/add?method=`+ghMethod.ID+`"]`), chromedp.NodeVisible))
			b.WantPath("/profile")
			b.WantText("#identifiers", "Alex Timofeeva")
			b.WantText("#identifiers", "Acme ID")
			b.WantText("#identifiers li:last-child details.privacy summary", "Only you")
			check("identifiers")

			// Each row's level button opens the three choices; one applies at once and the
			// page comes back to the row saying so.
			b.Open("/profile#identifiers")
			b.Step("open the GitHub identifier's levels", chromedp.Click(chromedp.CSS(`#identifiers li:last-child details.privacy summary`), chromedp.NodeVisible))
			b.WantText("#identifiers li:last-child details.privacy[open] fieldset", "On request")
			check("identifiers-levels")
			b.Load("choose Everyone", chromedp.Click(chromedp.CSS(`#identifiers li:last-child details.privacy[open] button[value="public"]`), chromedp.NodeVisible))
			b.WantPath("/profile")
			b.WantText("[role=status]", "Saved. Who can see this identifier: Everyone.")
			b.WantText("#identifiers li:last-child details.privacy summary", "Everyone")
		})
	}
}

// TestFederationThrottleBrowser: the page an upstream sign-up over the per-IP registration
// limit ends on, at 1280 and 390 px: it says what happened, when to try again and what to do
// meanwhile, and passes the console audit.
func TestFederationThrottleBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	// The window of the counters starts a second ago, so the test is not split by its end.
	c := newClock()
	now := time.Now()
	c.advance(now.Truncate(15 * time.Minute).Add(15*time.Minute + time.Second).Sub(now))
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), c)
	gh := newTestProvider(t, false)
	m, err := federation.Create(t.Context(), f.app.store, testSecret, federation.Spec{Preset: "github",
		AuthURL: gh.srv.URL + "/authorize", TokenURL: gh.srv.URL + "/token", UserinfoURL: gh.srv.URL + "/user",
		ClientID: gh.clientID, Secret: gh.secret, LoginPage: true}, c.now())
	if err != nil {
		t.Fatal(err)
	}
	counter := signin.DefaultLoginLimits().RegisterCounter("127.0.0.1")
	for range counter.Limit {
		if _, err := f.app.store.Hit(t.Context(), counter.Key, c.now().Truncate(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	dir := os.Getenv(profiletest.ScreenshotDirEnv)
	for i, width := range []int{1280, 390} {
		t.Run(map[int]string{1280: "desktop", 390: "phone"}[width], func(t *testing.T) {
			gh.set(map[string]any{"id": 9100 + i, "name": "New Person", "email": fmt.Sprintf("new%d@example.com", i)})
			b := profiletest.StartChrome(t, f.issuer, width, 2*time.Minute)
			b.Open("/login")
			ctx, cancel := context.WithTimeout(b.Context(), 15*time.Second)
			resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href^="/login/methods/`+m.ID+`"]`), chromedp.NodeVisible))
			cancel()
			if err != nil || resp.Status != http.StatusTooManyRequests {
				t.Fatalf("sign-up over the limit: %v, %+v", err, resp)
			}
			b.WantText("main", "Too many new accounts from here")
			b.WantText("main", "Try again in 15 minutes")
			for _, p := range profiletest.Eval[[]string](b, "audit throttled", auditJS) {
				t.Errorf("throttled page at %d px: %s", width, p)
			}
			for _, s := range b.Odd() {
				// The 429 itself is what this page is; anything else is not.
				if !strings.Contains(s, "429") || !strings.Contains(s, "/login/methods/"+m.ID+"/callback") {
					t.Errorf("throttled page at %d px: the browser saw %s", width, s)
				}
			}
			b.Screenshot(dir, fmt.Sprintf("signup-throttled-%d", width))
		})
	}
	if list, err := f.app.store.ListUsers(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("accounts after throttled sign-ups: %v, %v", list, err)
	}
}
