package main

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile/invite"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestInvitationsBrowser: in headless Chromium at 1280 and 390 px, a person opens an
// invitation link signed out (the invitation page), registers with the invited address
// prefilled, and after verifying it the link lets them in; the Requests tab lists another
// pending invitation with Accept and Decline, and a closed app without an invitation ends on
// the invitation-only page. Every page passes the console audit; with FACET_SCREENSHOT_DIR
// set they are written there.
func TestInvitationsBrowser(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	ctx := t.Context()
	svc, err := invite.NewService(invite.Config{Issuer: f.issuer, Secret: testSecret}, invite.Deps{Store: f.app.store})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, spec := range []registration.Spec{
		{Name: "Team Notes", Description: "Notes your team writes together.", HomeURI: f.issuer + "/profile/apps"},
		{Name: "Calendar", Description: "Plan your week with the people you work with."},
		{Name: "Payroll", Description: "Salaries and payslips."},
	} {
		spec.RedirectURIs = []string{rpRedirect}
		spec.Closed = true
		c, _, err := registration.Create(ctx, f.app.store, spec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
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
				b.Screenshot(dir, name+suffix)
			}
			email := "invited" + suffix + "@example.com"
			notes, err := svc.Invite(ctx, ids[0], email, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Invite(ctx, ids[1], email, 0); err != nil {
				t.Fatal(err)
			}
			link, err := url.Parse(notes.URL)
			if err != nil {
				t.Fatal(err)
			}

			b.Open(link.Path)
			b.WantText("main", "Team Notes")
			check("invitation")
			b.Submit(`main a[href^="/register?"]`)
			b.WantPath("/register")
			if got := profiletest.Eval[string](b, "email", `document.querySelector("#email").value`); got != email {
				t.Fatalf("the registration form proposes %q, want %q", got, email)
			}
			b.Fill("#name", "Alex Timofeeva")
			b.Fill("#password", profiletest.Password)
			b.Fill("#confirm", profiletest.Password)
			b.Submit(`form[action="/register"] button[type=submit]`)
			b.WantPath(link.Path)
			b.WantText("main", "not verified")
			check("invitation-unverified")

			verifyEmail(t, f, email)
			b.Open(link.Path)
			b.WantPath("/profile/apps")

			b.Open("/profile/requests")
			b.WantText("main", "Calendar")
			b.WantText(".account-sidebar a[aria-current=page]", "Requests")
			b.WantText(".account-sidebar a[aria-current=page] .tab-count", "1")
			check("requests")

			q := url.Values{"client_id": {ids[2]}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"state-of-the-request"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
			// The page answers 403, which Open refuses: navigate without its status check.
			b.Step("open the closed app", chromedp.Navigate(b.Base+oauth.PathAuth+"?"+q.Encode()))
			b.WantText("main", "invitation-only")
			check("closed")
		})
	}
}
