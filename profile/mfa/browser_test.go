package mfa

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// screenshotDirEnv names a folder the recovery pages' screenshots are written to (the docs'
// copies come from it); without it they go to the test's temporary folder.
const screenshotDirEnv = "FACET_SCREENSHOT_DIR"

// TestBrowserRecovery drives Debian's Chromium through password recovery at 1280 and 390 px,
// without JavaScript doing any of the work: the login page's link, the forgot form, the code
// from the in-process SMTP server on the reset form, and back to the login page with the new
// password working.
func TestBrowserRecovery(t *testing.T) {
	profiletest.RequireChromium(t)
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 390} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			e := newRecoveryEnv(t, sqltest.Backend{Name: sqlstore.DialectSQLite})
			e.verifiedUser("dora@example.com")
			c := e.chrome(width)
			c.Open("/login")
			c.Submit(`a[href="/login/forgot"]`)
			c.WantPath("/login/forgot")
			c.Screenshot(dir, "forgot-"+strconv.Itoa(width))
			c.Fill("#login", "dora@example.com")
			c.Submit(`form[action="/login/forgot"] button[type=submit]`)
			c.WantPath("/login/forgot")
			c.WantText("[role=status]", "If the account exists")
			c.Screenshot(dir, "reset-"+strconv.Itoa(width))
			c.Fill("#code", e.code("dora@example.com"))
			c.Fill("#password", newPassword)
			c.Fill("#confirm", newPassword)
			c.Submit(`form[action="/login/reset"] button[type=submit]`)
			c.WantPath("/login")
			c.WantText("[role=status]", "Your password was changed")
			c.Fill("#email", "dora@example.com")
			c.Fill("#password", newPassword)
			c.Submit(`form[action="/login"] button[type=submit]`)
			c.WantPath("/profile")
			if odd := c.Odd(); len(odd) > 0 {
				t.Errorf("console: %v", odd)
			}
		})
	}
}

// TestBrowserTOTP drives Chromium through the authenticator app at 1280 and 390 px: the
// Security block's Set up (straight to the QR code page), the first code, the recovery codes shown once,
// the Security block with the app on, and a step-up on the second login step.
func TestBrowserTOTP(t *testing.T) {
	profiletest.RequireChromium(t)
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 390} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			e := newRecoveryEnv(t, sqltest.Backend{Name: sqlstore.DialectSQLite})
			e.verifiedUser("tess@example.com")
			c := e.chrome(width)
			c.Open("/login")
			c.Fill("#email", "tess@example.com")
			c.Fill("#password", profiletest.Password)
			c.Submit(`form[action="/login"] button[type=submit]`)
			c.WantPath("/profile")
			c.Submit(`form[action="/profile/security/totp"] button[type=submit]`)
			c.WantPath(PathTOTP)
			c.WantText("h1", "Authenticator app")
			if !profiletest.Eval[bool](c, "QR code", `(() => { const i = document.querySelector(".totp-qr img"); return i.complete && i.naturalWidth > 100 })()`) {
				t.Fatal("the QR code did not load")
			}
			c.Screenshot(dir, "mfa-totp-"+strconv.Itoa(width))
			secret := profiletest.Eval[string](c, "secret", `document.querySelector(".totp-key").textContent`)
			c.Fill("#code", codeAt(t, secret, e.Clock.Now()))
			c.Submit(`form[action="/profile/security/totp/verify"] button[type=submit]`)
			c.WantText("h1", "Save your recovery codes")
			if n := profiletest.Eval[int](c, "codes", `document.querySelectorAll(".recovery-codes li").length`); n != 10 {
				t.Fatalf("%d recovery codes on the page", n)
			}
			c.Screenshot(dir, "mfa-codes-"+strconv.Itoa(width))
			c.Submit(`a[role=button]`)
			c.WantPath("/profile")
			c.WantText("#security", "Authenticator app")
			c.WantText("#security", "10 recovery codes left")
			c.Screenshot(dir, "mfa-security-"+strconv.Itoa(width))

			e.Clock.Add(time.Hour)
			c.Open("/login?prompt=login&return_to=%2Fprofile")
			c.WantPath(PathLogin)
			c.Screenshot(dir, "mfa-login-"+strconv.Itoa(width))
			c.Fill("#code", codeAt(t, secret, e.Clock.Now()))
			c.Submit(`form[action="/login/mfa"] button[type=submit]`)
			c.WantPath("/profile")
			if odd := c.Odd(); len(odd) > 0 {
				t.Errorf("console: %v", odd)
			}
		})
	}
}

// chrome serves the env with the static files, as cmd does, to a new Chromium tab width px
// wide.
func (e *rEnv) chrome(width int) *profiletest.Chrome {
	t := e.T.(*testing.T)
	mux := http.NewServeMux()
	mux.Handle(templates.StaticPrefix, templates.StaticHandler())
	mux.Handle("/", e.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return profiletest.StartChrome(t, srv.URL, width, 3*time.Minute)
}
