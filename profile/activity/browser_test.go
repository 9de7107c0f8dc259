package activity

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// shotsEnv names a directory the Event Log's screenshots are also written to, for a person
// who wants to look at them (the copies in the test's temp dir go with the dir).
const shotsEnv = "FACET_BROWSER_SHOTS"

// TestBrowserEventLog opens the Event Log in Chromium at 1280 and 390 px wide with a log
// of every kind of event: no console errors, nothing wider than the viewport, every date on
// one line in the wide table, and each event a card (a block with its column names) on the
// phone. It screenshots both widths.
func TestBrowserEventLog(t *testing.T) {
	profiletest.RequireChromium(t)
	e := newEnv(t, sqltest.Backend{Name: sqlstore.DialectSQLite})
	ctx := t.Context()
	now := e.Clock.Now()
	for _, c := range []storage.Client{{ID: "notes", Name: "Notes & Co"}, {ID: "calendar-pro", Name: "Calendar Pro for Teams"}} {
		c.CreatedAt, c.UpdatedAt = now, now
		if err := e.Store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	_, u := e.SignUp("ada@example.com", "Ada Lovelace", "192.0.2.80")
	if err := e.Store.PutProfileFields(ctx, []storage.ProfileField{{UserID: u.ID, Field: "zoneinfo", Value: "Europe/Berlin", Privacy: "private", UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	rec := recorder(e.Store, e.Clock.Now)
	phone := profile.Origin{IP: "2001:db8:85a3::8a2e:370:7334", Device: "mobile", Browser: "Mobile Safari 17", OS: "iOS"}
	desk := profile.Origin{IP: "198.51.100.23", Device: "desktop", Browser: "Firefox 120", OS: "Linux"}
	for _, ev := range []struct {
		o profile.Origin
		e profile.Event
	}{
		{desk, profile.Event{Category: profile.CategoryPrivacyChanged, Details: map[string]string{"field": "family_name", "level": "private"}}},
		{desk, profile.Event{Category: profile.CategoryProfileUpdated, Details: map[string]string{"fields": "given_name,birthdate"}}},
		{desk, profile.Event{Category: profile.CategoryEmailVerified}},
		{phone, profile.Event{Category: profile.CategoryAppConsentGiven, ClientID: "calendar-pro",
			Details: map[string]string{"scopes": "openid,profile,email,offline_access", "claims": "birthdate", "declined": "phone_number", "public": "given_name"}}},
		{phone, profile.Event{Category: profile.CategoryAppSignIn, ClientID: "calendar-pro",
			Details: map[string]string{"scopes": "openid,profile,email,offline_access", "auth_time": now.Format(time.RFC3339)}}},
		{profile.Origin{IP: "203.0.113.9", Device: "bot", Browser: "Go-http-client 1"}, profile.Event{Category: profile.CategoryAppOffline, ClientID: "calendar-pro",
			Details: map[string]string{"scopes": "openid,profile,email,offline_access"}}},
		{desk, profile.Event{Category: profile.CategoryAppSignIn, ClientID: "notes", Details: map[string]string{"scopes": "openid", "auth_time": now.Format(time.RFC3339)}}},
		{desk, profile.Event{Category: profile.CategoryAppLogout, ClientID: "notes"}},
	} {
		e.Clock.Add(97 * time.Minute)
		rec.Record(ctx, ev.o, u.ID, ev.e)
	}

	// The pages with their static files, as cmd serves them.
	mux := http.NewServeMux()
	mux.Handle(templates.StaticPrefix, templates.StaticHandler())
	mux.Handle("/", e.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	chrome := profiletest.StartChrome(t, srv.URL, 1280, 90*time.Second)
	tab := chrome.Context()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) bool {
		t.Helper()
		sctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return ok
	}
	// The elements reaching past the viewport's right edge, "" for none.
	const overflow = `[...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
			.map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(el.getBoundingClientRect().right) + 'px')
			.concat(document.documentElement.scrollWidth > window.innerWidth ? ['page ' + document.documentElement.scrollWidth + 'px'] : [])
			.slice(0, 5).join(', ')`
	wide := func(where string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		got, err := chromedp.Run(sctx, chromedp.Evaluate[string](overflow))
		if err != nil {
			t.Fatalf("evaluate overflow: %v", err)
		}
		if got != "" {
			t.Errorf("%s: wider than the viewport: %s", where, got)
		}
	}
	typeInto := func(sel, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible),
			func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
				return chromedp.Void{}, err
			})
	}

	do("log in", chromedp.Navigate(srv.URL+"/login?return_to=%2Fprofile%2Fevents"),
		typeInto("#email", "ada@example.com"), typeInto("#password", profiletest.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".events-table")))

	dir := t.TempDir()
	shot := func(name string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		b, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("screenshot %s is not a PNG: %v", name, err)
		}
		for _, d := range []string{dir, os.Getenv(shotsEnv)} {
			if d == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(d, name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshot %s: %v", name, img.Bounds().Size())
	}
	const (
		datesOneLine = `[...document.querySelectorAll('.events-table time')].every(el => el.getClientRects().length === 1 &&
			el.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(el).lineHeight || '24'))`
		cards = `[...document.querySelectorAll('.events-table tbody tr')].every(tr => getComputedStyle(tr).display === 'block') &&
			[...document.querySelectorAll('.events-table td')].every(td => getComputedStyle(td, '::before').content.includes(td.dataset.label) &&
				td.getBoundingClientRect().width >= 0.9 * td.parentElement.clientWidth - 32)`
		inWords = `document.querySelector('.events-table').innerText.includes('Family name: visible to only you') &&
			!document.querySelector('.events-table').innerText.includes('family_name')`
	)

	// 1280 px: a table, each date on one line.
	if n := eval(`document.querySelectorAll('.events-table tbody tr').length === 10`); !n {
		t.Error("the Event Log does not list the 10 events")
	}
	wide("1280 px")
	if !eval(`(f => f.scrollWidth <= f.clientWidth)(document.querySelector('figure.events-table'))`) {
		t.Error("1280 px: the table is wider than its box (it scrolls sideways)")
	}
	if !eval(datesOneLine) {
		t.Error("1280 px: a date wraps over several lines")
	}
	if !eval(inWords) {
		t.Error("1280 px: the details are not in words")
	}
	if eval(`getComputedStyle(document.querySelector('.events-table tbody tr')).display === 'block'`) {
		t.Error("1280 px: the events are cards, want a table")
	}
	shot("events-1280")

	// 390 px: cards.
	do("narrow", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".events-table")))
	if !eval(`window.innerWidth === 390`) {
		t.Fatal("the viewport is not 390 px wide")
	}
	wide("390 px")
	if !eval(cards) {
		t.Error("390 px: the events are not cards with their column names")
	}
	shot("events-390")

	// One event's page at 390 px.
	do("one event", chromedp.Click(chromedp.CSS(`.events-table tbody tr:nth-child(6) th a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("article dl")))
	wide("390 px event page")
	if !eval(`document.querySelector('article dl').innerText.includes('Shared with your permission: Birth date') &&
		!document.body.innerText.includes('(Europe/Berlin) (Europe/Berlin)')`) {
		t.Error("the event's page does not say what was shared")
	}
	shot("event-390")

	for _, s := range chrome.Odd() {
		t.Errorf("the browser saw: %s", s)
	}
}
