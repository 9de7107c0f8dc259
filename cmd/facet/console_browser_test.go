package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// auditJS checks the page a person sees: nothing wider than the viewport, every form control
// labelled, no emoji in the text (icons are inline SVG). It returns one line per problem.
const auditJS = `(() => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) {
    out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + 'px > ' + vw + 'px');
  }
  const clipped = (el) => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (o !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    if (el.closest('.visually-hidden, .skip-link, dialog:not([open]), details:not([open]) > :not(summary)')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if ((r.right > vw + 1 || r.width > vw + 1) && !clipped(el)) {
      out.push('wider than the viewport (' + Math.round(r.right) + 'px): <' + el.tagName.toLowerCase() + ' class="' + el.className + '">');
    }
  }
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset'].includes(el.type)) continue;
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) out.push('unlabelled ' + el.tagName.toLowerCase() + ' name=' + el.name);
  }
  const text = document.body.innerText;
  const emoji = text.match(/\p{Extended_Pictographic}/u);
  if (emoji) out.push('emoji in the page text: ' + emoji[0]);
  for (const el of document.querySelectorAll('.icon')) {
    if (el.tagName.toLowerCase() !== 'svg' || el.getAttribute('aria-hidden') !== 'true') {
      out.push('an icon that is not an aria-hidden SVG: <' + el.tagName.toLowerCase() + '>');
    }
  }
  return out;
})()`

