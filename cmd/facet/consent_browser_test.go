package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

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
	profiletest.RequireChromium(t)
	be := sqltest.Backend{Name: "sqlite"}
	f := startFacet(t, be.NewURL(t), nil)
	r := newRP(t, f, "openid", "profile", "email", "phone")
	c := profiletest.StartChrome(t, f.issuer, 1280, 90*time.Second)
	b := &browserTab{Chrome: c, t: t, ctx: c.Context()}
	ctx := t.Context()

	// Register from the app's sign-in; the consent page follows.
	ar := r.start()
	b.Load("authorize", chromedp.Navigate(ar.url))
	b.Load("register link", chromedp.Click(chromedp.CSS(`a[href^="/register"]`), chromedp.NodeVisible))
	b.Fill("#name", "Alex Timofeeva")
	b.Fill("#email", "browser@example.com")
	b.Fill("#password", "lantern-orbit-47")
	b.Fill("#confirm", "lantern-orbit-47")
	b.Load("register", chromedp.Click(chromedp.CSS(`form[action^="/register"] button[type=submit]`), chromedp.NodeVisible))
	b.WantPath(oauth.PathAuth)

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
	b.Load("consent page", chromedp.Navigate(ar.url))
	b.WantText("main", "Full name")
	b.WantText("main", "you said no before")
	b.shots("consent")

	// "Change who can see your data", and back.
	b.Load("settings link", chromedp.Click(chromedp.CSS(`a[href^="/profile?return_to="]`), chromedp.NodeVisible))
	b.WantText("nav.flow-back", "Back to Relying Party")
	b.shots("privacy-back")
	b.Load("back to the app", chromedp.Click(chromedp.CSS(`nav.flow-back a`), chromedp.NodeVisible))
	b.WantPath(oauth.PathAuth)
	b.WantText("main", "Allow Relying Party")

	// Without a family name the sign-in stops at "Complete your profile".
	must(f.app.store.DeleteProfileField(ctx, u.ID, "family_name"))
	b.Load("authorize again", chromedp.Navigate(r.start().url))
	b.WantPath(oauth.PathComplete)
	b.WantText("main", "To sign you in to Relying Party")
	b.WantText("main", "Cancel and go back to Relying Party")
	b.shots("complete")

	for _, s := range b.Odd() {
		t.Errorf("the browser saw: %s", s)
	}
}

// browserTab is the Chromium tab with the screenshots this test takes.
type browserTab struct {
	*profiletest.Chrome
	t   *testing.T
	ctx context.Context
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
