package catalog_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// logo is a 64×64 PNG of one colour, an app's logo.
func logo(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// viewShot writes the tab's viewport as dir/name.png.
func viewShot(t *testing.T, c *profiletest.Chrome, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.Context(), 15*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserCatalog drives Chromium at 1280 and 390 px: the Catalog button of the profile
// page opens the window over it (grouped apps, a closed app only with access), the star
// marks an app favorite without leaving the page and the sidebar shows it at once, and the
// favorite leads to the app's home page. It screenshots the window and the profile page
// with its favorites (FACET_SCREENSHOT_DIR keeps them).
func TestBrowserCatalog(t *testing.T) {
	profiletest.RequireChromium(t)
	dir := os.Getenv(profiletest.ScreenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 390} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			e := newEnv(t, sqltest.Backend{Name: sqlstore.DialectSQLite}, true)
			ctx := t.Context()
			// The pages with their static files, as cmd serves them, and the apps' logos and
			// home pages on the same server.
			logos := map[string][]byte{
				"notes": logo(t, color.RGBA{0x1f, 0x6f, 0xeb, 0xff}), "calendar": logo(t, color.RGBA{0xe3, 0x6c, 0x09, 0xff}),
				"vault": logo(t, color.RGBA{0x2d, 0x8a, 0x4e, 0xff}),
			}
			mux := http.NewServeMux()
			mux.Handle(templates.StaticPrefix, templates.StaticHandler())
			mux.HandleFunc("GET /test-logos/{id}", func(w http.ResponseWriter, r *http.Request) {
				b, ok := logos[strings.TrimSuffix(r.PathValue("id"), ".png")]
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "image/png")
				w.Write(b)
			})
			mux.HandleFunc("GET /test-apps/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write([]byte(`<!doctype html><title>App</title><h1 id="app">Welcome to ` + r.PathValue("id") + `</h1>`))
			})
			mux.Handle("/", e.Handler)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			now := e.Clock.Now()
			for _, c := range []storage.Client{
				{ID: "notes", Name: "Notes", Description: "Notes and checklists, synced everywhere.", Type: "Productivity"},
				{ID: "calendar", Name: "Calendar", Description: "Meetings and reminders for your team.", Type: "Productivity"},
				{ID: "vault", Name: "Vault", Description: "Passwords shared with invited colleagues only.", Type: "Security", Closed: true},
				{ID: "secret", Name: "Secret Lab", Description: "Invitation only.", Type: "Security", Closed: true},
				{ID: "books", Name: "Books", Description: "The team library."},
			} {
				c.InCatalog, c.HomeURI, c.CreatedAt, c.UpdatedAt = true, srv.URL+"/test-apps/"+c.ID, now, now
				if _, ok := logos[c.ID]; ok {
					c.LogoURI = srv.URL + "/test-logos/" + c.ID + ".png"
				}
				if err := e.Store.CreateClient(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			_, u := e.SignUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
			if err := e.Store.GrantClientAccess(ctx, "vault", u.ID, now); err != nil {
				t.Fatal(err)
			}

			c := profiletest.StartChrome(t, srv.URL, width, 3*time.Minute)
			c.Open("/login?return_to=%2Fprofile")
			c.Fill("#email", "alex@example.com")
			c.Fill("#password", profiletest.Password)
			c.Submit(`form[action="/login"] button[type=submit]`)
			c.WantPath("/profile")
			c.WantText("#sidebar-favorites", "Star an app")

			c.Step("open the catalog", chromedp.Steps(
				chromedp.Click(chromedp.CSS("a.catalog-button"), chromedp.NodeVisible),
				chromedp.WaitVisible(chromedp.CSS(`dialog#edit-dialog[open] #catalog-list`))))
			c.WantPath("/profile")
			c.WantText("dialog#edit-dialog #catalog-list", "Calendar")
			c.WantText("dialog#edit-dialog #catalog-list", "Vault")
			groups := profiletest.Eval[string](c, "group order",
				`[...document.querySelectorAll('#edit-dialog .catalog-group h2')].map(h => h.textContent).join(',')`)
			if groups != "Productivity,Security,Other" {
				t.Errorf("the window's groups = %q", groups)
			}
			apps := profiletest.Eval[string](c, "app order",
				`[...document.querySelectorAll('#edit-dialog .catalog-app strong')].map(s => s.textContent).join(',')`)
			if apps != "Calendar,Notes,Vault,Books" {
				t.Errorf("the window's apps = %q (the closed app without access must not show)", apps)
			}

			star := `#edit-dialog form[action="/profile/catalog/favorites/notes"] button`
			c.Step("star Notes", chromedp.Steps(
				chromedp.Click(chromedp.CSS(star), chromedp.NodeVisible),
				chromedp.WaitVisible(chromedp.CSS(`#sidebar-favorites a[href$="/test-apps/notes"]`))))
			c.Step("star Vault", chromedp.Steps(
				chromedp.Click(chromedp.CSS(`#edit-dialog form[action="/profile/catalog/favorites/vault"] button`), chromedp.NodeVisible),
				chromedp.WaitVisible(chromedp.CSS(`#sidebar-favorites a[href$="/test-apps/vault"]`))))
			c.WantPath("/profile")
			if !profiletest.Eval[bool](c, "the star is on", `document.querySelector('`+star+`').classList.contains('on') && document.querySelector('#edit-dialog').open`) {
				t.Error("after the star the window is closed or Notes' star is not on")
			}
			c.WantText("dialog#edit-dialog [role=status]", "Vault is in your favorites.")
			if focused := profiletest.Eval[string](c, "focus", `document.activeElement.closest('form') ? document.activeElement.closest('form').getAttribute('action') : ''`); focused != "/profile/catalog/favorites/vault" {
				t.Errorf("focus after the star is on %q, want Vault's star", focused)
			}
			// The window as the screen shows it (a full-page shot would cut its backdrop off).
			viewShot(t, c, dir, "catalog-"+strconv.Itoa(width))

			c.Step("close the window", chromedp.Steps(
				chromedp.Click(chromedp.CSS(`#edit-dialog a.cancel`), chromedp.NodeVisible),
				chromedp.WaitNotVisible(chromedp.CSS(`#edit-dialog`))))
			sidebar := profiletest.Eval[string](c, "sidebar", `document.querySelector('#sidebar-favorites').innerText`)
			if i, j := strings.Index(sidebar, "Notes"), strings.Index(sidebar, "Vault"); i < 0 || j < i {
				t.Errorf("the sidebar reads %q, want Notes then Vault", sidebar)
			}
			c.Screenshot(dir, "catalog-favorites-"+strconv.Itoa(width))

			// Another account page has them too; a favorite opens its app.
			c.Open("/profile/password")
			c.WantText("#sidebar-favorites", "Vault")
			c.Submit(`#sidebar-favorites a[href$="/test-apps/notes"]`)
			c.WantPath("/test-apps/notes")
			c.WantText("#app", "Welcome to notes")
			if odd := c.Odd(); len(odd) > 0 {
				t.Errorf("the browser saw: %v", odd)
			}
		})
	}
}
