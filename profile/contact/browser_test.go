package contact

import (
	"bytes"
	"crypto/rand"
	"image/png"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// screenshotEnv names a file the profile page's screenshot is also written to, for a person
// who wants to look at it (the copy in the test's temp dir is removed with the dir).
const screenshotEnv = "FACET_BROWSER_SCREENSHOT"

// TestBrowserProfile drives Debian's Chromium through the personal account: register, edit
// the main information, verify a new email address with the code the in-process SMTP server
// received, change the password, log in again, and screenshot the profile page.
func TestBrowserProfile(t *testing.T) {
	profiletest.RequireChromium(t)
	start := time.Now()

	// The real account core and contacts on SQLite, with real SMTP delivery into an in-process server,
	// behind the static files and cross-origin protection, as cmd serves it.
	store := sqltest.Backend{Name: sqlstore.DialectSQLite}.Open(t)
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	secret := make([]byte, 32)
	rand.Read(secret)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	box := startMailbox(t)
	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	mailer, err := notify.NewMailer(notify.MailConfig{Host: host, Port: p, TLS: notify.TLSNone, From: "Facet <no-reply@facet.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	events := activity.NewRecorder(store, logger, nil)
	core, err := profile.New(profile.Config{Issuer: base, Secret: secret}, profile.Deps{Store: store, Templates: tpl, Logger: logger, Mail: mailer, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := New(Config{Issuer: base, Secret: secret}, Deps{Kit: core, Store: store, Events: events, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	signIn, err := signin.New(signin.Deps{Kit: core, Store: store, Events: events, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	r.PathPrefix(templates.StaticPrefix).Handler(templates.StaticHandler()).Methods(http.MethodGet, http.MethodHead)
	pages, api := core.Routes(r)
	signIn.Routes(pages, api)
	contacts.Routes(pages, api)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.NewCrossOriginProtection().Handler(r)}}
	srv.Start()
	t.Cleanup(srv.Close)

	b := profiletest.StartChrome(t, base, 1280, 60*time.Second)
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))
	const (
		email     = "alex@example.com"
		newEmail  = "alex.t@example.org"
		password  = "lantern-orbit-47"
		password2 = "copper-meadow-92"
	)

	// Register; the new account is signed in.
	b.Open("/register")
	b.Fill("#name", "Alex Timofeeva")
	b.Fill("#email", email)
	b.Fill("#password", password)
	b.Fill("#confirm", password)
	b.Submit(`form[action="/register"] button[type=submit]`)
	b.WantPath("/profile")
	b.Open("/profile")
	b.WantPath("/profile")
	b.WantText(".account-name", "Alex Timofeeva")

	// Main information: Edit, change nickname and birthdate, Save.
	// With JavaScript, Edit opens the block's form in a dialog over the profile page.
	b.Step("open the edit dialog", chromedp.Click(chromedp.CSS(`article#main a.block-action`), chromedp.NodeVisible))
	b.Fill("#edit-dialog #f-nickname", "Sasha")
	b.Set("#edit-dialog #f-birthdate", "1990-04-01")
	b.Submit(`#edit-dialog form button[type=submit]`)
	b.WantPath("/profile")
	b.WantText("p.notice", "Saved")
	b.WantText("article#main", "Sasha")
	b.WantText("article#main", "1990")

	// Email: a new address, Get code, the code from the received mail, Confirm.
	b.Submit(`#contacts a[href="/profile/email"]`)
	b.WantPath("/profile/email")
	b.Fill("#email", newEmail)
	b.Submit(`section[aria-labelledby="email-new"] form[action="/profile/email"] button[type=submit]`)
	code := waitCode(t, box, newEmail)
	b.Fill("#code", code)
	b.Submit(`form[action="/profile/email/verify"] button[type=submit]`)
	b.WantText("p.notice", "Your email address is confirmed.")
	b.WantText("#email-current + p", newEmail)
	b.WantText("#email-current + p .badge.verified", "Verified")
	b.Open("/profile")
	b.WantText("#contacts .panel .field-value", newEmail)
	b.WantText("#contacts .badge.verified", "Verified")

	// Password: change it; every session ends and the login page says why.
	b.Submit(`#security a[href="/profile/password"]`)
	b.WantPath("/profile/password")
	b.Fill("#current_password", password)
	b.Fill("#new_password", password2)
	b.Fill("#confirm", password2)
	b.Submit(`form[action="/profile/password"] button[type=submit]`)
	b.WantPath("/login")
	b.WantText("p.notice", "Your password was changed")
	b.Open("/profile")
	b.WantPath("/login") // the old session is gone

	// Log in with the verified address and the new password; back to the profile.
	b.Fill("#email", newEmail)
	b.Fill("#password", password2)
	b.Submit(`form[action="/login"] button[type=submit]`)
	b.WantPath("/profile")
	b.WantText(".account-email", newEmail)

	// A full-page screenshot of the profile page.
	shot, err := chromedp.Run(b.Context(), chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(shot))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	if sz := img.Bounds().Size(); sz.X < 800 || sz.Y < 600 {
		t.Fatalf("screenshot is %v, want a full page", sz)
	}
	file := filepath.Join(t.TempDir(), "profile.png")
	if err := os.WriteFile(file, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if extra := os.Getenv(screenshotEnv); extra != "" {
		if err := os.WriteFile(extra, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %v, %d bytes: %s", img.Bounds().Size(), len(shot), file)

	for _, s := range b.Odd() {
		t.Errorf("the browser saw: %s", s)
	}
	t.Logf("browser flow took %v", time.Since(start).Round(time.Millisecond))
}

// waitCode waits (up to 10 s) for a mail to addr and returns the code in it.
func waitCode(t *testing.T, box *mailbox, addr string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); box.count(addr) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return box.code(addr)
}
