package profile

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// TestLanguageOrder: the user's locale field beats ui_locales, which beats Accept-Language,
// which beats English; a preference the catalog does not speak passes to the next one.
func TestLanguageOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("lang@example.com", "Lena Lang", "192.0.2.40")
		base, err := url.Parse(e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		authorize := func(ui string) string {
			return "/login?" + url.Values{"return_to": {"/oauth2/auth?" + url.Values{"client_id": {"app"}, "ui_locales": {ui}}.Encode()}}.Encode()
		}
		req := func(signedIn bool, target, accept string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, e.srv.URL+target, nil)
			if accept != "" {
				r.Header.Set("Accept-Language", accept)
			}
			if signedIn {
				for _, c := range b.client.Jar.Cookies(base) {
					r.AddCookie(c)
				}
			}
			return r
		}
		setLocale := func(v string) {
			must(t, e.store.PutProfileValues(t.Context(), u.ID, map[string]string{"locale": v}, e.clock.Now()))
		}
		cases := []struct {
			name     string
			locale   string // "" leaves the field empty
			signedIn bool
			target   string
			accept   string
			want     templates.Lang
		}{
			{"user locale beats ui_locales and the browser", "ru-RU", true, "/oauth2/auth?ui_locales=en", "en", templates.Russian},
			{"user locale English beats a Russian ui_locales", "en-GB", true, authorize("ru"), "ru", templates.English},
			{"unknown user locale passes to ui_locales", "de-CH", true, authorize("ru"), "en", templates.Russian},
			{"no user locale: ui_locales on the endpoint", "", true, "/oauth2/auth?ui_locales=fr+ru", "en", templates.Russian},
			{"signed out: ui_locales through return_to", "ru", false, authorize("ru"), "en-US", templates.Russian},
			{"signed out: the user's field does not count", "ru", false, "/login", "en-US,en", templates.English},
			{"ui_locales the catalog lacks passes to the browser", "", false, authorize("ja"), "ru,en;q=0.5", templates.Russian},
			{"browser", "", false, "/", "de, ru;q=0.8", templates.Russian},
			{"default", "", false, "/", "", templates.English},
			{"default for unknown languages", "", false, "/", "zh, ja;q=0.9", templates.English},
		}
		for _, c := range cases {
			setLocale(c.locale)
			if got := e.h.Language(req(c.signedIn, c.target, c.accept)); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}

		// The middleware carries the choice to the handler; FormLanguage keeps a posted
		// return_to's ui_locales, unless the user's field decided.
		var got []templates.Lang
		h := e.h.WithLanguage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				if err := r.ParseForm(); err != nil {
					t.Fatal(err)
				}
				r = e.h.FormLanguage(r)
			}
			got = append(got, templates.LangFrom(r.Context()))
			w.Write([]byte(templates.Tr(r.Context(), "login.submit")))
		}))
		form := url.Values{"return_to": {"/oauth2/auth?ui_locales=ru"}}.Encode()
		post := func(signedIn bool) *http.Request {
			r := req(signedIn, "/login", "en")
			r.Method = http.MethodPost
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Body = io.NopCloser(strings.NewReader(form))
			return r
		}
		setLocale("")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(false, "/", "ru"))
		if rec.Body.String() != "Войти" {
			t.Errorf("handler text %q", rec.Body.String())
		}
		h.ServeHTTP(httptest.NewRecorder(), post(false))
		setLocale("en")
		h.ServeHTTP(httptest.NewRecorder(), post(true))
		want := []templates.Lang{templates.Russian, templates.Russian, templates.English}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("middleware languages %q, want %q", got, want)
		}
	})
}

