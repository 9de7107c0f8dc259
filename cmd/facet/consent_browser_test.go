package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
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

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// chromium is where Debian's chromium package installs the browser.
const chromium = "/usr/bin/chromium"

// shotsEnv names a directory the browser tests also write their screenshots to, for a person
// who wants to look at them.
const shotsEnv = "FACET_SCREENSHOT_DIR"

// TestBrowserConsentPages drives Chromium through an app's sign-in: the consent page (with
// public, on-request — new, allowed and declined — derived and private claims), the privacy
// settings reached from it with the way back, and "Complete your profile" with Cancel and Log
// out. At 1280 and 390 px wide each page must fit the viewport (nothing wider than it), and
// the browser must see no failed request, script error or console error. Screenshots go to
// the test's temp dir and to $FACET_SCREENSHOT_DIR when set.
func TestBrowserConsentPages(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but Chromium is not installed at %s (%v)", chromium, err)
		}
		t.Skipf("Chromium is not installed at %s", chromium)
	}
	be := sqltest.Backend{Name: "sqlite"}
	f := startFacet(t, be.NewURL(t), nil)
	r := newRP(t, f, "openid", "profile", "email", "phone")
	ctx := t.Context()

	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	var (
		oddMu sync.Mutex
		odd   []string
	)
	if err := chromedp.Listen(bctx, func(ev any) {
		var s string
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
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
	b := &browserTab{t: t, ctx: bctx}

	// Register from the app's sign-in; the consent page follows.
	ar := r.start()
	b.load("authorize", chromedp.Navigate(ar.url))
	b.load("register link", chromedp.Click(chromedp.CSS(`a[href^="/register"]`), chromedp.NodeVisible))
	b.fill("#name", "Alex Timofeeva")
	b.fill("#email", "browser@example.com")
	b.fill("#password", "lantern-orbit-47")
	b.fill("#confirm", "lantern-orbit-47")
	b.load("register", chromedp.Click(chromedp.CSS(`form[action^="/register"] button[type=submit]`), chromedp.NodeVisible))
	b.wantPath(oauth.PathAuth)

	// Earlier decisions and more fields, so the page shows every kind of claim.
	u, err := f.app.store.GetUserByEmail(ctx, "browser@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.app.store.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: u.ID, Field: "website", Value: "https://alex.example.org", Privacy: "public", UpdatedAt: now},
		{UserID: u.ID, Field: "nickname", Value: "Sasha", Privacy: "on_request", UpdatedAt: now},
		{UserID: u.ID, Field: "birthdate", Value: "1990-05-06", Privacy: "private", UpdatedAt: now},
		{UserID: u.ID, Field: "phone_number", Value: "+442079460958", Privacy: "on_request", UpdatedAt: now},
	}))
	must(f.app.store.PutGrant(ctx, storage.Grant{UserID: u.ID, ClientID: r.clientID, Scopes: []string{"openid", "profile"},
		Claims: []string{"given_name"}, CreatedAt: now, UpdatedAt: now}))
	must(f.app.store.PutClaimDeclines(ctx, u.ID, r.clientID, []string{"family_name"}, now))
	b.load("consent page", chromedp.Navigate(ar.url))
	b.wantText("main", "Full name")
	b.wantText("main", "you said no before")
	b.shots("consent")

	// "Change who can see your data", and back.
	b.load("settings link", chromedp.Click(chromedp.CSS(`a[href^="/profile?return_to="]`), chromedp.NodeVisible))
	b.wantText("nav.flow-back", "Back to Relying Party")
	b.shots("privacy-back")
	b.load("back to the app", chromedp.Click(chromedp.CSS(`nav.flow-back a`), chromedp.NodeVisible))
	b.wantPath(oauth.PathAuth)
	b.wantText("main", "Allow Relying Party")

	// Without a family name the sign-in stops at "Complete your profile".
	must(f.app.store.DeleteProfileField(ctx, u.ID, "family_name"))
	b.load("authorize again", chromedp.Navigate(r.start().url))
	b.wantPath(oauth.PathComplete)
	b.wantText("main", "To sign you in to Relying Party")
	b.wantText("main", "Cancel and go back to Relying Party")
	b.shots("complete")

	oddMu.Lock()
	defer oddMu.Unlock()
	for _, s := range odd {
		t.Errorf("the browser saw: %s", s)
	}
}

// browserTab is one Chromium tab; each step fails the test on error.
type browserTab struct {
	t   *testing.T
	ctx context.Context
}

// load runs a, which navigates, and checks the page answered 200.
func (b *browserTab) load(what string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != http.StatusOK {
		b.t.Fatalf("%s: status %d at %s", what, resp.Status, resp.URL)
	}
}

func (b *browserTab) fill(sel, v string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Steps(
		chromedp.Clear(chromedp.CSS(sel), chromedp.NodeVisible),
		chromedp.Focus(chromedp.CSS(sel)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
			return chromedp.Void{}, err
		},
	))
	if err != nil {
		b.t.Fatalf("fill %s: %v", sel, err)
	}
}

func (b *browserTab) wantPath(path string) {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	if u, err := url.Parse(loc); err != nil || u.Path != path {
		b.t.Fatalf("the tab shows %s, want path %s", loc, path)
	}
}

func (b *browserTab) wantText(sel, text string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	if !strings.Contains(got, text) {
		b.t.Fatalf("%s reads %q, want it to contain %q", sel, got, text)
	}
}

// overflow is a script listing the elements whose right edge passes the viewport's.
const overflow = `(() => {
  const w = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(r.right) + 'px');
  }
  if (document.documentElement.scrollWidth > w) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth + 'px');
  return out;
})()`

// shots takes a full-page screenshot of the current page at 1280 and at 390 px wide
// (name-1280.png, name-390.png), checking that nothing is wider than the viewport.
func (b *browserTab) shots(name string) {
	b.t.Helper()
	dir := os.Getenv(shotsEnv)
	for _, w := range []int64{1280, 390} {
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900)); err != nil {
			cancel()
			b.t.Fatalf("viewport %d: %v", w, err)
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflow))
		if err != nil {
			cancel()
			b.t.Fatalf("overflow check: %v", err)
		}
		for _, el := range wide {
			b.t.Errorf("%s at %d px: wider than the viewport: %s", name, w, el)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			b.t.Fatalf("decode the screenshot: %v", err)
		}
		if got := int64(img.Bounds().Dx()); got != w {
			b.t.Errorf("%s screenshot is %d px wide, want %d", name, got, w)
		}
		file := fmt.Sprintf("%s-%d.png", name, w)
		if err := os.WriteFile(filepath.Join(b.t.TempDir(), file), shot, 0o600); err != nil {
			b.t.Fatal(err)
		}
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, file), shot, 0o644); err != nil {
				b.t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		b.t.Fatal(err)
	}
}
