package main

import (
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestScopesTabBrowser: the Scopes tab of a person with two apps in headless Chromium at
// 1280 and 390 px: the page passes the console audit, the action menu opens End Sessions'
// confirmation as a dialog, and confirming it ends the app's sessions and says so. With
// FACET_SCREENSHOT_DIR set it writes the tab and the dialog there.
func TestScopesTabBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	var clients []storage.Client
	for _, spec := range []registration.Spec{
		{Name: "Notes", Description: "Write and share notes.", HomeURI: "https://notes.example/"},
		{Name: "Calendar", Description: "Plan your week with the people you work with."},
	} {
		spec.RedirectURIs = []string{rpRedirect}
		spec.GrantTypes = []string{"authorization_code", "refresh_token"}
		spec.Scopes = []string{"openid", "profile", "email", "offline_access"}
		c, _, err := registration.Create(t.Context(), f.app.store, spec)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
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
				checkFocus(t, b, name, width)
				for _, s := range b.Odd() {
					t.Errorf("%s at %d px: the browser saw %s", name, width, s)
				}
				b.Screenshot(dir, name+suffix)
			}
			email := "scopes" + suffix + "@example.com"
			b.Open("/register")
			b.Fill("#name", "Alex Timofeeva")
			b.Fill("#email", email)
			b.Fill("#password", profiletest.Password)
			b.Fill("#confirm", profiletest.Password)
			b.Submit(`form[action="/register"] button[type=submit]`)
			b.WantPath("/profile")

			// Two apps hold a grant; one has received data and holds tokens.
			ctx := t.Context()
			u, err := f.app.store.GetUserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			for i, c := range clients {
				g := storage.Grant{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid", "profile", "email"}, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now}
				if i == 0 {
					g.Claims = []string{"birthdate"}
				}
				if err := f.app.store.PutGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.app.store.RecordDisclosures(ctx, []storage.Disclosure{{UserID: u.ID, ClientID: clients[0].ID,
				Claims: []string{"email", "name"}, FirstAt: now.Add(-2 * time.Hour), LastAt: now.Add(-time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			if err := f.app.store.CreateToken(ctx, storage.Token{Kind: storage.KindAccessToken, Signature: "walk" + suffix, RequestID: "walk" + suffix,
				ClientID: clients[0].ID, Subject: u.ID, Active: true, RequestedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
				t.Fatal(err)
			}

			b.Open("/profile/apps")
			b.WantText("main", "Notes")
			b.WantText("main", "Calendar")
			end := "/profile/apps/" + url.PathEscape(clients[0].ID) + "/end-sessions"
			notes := `article.app-block:has(a[href="` + end + `"])`
			b.Step("open the disclosures", chromedp.Click(chromedp.CSS(notes+` .app-disclosures summary`), chromedp.NodeVisible))
			check("scopes")

			b.Step("open the action menu", chromedp.Click(chromedp.CSS(notes+` .app-menu summary`), chromedp.NodeVisible))
			b.Step("choose End sessions", chromedp.Click(chromedp.CSS(`a[href="`+end+`"]`), chromedp.NodeVisible))
			b.Step("the dialog opens", chromedp.WaitVisible(chromedp.CSS(`dialog.confirm-dialog[open] form[action="`+end+`"]`)))
			check("scopes-end-dialog")
			b.Submit(`dialog[open] form[action="` + end + `"] button[type=submit]`)
			b.WantPath("/profile/apps")
			b.WantText(".notice", "sessions ended")
			if n := f.countTokensWhere(t, "client_id = '"+clients[0].ID+"' AND kind = 'access_token'"); n != 0 {
				t.Errorf("after End Sessions in the browser %d access tokens of the app remain", n)
			}

			// Without JavaScript the same action is a page of its own.
			b.Open("/profile/apps/" + url.PathEscape(clients[1].ID) + "/revoke")
			check("confirm-app-revoke")
		})
	}
}
