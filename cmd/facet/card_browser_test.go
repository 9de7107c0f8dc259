package main

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestCardBrowser: in headless Chromium at 1280 and 390 px, the Public Data window, the
// Business Card block, its QR code window and the card page pass the console audit. With
// FACET_SCREENSHOT_DIR set it writes each there.
func TestCardBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	if err := f.app.store.SetFeature(t.Context(), "business-card", true, time.Now()); err != nil {
		t.Fatal(err)
	}
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
			b.Open("/register")
			b.Fill("#name", "Alex Timofeeva")
			b.Fill("#email", "card"+suffix+"@example.com")
			b.Fill("#password", profiletest.Password)
			b.Fill("#confirm", profiletest.Password)
			b.Submit(`form[action="/register"] button[type=submit]`)
			b.WantPath("/profile")
			u, err := f.app.store.GetUserByEmail(t.Context(), "card"+suffix+"@example.com")
			if err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"given_name", "family_name", "email"} {
				if err := f.app.store.SetFieldPrivacy(t.Context(), u.ID, field, "public", time.Now()); err != nil {
					t.Fatal(err)
				}
			}

			// The Public Data window over the profile page.
			b.Open("/profile")
			b.Step("open Public Data", chromedp.Click(chromedp.CSS(`#privacy a[href="/profile/public"]`), chromedp.NodeVisible))
			b.Step("the window opens", chromedp.WaitVisible(chromedp.CSS(`dialog#edit-dialog[open] a[href="/profile/public/vcard"]`)))
			b.WantText("dialog#edit-dialog", "Alex")
			check("public-profile")

			// The Business Card block: switch the card on.
			b.Open("/profile/apps")
			b.Open("/profile")
			b.Submit(`#business-card form[action="/profile/card"] button[name=active]`)
			b.WantPath("/profile")
			b.WantText("#business-card", "anyone with its link")
			b.Step("scroll to the block", chromedp.ScrollIntoView(chromedp.CSS(`#business-card`)))
			check("business-card-block")
			b.Step("open the QR code", chromedp.Click(chromedp.CSS(`#business-card a[href="/profile/card/qr"]`), chromedp.NodeVisible))
			b.Step("the QR window opens", chromedp.WaitVisible(chromedp.CSS(`dialog#edit-dialog[open] img[src$="/qr.svg"]`)))
			check("business-card-qr")

			// The card itself, as a visitor sees it.
			url := profiletest.Eval[string](b, "card link", `document.getElementById("card-url").textContent`)
			b.Open(url[len(f.issuer):])
			b.WantText("h1", "Alex Timofeeva")
			check("business-card-page")
		})
	}
}
