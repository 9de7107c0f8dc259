package profiletest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
)

// ChromiumPath is where Debian's chromium package installs the browser; .ci/run installs it
// when it is missing.
const ChromiumPath = "/usr/bin/chromium"

// ScreenshotDirEnv names a directory the console walk writes its screenshots to, for a person
// who wants to look at them.
const ScreenshotDirEnv = "FACET_SCREENSHOT_DIR"

// RequireChromium returns the browser's path. Without a browser the test skips on a
// developer's machine, but fails in CI (CI set), so CI cannot skip it silently.
func RequireChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but Chromium is not installed at %s (%v); .ci/run installs it with apt-get install chromium", ChromiumPath, err)
		}
		t.Skipf("Chromium is not installed at %s; install it (apt-get install -y chromium) to run the browser test", ChromiumPath)
	}
	return ChromiumPath
}

// Chrome is one headless Chromium tab on a test server; each step fails the test on error.
// It records everything odd the pages do (a failed response, a script error, a console
// error); Odd returns it.
type Chrome struct {
	t    *testing.T
	ctx  context.Context
	Base string

	mu  sync.Mutex
	odd []string
}

// StartChrome starts Chromium for base with the window width × 900; the browser stops when
// the test ends (before t.TempDir's cleanup removes its profile directory). timeout bounds
// the whole browser session.
func StartChrome(t *testing.T, base string, width int, timeout time.Duration) *Chrome {
	t.Helper()
	exec := RequireChromium(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(width, 900),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	c := &Chrome{t: t, ctx: bctx, Base: base}
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
			if ev.ExceptionDetails.Exception != nil {
				s += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
				s = "console: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if s != "" {
			c.mu.Lock()
			c.odd = append(c.odd, s)
			c.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	c.Step("viewport", chromedp.EmulateViewport(int64(width), 900))
	return c
}

// Odd returns, and forgets, what the browser saw go wrong since the last call.
func (c *Chrome) Odd() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.odd
	c.odd = nil
	return o
}

// Context is the tab's context, for actions the helpers do not cover.
func (c *Chrome) Context() context.Context { return c.ctx }

// Step runs one action with its own 15 s limit, so a wrong selector fails fast with its name.
func (c *Chrome) Step(what string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		c.t.Fatalf("%s: %v (at %s)", what, err, c.Location())
	}
}

// Load runs a, which starts a navigation, and waits for the page; the page (after the
// server's redirects) must answer 200.
func (c *Chrome) Load(what string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v (at %s)", what, err, c.Location())
	}
	if resp.Status != http.StatusOK {
		c.t.Fatalf("%s: status %d at %s", what, resp.Status, resp.URL)
	}
}

// Open navigates to path on the server.
func (c *Chrome) Open(path string) {
	c.t.Helper()
	c.Load("open "+path, chromedp.Navigate(c.Base+path))
}

// Submit clicks the button or link sel and waits for the next page.
func (c *Chrome) Submit(sel string) {
	c.t.Helper()
	c.Load("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Fill clears the field sel, focuses it and inserts v as typed text.
func (c *Chrome) Fill(sel, v string) {
	c.t.Helper()
	c.Step("fill "+sel, chromedp.Steps(
		chromedp.Clear(chromedp.CSS(sel), chromedp.NodeVisible),
		chromedp.Focus(chromedp.CSS(sel)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
			return chromedp.Void{}, err
		},
	))
}

// Set sets the value of sel (a date picker takes keys in the locale's order; the value is
// what the form sends either way).
func (c *Chrome) Set(sel, v string) {
	c.t.Helper()
	c.Step("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v, chromedp.NodeVisible))
}

// Location is the URL the tab shows.
func (c *Chrome) Location() string {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location"
	}
	return loc
}

// WantPath checks the path of the page the tab shows.
func (c *Chrome) WantPath(path string) {
	c.t.Helper()
	loc := c.Location()
	u, err := url.Parse(loc)
	if err != nil || u.Path != path {
		c.t.Fatalf("the tab shows %s, want path %s", loc, path)
	}
}

// WantText checks that the first visible element matching sel contains text.
func (c *Chrome) WantText(sel, text string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			c.t.Fatalf("no visible %s at %s", sel, c.Location())
		}
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	if !strings.Contains(got, text) {
		c.t.Fatalf("%s at %s reads %q, want it to contain %q", sel, c.Location(), got, text)
	}
}

// Eval evaluates the JavaScript expression js in c's page and returns its value as T.
func Eval[T any](c *Chrome, what, js string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		c.t.Fatalf("%s: %v (at %s)", what, err, c.Location())
	}
	return v
}

// Tab presses the Tab key once.
func (c *Chrome) Tab() {
	c.t.Helper()
	c.Step("press Tab", chromedp.KeyEvent("\t"))
}

// Screenshot writes a full-page PNG of the tab to dir/name.png when dir is not empty.
func (c *Chrome) Screenshot(dir, name string) {
	c.t.Helper()
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		c.t.Fatal(err)
	}
}
