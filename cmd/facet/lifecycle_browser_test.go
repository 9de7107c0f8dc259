package main

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestAccountDeletionBrowser: in headless Chromium at 1280 and 390 px, Other actions offers
// Download Data, the policy and Delete account; Delete account opens its dialog, which asks
// for the password; a wrong one shows the page again with the message, the right one logs
// out; signing in again shows the restore page, and Restore account brings the profile back.
// The page that refuses an app's sign-in is audited too. With FACET_SCREENSHOT_DIR set it
// writes the dialog, the pages and the restore page there.
func TestAccountDeletionBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	dir := os.Getenv(profiletest.ScreenshotDirEnv)
	for _, width := range []int{1280, 390} {
		t.Run(map[int]string{1280: "desktop", 390: "phone"}[width], func(t *testing.T) {
			b := profiletest.StartChrome(t, f.issuer, width, 2*time.Minute)
			suffix := map[int]string{1280: "-1280", 390: "-390"}[width]
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
			email := "leaving" + suffix + "@example.com"
			b.Open("/register")
			b.Fill("#name", "Alex Timofeeva")
			b.Fill("#email", email)
			b.Fill("#password", profiletest.Password)
			b.Fill("#confirm", profiletest.Password)
			b.Submit(`form[action="/register"] button[type=submit]`)
			b.WantPath("/profile")

			b.Step("open Other actions", chromedp.Click(chromedp.CSS(`#other-actions summary`), chromedp.NodeVisible))
			b.WantText("#other-actions", "Download Data")
			b.WantText("#other-actions", "Personal Data Processing Policy")
			b.WantText("#other-actions", "Log out from all devices")
			b.Step("choose Delete account", chromedp.Click(chromedp.CSS(`#other-actions a[href="/profile/delete"]`), chromedp.NodeVisible))
			b.Step("the dialog opens", chromedp.WaitVisible(chromedp.CSS(`dialog#delete-account-dialog[open] input[type=password]`)))
			b.Fill(`#delete-account-dialog-password`, profiletest.Password)
			check("delete-dialog")

			// Without JavaScript: the page, and a wrong password on it.
			b.Open("/profile/delete")
			b.Fill("#confirm-password", "not my password")
			// A refused password answers 403 with the page again (Submit wants a 200).
			b.Step("delete with a wrong password", chromedp.Click(chromedp.CSS(`form[action="/profile/delete"] button[type=submit]`), chromedp.NodeVisible))
			b.Step("the page says so", chromedp.WaitVisible(chromedp.CSS(`#confirm-password-error`)))
			b.WantText("main", "Nothing was deleted")
			if odd := b.Odd(); len(odd) == 0 {
				t.Error("a wrong password was not answered 403")
			}
			check("delete-page-wrong")

			b.Fill("#confirm-password", profiletest.Password)
			b.Submit(`form[action="/profile/delete"] button[type=submit]`)
			b.WantPath("/login")
			b.WantText("main", "scheduled for deletion")

			b.Open("/login/pending-deletion")
			check("pending-deletion")

			b.Open("/login")
			b.Fill("#email", email)
			b.Fill("#password", profiletest.Password)
			b.Submit(`form[action="/login"] button[type=submit]`)
			b.WantPath(profile.RestorePath)
			b.WantText("main", "Restore account")
			check("restore")
			b.Submit(`form[action="/profile/restore"] button[type=submit]`)
			b.WantPath("/profile")
			b.WantText(".notice", "restored")
		})
	}
}
