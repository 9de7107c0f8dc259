package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqltest"
)

// overflowJS lists the elements reaching past the right edge of the viewport, the page itself
// when it scrolls sideways, and a table wider than its card: a long word that does not wrap
// shows up here.
const overflowJS = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	if (document.documentElement.scrollWidth > w) out.push("page scrollWidth " + document.documentElement.scrollWidth + " > " + w);
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect();
		if (r.width > 0 && r.right > w + 1) out.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : "") + " ends at " + Math.round(r.right) + ": " + (el.textContent || "").trim().slice(0, 60));
	}
	// A table wider than the card it is in spills out of it.
	for (const t of document.querySelectorAll("article table")) {
		const card = t.closest("article").getBoundingClientRect(), r = t.getBoundingClientRect();
		if (r.right > card.right + 1) out.push("table ends at " + Math.round(r.right) + ", its card at " + Math.round(card.right));
	}
	return out;
})()`

// TestBrowserProfileRussian registers in Chromium, sets the account's locale to Russian and
// looks at /profile, the Event Log, an app's consent page and the edit form at 1280 and
// 390 px: each page is in
// Russian (lang="ru", the texts, the birth date in words, the phone number grouped) and
// nothing reaches past the viewport.
func TestBrowserProfileRussian(t *testing.T) {
	profiletest.RequireChromium(t)
	f := startFacet(t, sqltest.Backend{Name: "sqlite"}.NewURL(t), nil)
	chrome := profiletest.StartChrome(t, f.issuer, 1280, 60*time.Second)
	bctx := chrome.Context()
	step, fill := chrome.Load, chrome.Fill

	step("open /register", chromedp.Navigate(f.issuer+"/register"))
	fill("#name", "Александра Константинопольская")
	fill("#email", "alexandra@example.com")
	fill("#password", "lantern-orbit-47")
	fill("#confirm", "lantern-orbit-47")
	step("register", chromedp.Click(chromedp.CSS(`form[action="/register"] button[type=submit]`), chromedp.NodeVisible))

	u, err := f.app.store.GetUserByEmail(t.Context(), "alexandra@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.app.store.PutProfileValues(t.Context(), u.ID, map[string]string{
		"locale": "ru-RU", "zoneinfo": "Europe/Moscow", "birthdate": "1990-12-10", "gender": "female",
		"phone_number": "+442079460958", "nickname": "Саша", "website": "https://example.com/очень-длинный-адрес-страницы",
	}, time.Now()); err != nil {
		t.Fatal(err)
	}

	dir := os.Getenv(shotsEnv)
	// An app's authorization request: the consent page, in the user's language.
	consent := strings.TrimPrefix(newRP(t, f).start().url, f.issuer)
	pages := []struct {
		name, path string
		want       []string
	}{
		{"profile", "/profile", []string{"Основная информация", "Дополнительная информация", "10 декабря 1990 г.", "+44 20 7946 0958", "русский", "Europe/Moscow", "Журнал событий"}},
		// the pickers, in Russian, with the stored values chosen
		{"events", "/profile/events", []string{"Журнал событий", "Учётная запись создана", "Europe/Moscow"}},
		{"consent", consent, []string{"Разрешить приложению Relying Party использовать вашу учётную запись Facet?", "Разрешить", "Отклонить"}},
		{"profile-edit", "/profile/edit?block=additional", []string{"Изменение дополнительной информации", "Язык", "Часовой пояс", "Сохранить"}},
	}
	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatalf("viewport %d: %v", width, err)
		}
		for _, pg := range pages {
			shootPage(t, bctx, f.issuer, pg.path, width, pg.want, filepath.Join(dir, fmt.Sprintf("%s-ru-%d.png", pg.name, width)), dir != "")
		}
	}
	sctx, cancel := context.WithTimeout(bctx, 15*time.Second)
	defer cancel()
	chosen, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](`[document.querySelector("#f-locale").selectedOptions[0].textContent, document.querySelector("#f-zoneinfo").selectedOptions[0].textContent, document.querySelector("#f-zoneinfo").selectedOptions[0].parentElement.label]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(chosen) != 3 || chosen[0] != "русский (Россия)" || chosen[1] != "Moscow" || chosen[2] != "Европа" {
		t.Errorf("pickers show %q", chosen)
	}
}

// shootPage opens path at the current width and checks it: lang="ru", every text of want,
// nothing past the viewport; it writes a full-page screenshot to file when save is set.
func shootPage(t *testing.T, bctx context.Context, base, path string, width int64, want []string, file string, save bool) {
	t.Helper()
	sctx, cancel := context.WithTimeout(bctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(sctx, chromedp.Navigate(base+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	lang, err := chromedp.Run(sctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	over, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](overflowJS))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if lang != "ru" {
		t.Errorf("%s at %d px: <html lang=%q>", path, width, lang)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s at %d px lacks %q:\n%s", path, width, w, text)
		}
	}
	for _, o := range over {
		t.Errorf("%s at %d px: %s", path, width, o)
	}

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	if got := img.Bounds().Dx(); got != int(width) {
		t.Errorf("%s: screenshot is %d px wide, want %d", path, got, width)
	}
	if save {
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%v)", file, img.Bounds().Size())
	}
}