// focusJS describes the focused element and the contrast of its focus indicator against what
// is behind it (WCAG 2.2 SC 1.4.11 / 2.4.13: at least 3:1), computed from the styles.
const focusJS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: 'body', ratio: 99};
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const rgba = (c) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1]);
  const background = (start) => {
    let layers = [];
    for (let e = start; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const cs = getComputedStyle(el);
  const desc = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('href') ? ' href=' + el.getAttribute('href') : '') + (el.textContent ? ' "' + el.textContent.trim().slice(0, 30) + '"' : '');
  if (cs.outlineStyle === 'none' || parseFloat(cs.outlineWidth) < 1) {
    return {tag: desc, ratio: 0, why: 'no outline'};
  }
  // The outline is drawn outside the element (outline-offset > 0), on its parent's background.
  const bg = background(parseFloat(cs.outlineOffset) > 0 ? el.parentElement : el);
  const fg = over(rgba(cs.outlineColor), bg);
  const a = lum(fg), b = lum(bg);
  return {tag: desc, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), why: cs.outlineColor};
})()`

type focusInfo struct {
	Tag   string  `json:"tag"`
	Ratio float64 `json:"ratio"`
	Why   string  `json:"why"`
}

// TestConsoleWalk walks every page of the personal account, the flow pages and the consent
// page in headless Chromium at 1280 and 390 px, and checks each: no failed response or
// script error, nothing wider than the viewport, every input labelled, a keyboard focus
// indicator of at least 3:1 on every focusable element, no emoji. With FACET_SCREENSHOT_DIR
// set it writes a screenshot of each page there.
func TestConsoleWalk(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: sqlstore.DialectSQLite}.NewURL(t), nil)
	c, _, err := registration.Create(t.Context(), f.app.store, registration.Spec{
		Name:         "Notes",
		RedirectURIs: []string{rpRedirect},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		Scopes:       []string{"openid", "profile", "email", "phone", "address", "offline_access"},
	})
	if err != nil {
		t.Fatal(err)
	}
	consentURL := "/oauth2/auth?" + strings.Join([]string{
		"response_type=code", "client_id=" + c.ID, "redirect_uri=" + rpRedirect,
		"scope=openid+profile+email", "state=walk-state-123", "nonce=walk-nonce-123",
		"code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method=S256",
	}, "&")
	dir := os.Getenv(profiletest.ScreenshotDirEnv)

	for _, width := range []int{1280, 390} {
		t.Run(map[int]string{1280: "desktop", 390: "phone"}[width], func(t *testing.T) {
			b := profiletest.StartChrome(t, f.issuer, width, 3*time.Minute)
			suffix := "-" + map[int]string{1280: "1280", 390: "390"}[width]
			check := func(name string) {
				t.Helper()
				for _, p := range profiletest.Eval[[]string](b, "audit "+name, auditJS) {
					t.Errorf("%s at %d px: %s", name, width, p)
				}
				// The screenshot shows the page as loaded, before the focus walk scrolls it.
				b.Screenshot(dir, name+suffix)
				checkFocus(t, b, name, width)
				for _, s := range b.Odd() {
					t.Errorf("%s at %d px: the browser saw %s", name, width, s)
				}
			}

			b.Open("/")
			check("home")
			b.Open("/register")
			check("register")
			email := "walk" + suffix + "@example.com"
			b.Fill("#name", "Alex Timofeeva")
			b.Fill("#email", email)
			b.Fill("#password", profiletest.Password)
			b.Fill("#confirm", profiletest.Password)
			b.Submit(`form[action="/register"] button[type=submit]`)
			b.WantPath("/profile")
			check("profile")
			// With JavaScript, Edit opens the block's form in a dialog over the page.
			b.Step("open the edit dialog", chromedp.Click(chromedp.CSS(`article#main a.block-action`), chromedp.NodeVisible))
			b.Step("the dialog opens", chromedp.WaitVisible(chromedp.CSS(`dialog#edit-dialog[open] #f-given_name`)))
			check("profile-edit-dialog")
			b.Step("close it", chromedp.KeyEvent(kb.Escape))

			for _, p := range []struct{ name, path string }{
				{"profile-edit-main", "/profile/edit?block=main"},
				{"profile-edit-additional", "/profile/edit?block=additional"},
				{"email", "/profile/email"},
				{"phone", "/profile/phone"},
				{"photo", "/profile/photo"},
				{"password", "/profile/password"},
				{"confirm-email-delete", "/profile/email/delete"},
				{"events", "/profile/events"},
				{"scopes", "/profile/apps"},
				{"confirm-logout-everywhere", "/profile/logout-everywhere"},
			} {
				b.Open(p.path)
				check(p.name)
			}
			// A failed save: the page comes back with an error summary, and focus is on it.
			b.Open("/profile/edit?block=additional")
			b.Fill("#f-website", "ftp://files.example/")
			b.Step("save the wrong value", chromedp.Click(chromedp.CSS(`form[action="/profile/edit"] button[type=submit]`), chromedp.NodeVisible))
			b.Step("the error summary", chromedp.WaitVisible(chromedp.CSS(`[data-error-summary] a[href="#f-website"]`)))
			if !profiletest.Eval[bool](b, "focus on the summary", `document.activeElement && document.activeElement.hasAttribute('data-error-summary')`) {
				t.Errorf("at %d px focus is not on the error summary after a failed save", width)
			}
			b.Odd() // the 422 of the failed save is expected
			check("profile-edit-error")

			b.Open("/profile/events")
			b.Submit(`a[href^="/profile/events/"]`)
			check("event")

			b.Open(consentURL)
			b.WantPath("/oauth2/auth")
			check("consent")

			b.Open("/login")
			check("login")
		})
	}
}

// checkFocus tabs through the page (at most 60 stops) and checks every focus indicator.
func checkFocus(t *testing.T, b *profiletest.Chrome, name string, width int) {
	t.Helper()
	profiletest.Eval[any](b, "reset focus", `document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0)`)
	seen := map[string]bool{}
	for i := 0; i < 60; i++ {
		b.Tab()
		fi := profiletest.Eval[focusInfo](b, "focus", focusJS)
		if fi.Tag == "body" || seen[fi.Tag] {
			break
		}
		seen[fi.Tag] = true
		if fi.Ratio < 3 {
			t.Errorf("%s at %d px: the focus indicator of %s has contrast %.2f:1 (%s), want at least 3:1", name, width, fi.Tag, fi.Ratio, fi.Why)
		}
	}
	if len(seen) == 0 {
		t.Errorf("%s at %d px: Tab reached no element", name, width)
	}
}
