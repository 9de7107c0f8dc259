package contact

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// chromiumPath is where Debian's chromium package installs the browser; .ci/run installs it
// when it is missing.
const chromiumPath = "/usr/bin/chromium"

// screenshotEnv names a file the profile page's screenshot is also written to, for a person
// who wants to look at it (the copy in the test's temp dir is removed with the dir).
const screenshotEnv = "FACET_BROWSER_SCREENSHOT"

// requireChromium returns the browser's path. Without a browser the test skips on a
// developer's machine, but fails in CI (CI set), so CI cannot skip it silently.
func requireChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but Chromium is not installed at %s (%v); .ci/run installs it with apt-get install chromium", chromiumPath, err)
		}
		t.Skipf("Chromium is not installed at %s; install it (apt-get install -y chromium) to run the browser test", chromiumPath)
	}
	return chromiumPath
}

// TestBrowserProfile drives Debian's Chromium through the personal account: register, edit
// the main information, verify a new email address with the code the in-process SMTP server
// received, change the password, log in again, and screenshot the profile page.
func TestBrowserProfile(t *testing.T) {
	exec := requireChromium(t)
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

	// The browser. The deferred cancels stop it (and wait for it) before t.TempDir's
	// cleanup removes its profile directory.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exec),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	// Everything odd the pages do: a failed response, a script error, a console error.
	var (
		oddMu sync.Mutex
		odd   []string
	)
	if err := chromedp.Listen(bctx, func(ev any) {
		var s string
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			// Facet has no favicon; Chromium asks for /favicon.ico on each page anyway.
			if ev.Response.Status >= 400 && !strings.HasSuffix(ev.Response.URL, "/favicon.ico") {
				s = fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL)
			}
		case *runtime.EventExceptionThrown:
			s = "exception: " + ev.ExceptionDetails.Text
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
				s = "console: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if s != "" {
			oddMu.Lock()
			odd = append(odd, s)
			oddMu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))

	b := &chromeTab{t: t, ctx: bctx, base: base}
	const (
		email     = "alex@example.com"
		newEmail  = "alex.t@example.org"
		password  = "lantern-orbit-47"
		password2 = "copper-meadow-92"
	)

	// Register; the new account is signed in.
	b.open("/register")
	b.fill("#name", "Alex Timofeeva")
	b.fill("#email", email)
	b.fill("#password", password)
	b.fill("#confirm", password)
	b.submit(`form[action="/register"] button[type=submit]`)
	b.wantPath("/profile")
	b.open("/profile")
	b.wantPath("/profile")
	b.wantText(".account-name", "Alex Timofeeva")

	// Main information: Edit, change nickname and birthdate, Save.
	// With JavaScript, Edit opens the block's form in a dialog over the profile page.
	b.step("open the edit dialog", chromedp.Click(chromedp.CSS(`article#main a.block-action`), chromedp.NodeVisible))
	b.fill("#edit-dialog #f-nickname", "Sasha")
	b.set("#edit-dialog #f-birthdate", "1990-04-01")
	b.submit(`#edit-dialog form button[type=submit]`)
	b.wantPath("/profile")
	b.wantText("p.notice", "Saved")
	b.wantText("article#main", "Sasha")
	b.wantText("article#main", "1990")

	// Email: a new address, Get code, the code from the received mail, Confirm.
	b.submit(`#contacts a[href="/profile/email"]`)
	b.wantPath("/profile/email")
	b.fill("#email", newEmail)
	b.submit(`section[aria-labelledby="email-new"] form[action="/profile/email"] button[type=submit]`)
	code := waitCode(t, box, newEmail)
	b.fill("#code", code)
	b.submit(`form[action="/profile/email/verify"] button[type=submit]`)
	b.wantText("p.notice", "Your email address is confirmed.")
	b.wantText("#email-current + p", newEmail)
	b.wantText("#email-current + p .badge.verified", "Verified")
	b.open("/profile")
	b.wantText("#contacts .panel .field-value", newEmail)
	b.wantText("#contacts .badge.verified", "Verified")

	// Password: change it; every session ends and the login page says why.
	b.submit(`#security a[href="/profile/password"]`)
	b.wantPath("/profile/password")
	b.fill("#current_password", password)
	b.fill("#new_password", password2)
	b.fill("#confirm", password2)
	b.submit(`form[action="/profile/password"] button[type=submit]`)
	b.wantPath("/login")
	b.wantText("p.notice", "Your password was changed")
	b.open("/profile")
	b.wantPath("/login") // the old session is gone

	// Log in with the verified address and the new password; back to the profile.
	b.fill("#email", newEmail)
	b.fill("#password", password2)
	b.submit(`form[action="/login"] button[type=submit]`)
	b.wantPath("/profile")
	b.wantText(".account-email", newEmail)

	// A full-page screenshot of the profile page.
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
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

	oddMu.Lock()
	defer oddMu.Unlock()
	for _, s := range odd {
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

// chromeTab is one browser tab on the test server; each step fails the test on error.
type chromeTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// step runs one action with its own 15 s limit, so a wrong selector fails fast with its name.
func (c *chromeTab) step(what string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		c.t.Fatalf("%s: %v (at %s)", what, err, c.location())
	}
}

// load runs the actions, which start a navigation, and waits for the page; the page (after
// the server's redirects) must answer 200.
func (c *chromeTab) load(what string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v (at %s)", what, err, c.location())
	}
	if resp.Status != http.StatusOK {
		c.t.Fatalf("%s: status %d at %s", what, resp.Status, resp.URL)
	}
}

func (c *chromeTab) open(path string) {
	c.t.Helper()
	c.load("open "+path, chromedp.Navigate(c.base+path))
}

// submit clicks the button or link sel and waits for the next page.
func (c *chromeTab) submit(sel string) {
	c.t.Helper()
	c.load("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fill clears the field sel, focuses it and inserts v as typed text (Input.insertText: the
// page gets real input events, in one round trip where SendKeys takes three per key).
func (c *chromeTab) fill(sel, v string) {
	c.t.Helper()
	c.step("fill "+sel, chromedp.Steps(
		chromedp.Clear(chromedp.CSS(sel), chromedp.NodeVisible),
		chromedp.Focus(chromedp.CSS(sel)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
			return chromedp.Void{}, err
		},
	))
}

// set sets the value of sel (a date picker takes keys in the locale's order; the value is
// what the form sends either way).
func (c *chromeTab) set(sel, v string) {
	c.t.Helper()
	c.step("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v, chromedp.NodeVisible))
}

func (c *chromeTab) location() string {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location"
	}
	return loc
}

// wantPath checks the path of the page the tab shows.
func (c *chromeTab) wantPath(path string) {
	c.t.Helper()
	loc := c.location()
	u, err := url.Parse(loc)
	if err != nil || u.Path != path {
		c.t.Fatalf("the tab shows %s, want path %s", loc, path)
	}
}

// wantText checks that the first element matching sel contains text.
func (c *chromeTab) wantText(sel, text string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			c.t.Fatalf("no visible %s at %s", sel, c.location())
		}
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	if !strings.Contains(got, text) {
		c.t.Fatalf("%s at %s reads %q, want it to contain %q", sel, c.location(), got, text)
	}
}
