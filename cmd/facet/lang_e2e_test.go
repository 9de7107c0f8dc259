package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/storage/sqltest"
)

// TestLanguageE2E walks an app's sign-in whose authorization request asks for Russian
// (ui_locales) from a browser preferring English: login, registration (also when it answers
// with errors) and consent are in Russian; once the user's locale field says English, it
// wins over ui_locales. A signed-out browser preferring Russian gets Russian pages and error
// texts.
func TestLanguageE2E(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f)
			b := newAgent(t, f.issuer)
			b.header = http.Header{"Accept-Language": {"en-US,en;q=0.9"}}
			ar := r.start(oauth2.SetAuthURLParam("ui_locales", "ru en"))

			p := b.get(ar.url)
			wantPage(t, p, "/login", `<html lang="ru">`, "Вход в Facet", "чтобы продолжить в Relying Party")
			reg := b.get(registerLink(t, p))
			wantPage(t, reg, "/register", "Создайте учётную запись Facet")
			bad := b.submit(reg, reg.formWith(t, "/register"), url.Values{
				"email": {"ru@example.com"}, "password": {"correct horse battery"}, "confirm": {"другой пароль"}, "name": {"Лена Ланг"},
			}, "")
			wantPage(t, bad, "/register", `<html lang="ru">`, "Пароли не совпадают.")
			consent := b.submit(bad, bad.formWith(t, "/register"), url.Values{
				"password": {"correct horse battery"}, "confirm": {"correct horse battery"},
			}, "")
			wantPage(t, consent, "/oauth2/auth", `<html lang="ru">`, "Разрешить приложению Relying Party использовать вашу учётную запись Facet?", ">Разрешить</button>")
			code := approve(t, b, consent, ar, f.issuer)
			exchange(t, r, ar, code)

			// An authorization request posted to the endpoint carries ui_locales in its body.
			posted := r.start(oauth2.SetAuthURLParam("ui_locales", "ru"), oauth2.SetAuthURLParam("prompt", "consent"))
			pu, err := url.Parse(posted.url)
			if err != nil {
				t.Fatal(err)
			}
			p = b.post(f.issuer+oauth.PathAuth, pu.Query())
			wantPage(t, p, oauth.PathAuth, `<html lang="ru">`, ">Разрешить</button>")
			exchange(t, r, posted, approve(t, b, p, posted, f.issuer))

			u, err := f.app.store.GetUserByEmail(t.Context(), "ru@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.app.store.PutProfileValues(t.Context(), u.ID, map[string]string{"locale": "en-GB"}, f.app.cfg.Now()); err != nil {
				t.Fatal(err)
			}
			again := r.start(oauth2.SetAuthURLParam("ui_locales", "ru"), oauth2.SetAuthURLParam("prompt", "consent"))
			wantPage(t, b.get(again.url), "/oauth2/auth", `<html lang="en">`, "Allow Relying Party to use your Facet account?")
			b.header.Set("Accept-Language", "ru")
			wantPage(t, b.get("/profile"), "/profile", `<html lang="en">`, "Main Information")

			anon := newAgent(t, f.issuer)
			anon.header = http.Header{"Accept-Language": {"ru-RU,ru;q=0.9,en;q=0.5"}, "Accept": {"text/html"}}
			wantPage(t, anon.get("/login"), "/login", `<html lang="ru">`, "Вход в Facet")
			nf := anon.get("/no-such-page")
			if nf.status != http.StatusNotFound || !strings.Contains(nf.body, "Страница не найдена") {
				t.Errorf("404 page in Russian: %d\n%s", nf.status, nf.body)
			}
			anon.header.Set("Accept", "application/json")
			nf = anon.get("/no-such-page")
			var body map[string]string
			if err := json.Unmarshal([]byte(nf.body), &body); err != nil || body["error_description"] != "По этому адресу ничего нет." {
				t.Errorf("404 JSON in Russian: %v %q", err, nf.body)
			}
		})
	}
}

// wantPage checks that p is a 200 page at path containing every want.
func wantPage(t *testing.T, p page, path string, want ...string) {
	t.Helper()
	if p.status != http.StatusOK && p.status != http.StatusUnprocessableEntity || p.url.Path != path {
		t.Fatalf("want a page at %s, got %d at %s:\n%s", path, p.status, p.url, p.body)
	}
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Errorf("%s lacks %q:\n%s", path, w, p.body)
		}
	}
}