// TestProfilePageRussian renders /profile for a user whose locale is Russian.
func TestProfilePageRussian(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("ru@example.com", "Алекс Тимофеева", "192.0.2.41")
		must(t, e.store.PutProfileValues(t.Context(), u.ID, map[string]string{"locale": "ru", "gender": "female", "birthdate": "1990-12-10", "phone_number": "+442079460958"}, e.clock.Now()))
		// The test server mounts the routes without cmd's middleware; wrap them here.
		srv := httptest.NewServer(e.h.WithLanguage(e.srv.Config.Handler))
		t.Cleanup(srv.Close)
		b.e = &env{t: t, h: e.h, store: e.store, clock: e.clock, srv: srv}
		res := b.get("/profile")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /profile: %d", res.Status)
		}
		mustContain(t, res, `<html lang="ru">`, "Основная информация", "Дополнительная информация", "Только вы",
			"По запросу", "Женский", "Алекс", "1 активный сеанс", "Журнал событий",
			// a date in words, the number grouped, the language by name
			"10 декабря 1990 г.", "&#43;44 20 7946 0958", "русский")
		if strings.Contains(res.Body, "Main Information") || strings.Contains(res.Body, "1990-12-10") {
			t.Error("English block title on the Russian page")
		}
		if got := res.Header.Get("Content-Language"); got != "ru" {
			t.Errorf("Content-Language %q", got)
		}
	})
}

// mailFunc is a MailSender calling its function.
type mailFunc func(m notify.Message) error

func (f mailFunc) Send(_ context.Context, m notify.Message) error { return f(m) }

// TestNoticeInRecipientLanguage: a notice to an account is in its owner's language, not in
// that of the request that caused it.
func TestNoticeInRecipientLanguage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var got []notify.Message
		e.h.Mail = mailFunc(func(m notify.Message) error { got = append(got, m); return nil })
		ru := e.createUser("owner@example.com", goodPassword, "Ольга")
		en := e.createUser("other@example.com", goodPassword, "Olga")
		must(t, e.store.PutProfileValues(t.Context(), ru.ID, map[string]string{"locale": "ru"}, e.clock.Now()))
		ctx := templates.WithLang(t.Context(), templates.English)
		e.h.Notice(ctx, ru.ID, ru.Email, "contacts.mail.deleted.subject", "contacts.mail.deleted.text")
		must(t, e.h.OwnerNotice(ctx, ru.ID, ru.Email, "contacts.mail.registered.subject", "contacts.mail.registered.text"))
		e.h.Notice(templates.WithLang(t.Context(), templates.Russian), en.ID, en.Email, "contacts.mail.deleted.subject", "contacts.mail.deleted.text")
		want := []string{"Адрес электронной почты в Facet удалён", "Кто-то пытался зарегистрироваться с вашим адресом",
			// no locale field: the request's language
			"Адрес электронной почты в Facet удалён"}
		if len(got) != len(want) {
			t.Fatalf("%d mails", len(got))
		}
		for i, m := range got {
			if m.Subject != want[i] {
				t.Errorf("mail %d: subject %q, want %q", i, m.Subject, want[i])
			}
		}
	})
}

// BenchmarkLanguage is the language middleware's cost per request: a signed-out request
// (Accept-Language only) and a signed-in one (its session and profile read, on SQLite).
func BenchmarkLanguage(b *testing.B) {
	store := sqltest.Backend{Name: sqlstore.DialectSQLite}.Open(b)
	tpl, err := templates.New()
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	h, err := newHandler(Config{Issuer: "http://facet.test", Secret: secret}, store, tpl, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	u := createUser(b, store, time.Now(), "bench@example.com", goodPassword, "Ben Bench")
	must(b, store.PutProfileValues(b.Context(), u.ID, map[string]string{"locale": "ru"}, time.Now()))
	rec := httptest.NewRecorder()
	if _, err := h.StartSession(rec, httptest.NewRequest(http.MethodPost, "/login", nil), u.ID, []string{"pwd"}); err != nil {
		b.Fatal(err)
	}
	for _, signedIn := range []bool{false, true} {
		name := "signed_out"
		if signedIn {
			name = "signed_in"
		}
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/profile", nil)
			r.Header.Set("Accept-Language", "ru,en;q=0.8")
			if signedIn {
				for _, c := range rec.Result().Cookies() {
					r.AddCookie(c)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := h.Language(r); got != templates.Russian {
					b.Fatal(got)
				}
			}
		})
	}
}
