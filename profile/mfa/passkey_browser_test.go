package mfa

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// passkeyBrowser serves an env at http://localhost:PORT (WebAuthn needs a domain for its RP
// ID, and localhost is a secure origin over http) and opens Chromium on it with a virtual
// authenticator: CTAP2, internal (a platform authenticator), holding discoverable
// credentials, with user verification that succeeds.
func passkeyBrowser(t *testing.T, width int) (*pEnv, *profiletest.Chrome, webauthn.AuthenticatorID) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	e := newPasskeyEnvAt(t, sqltest.Backend{Name: sqlstore.DialectSQLite}, base)
	mux := http.NewServeMux()
	mux.Handle(templates.StaticPrefix, templates.StaticHandler())
	mux.Handle("/", e.Handler)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	c := profiletest.StartChrome(t, base, width, 3*time.Minute)
	var id webauthn.AuthenticatorID
	c.Step("virtual authenticator", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		id = res.AuthenticatorID
		return chromedp.Void{}, err
	})
	return e, c, id
}

// credentials lists what the virtual authenticator holds.
func credentials(c *profiletest.Chrome, id webauthn.AuthenticatorID) []*webauthn.Credential {
	var out []*webauthn.Credential
	c.Step("authenticator credentials", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		out = res.Credentials
		return chromedp.Void{}, err
	})
	return out
}

// TestBrowserPasskeys drives Debian's Chromium with the DevTools virtual authenticator at
// 1280 and 390 px: sign in with the password, open the passkeys page from the Security block,
// add a passkey (navigator.credentials.create through passkey.js), see it listed there and on
// the profile page, log out, sign in with it from the login page's button (discoverable,
// user verified), log out, sign in with the password and complete the second step with it,
// and remove it behind its confirmation. No page shows an error or a failed
// request.
func TestBrowserPasskeys(t *testing.T) {
	profiletest.RequireChromium(t)
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 390} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			e, c, authID := passkeyBrowser(t, width)
			w := strconv.Itoa(width)
			_, u := e.SignUp("erin@example.com", "Erin Example", "192.0.2.30")

			c.Open("/login?return_to=/profile")
			c.Fill("#email", "erin@example.com")
			c.Fill("#password", profiletest.Password)
			c.Submit(`form[action="/login"] button[type=submit]`)
			c.WantPath("/profile")
			c.WantText("#security", "No passkeys yet")
			c.Submit(`#security form[action="/profile/security/passkeys"] button`)
			c.WantPath("/profile/security/passkeys")

			c.Fill("#passkey-name", "Work laptop")
			c.Step("add a passkey", chromedp.Click(chromedp.CSS(`#passkey-register button[type=submit]`), chromedp.NodeVisible))
			// The first second factor brings the recovery codes, shown once in the page.
			c.Step("recovery codes", chromedp.WaitVisible(chromedp.CSS(`.passkey-codes`)))
			if n := profiletest.Eval[int](c, "codes", `document.querySelectorAll(".passkey-codes .recovery-codes li").length`); n != 10 {
				t.Fatalf("%d recovery codes after the first passkey", n)
			}
			if n, err := e.Store.CountRecoveryCodes(t.Context(), u.ID); err != nil || n != 10 {
				t.Fatalf("stored recovery codes: %d, %v", n, err)
			}
			c.Screenshot(dir, "passkey-codes-"+w)
			c.Submit(`.passkey-codes a[role=button]`)
			c.Step("added", chromedp.WaitVisible(chromedp.CSS(`.passkey-list`)))
			c.WantText("[role=status]", "The passkey was added")
			c.WantText(".passkey-list", "Work laptop")
			c.WantText(".passkey-list", "not used yet")
			if creds := credentials(c, authID); len(creds) != 1 || !creds[0].IsResidentCredential || string(creds[0].UserHandle) != u.ID {
				t.Fatalf("the authenticator holds %+v, want one discoverable credential for %s", creds, u.ID)
			}
			c.Screenshot(dir, "passkeys-"+w)

			c.Open("/profile")
			c.WantText("#security", "Work laptop")
			c.Step("scroll to Security", chromedp.ScrollIntoView(chromedp.CSS("#security")))
			c.Screenshot(dir, "profile-security-passkeys-"+w)

			// Log out, then sign in with the passkey alone.
			profiletest.Eval[bool](c, "log out", `(document.querySelector('form[action="/logout"]').requestSubmit(), true)`)
			c.Step("logged out", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
			c.Open("/login?return_to=/profile/security/passkeys")
			c.Step("passkey button", chromedp.WaitVisible(chromedp.CSS(`[data-passkey-login]`)))
			c.Screenshot(dir, "login-passkey-"+w)
			c.Step("sign in with a passkey", chromedp.Click(chromedp.CSS(`[data-passkey-login]`), chromedp.NodeVisible))
			c.Step("signed in", chromedp.WaitVisible(chromedp.CSS(`.passkey-list`)))
			c.WantPath("/profile/security/passkeys")
			c.WantText(".passkey-list", "last used")
			views, err := e.h.Passkeys(t.Context(), u.ID)
			if err != nil || len(views) != 1 || views[0].LastUsedAt == nil {
				t.Fatalf("after the passkey sign-in: %+v, %v", views, err)
			}
			if !hasEvent(e.Events(u.ID), "login", "method", "passkey") {
				t.Error("no login event with the passkey")
			}

			// The password now leads to the second step, which the passkey completes.
			profiletest.Eval[bool](c, "log out again", `(document.querySelector('form[action="/logout"]').requestSubmit(), true)`)
			c.Step("logged out again", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
			c.Open("/login?return_to=/profile/security/passkeys")
			c.Fill("#email", "erin@example.com")
			c.Fill("#password", profiletest.Password)
			c.Submit(`form[action="/login"] button[type=submit]`)
			c.WantPath(PathLogin)
			c.Step("second step's passkey button", chromedp.WaitVisible(chromedp.CSS(`[data-passkey-login]`)))
			c.Screenshot(dir, "login-mfa-passkey-"+w)
			c.Step("use the passkey", chromedp.Click(chromedp.CSS(`[data-passkey-login]`), chromedp.NodeVisible))
			c.Step("second factor done", chromedp.WaitVisible(chromedp.CSS(`.passkey-list`)))
			c.WantPath("/profile/security/passkeys")
			if !hasEvent(e.Events(u.ID), "login", "method", "password_hwk") {
				t.Error("no login event of password and passkey")
			}

			// Remove it behind the confirmation dialog.
			c.Step("remove", chromedp.Click(chromedp.CSS(`.passkey-list a[data-confirm]`), chromedp.NodeVisible))
			c.Submit(`dialog[open] button.danger`)
			c.WantText("[role=status]", "The passkey was removed")
			c.WantText(".passkeys", "No passkeys yet")
			if views, _ := e.h.Passkeys(t.Context(), u.ID); len(views) != 0 {
				t.Errorf("passkeys after removal: %+v", views)
			}
			if odd := c.Odd(); len(odd) > 0 {
				t.Errorf("console: %v", odd)
			}
		})
	}
}
