package templates

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/feature/plural"
)

// areas returns l's catalog maps.
func areas(l Lang) []map[string]string {
	if l == Russian {
		return russianAreas()
	}
	return englishAreas()
}

// merged joins a catalog's maps; a key in two maps is a problem of its own.
func merged(ms []map[string]string) (map[string]string, []string) {
	out := map[string]string{}
	var dups []string
	for _, m := range ms {
		for k, v := range m {
			if _, ok := out[k]; ok {
				dups = append(dups, k)
			}
			out[k] = v
		}
	}
	return out, dups
}

var verbRE = regexp.MustCompile(`%(?:\[(\d+)\])?[-+# 0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?([a-zA-Z%])`)

// verbs lists the arguments a format reads, as "argument:verb", sorted: "%s %d" and
// "%[2]d %[1]s" read the same.
func verbs(s string) []string {
	var out []string
	arg := 0
	for _, m := range verbRE.FindAllStringSubmatch(s, -1) {
		if m[2] == "%" {
			continue
		}
		if m[1] != "" {
			arg, _ = strconv.Atoi(m[1])
		} else {
			arg++
		}
		out = append(out, strconv.Itoa(arg)+":"+m[2])
	}
	sort.Strings(out)
	return out
}

// pluralFormsOf are the CLDR cardinal categories l uses for the counts 0 to 1000.
func pluralFormsOf(l Lang) []string {
	var out []string
	for n := 0; n <= 1000; n++ {
		f := pluralForms[plural.Cardinal.MatchPlural(l.Tag(), n, 0, 0, 0, 0)]
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// catalogProblems compares a translation tr in l with the English catalog en: every English
// key is translated, no key is unknown to English, each text reads the same arguments with
// the same verbs as the English one, and each plural family (an English key.one with
// key.other) has every form l's counts need, each reading the arguments of key.other.
func catalogProblems(l Lang, en, tr map[string]string) []string {
	var out []string
	for k, e := range en {
		s, ok := tr[k]
		switch {
		case !ok:
			out = append(out, "missing "+k)
		case !slices.Equal(verbs(e), verbs(s)):
			out = append(out, k+": verbs "+strings.Join(verbs(s), ",")+", English has "+strings.Join(verbs(e), ","))
		}
	}
	for k := range tr {
		if _, ok := en[k]; ok {
			continue
		}
		// A plural form English does not need, of a family English has.
		if i := strings.LastIndexByte(k, '.'); i > 0 && slices.Contains(pluralFormsOf(l), k[i+1:]) {
			if _, ok := en[k[:i]+".other"]; ok {
				continue
			}
		}
		out = append(out, "not in English: "+k)
	}
	for k, other := range en {
		family, ok := strings.CutSuffix(k, ".other")
		if _, one := en[family+".one"]; !ok || !one {
			continue
		}
		for _, form := range pluralFormsOf(l) {
			s, ok := tr[family+"."+form]
			switch {
			case !ok:
				out = append(out, "missing plural form "+family+"."+form)
			case !slices.Equal(verbs(other), verbs(s)):
				out = append(out, family+"."+form+": verbs "+strings.Join(verbs(s), ",")+", English .other has "+strings.Join(verbs(other), ","))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestCatalogComplete fails when a language lacks a key, knows a key English does not, has
// a text with other %-verbs than English, or a plural family without a form it needs.
func TestCatalogComplete(t *testing.T) {
	en, dups := merged(englishAreas())
	if len(dups) > 0 {
		t.Errorf("English keys in two areas: %v", dups)
	}
	for _, l := range Languages()[1:] {
		tr, dups := merged(areas(l))
		if len(dups) > 0 {
			t.Errorf("%s keys in two areas: %v", l, dups)
		}
		if got := tr["app.lang"]; got != string(l) {
			t.Errorf("%s: app.lang is %q", l, got)
		}
		for _, p := range catalogProblems(l, en, tr) {
			t.Errorf("%s: %s", l, p)
		}
	}
	for _, p := range catalogProblems(English, en, en) {
		t.Errorf("en: %s", p)
	}
}

// TestCatalogProblemsFindEachKind shows the completeness check failing on each defect.
func TestCatalogProblemsFindEachKind(t *testing.T) {
	en := map[string]string{"a": "A %s", "b": "B", "n.one": "%d thing", "n.other": "%d things", "c": "%[1]s of %[2]d"}
	good := map[string]string{"a": "А %s", "b": "Б", "n.one": "%d вещь", "n.few": "%d вещи", "n.many": "%d вещей", "n.other": "%d вещи", "c": "%[2]d из %[1]s"}
	if p := catalogProblems(Russian, en, good); len(p) != 0 {
		t.Fatalf("complete catalog: %v", p)
	}
	cases := map[string]func(m map[string]string){
		"missing ":                  func(m map[string]string) { delete(m, "b") },
		"not in English: z":         func(m map[string]string) { m["z"] = "Я" },
		"not in English: b.few":     func(m map[string]string) { m["b.few"] = "Б" },
		"a: verbs":                  func(m map[string]string) { m["a"] = "А %d" },
		"c: verbs":                  func(m map[string]string) { m["c"] = "%[2]s из %[1]d" },
		"missing plural form n.few": func(m map[string]string) { delete(m, "n.few") },
		"n.many: verbs":             func(m map[string]string) { m["n.many"] = "много вещей" },
	}
	for want, change := range cases {
		tr := map[string]string{}
		for k, v := range good {
			tr[k] = v
		}
		change(tr)
		p := catalogProblems(Russian, en, tr)
		if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), want) {
			t.Errorf("%q: problems %v", want, p)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		fn   func(string) (Lang, bool)
		in   string
		want Lang
		ok   bool
	}{
		{MatchLocale, "ru", Russian, true},
		{MatchLocale, "ru-RU", Russian, true},
		{MatchLocale, "en-GB", English, true},
		{MatchLocale, "de", English, false},
		{MatchLocale, "not a tag", English, false},
		{MatchLocale, "", English, false},
		{MatchUILocales, "de ru en", Russian, true},
		{MatchUILocales, "fr-CA fr en", English, true},
		{MatchUILocales, "!! ru", Russian, true},
		{MatchUILocales, "ja", English, false},
		{MatchAcceptLanguage, "de-DE,ru;q=0.9,en;q=0.8", Russian, true},
		{MatchAcceptLanguage, "en;q=0.5,ru-RU", Russian, true},
		{MatchAcceptLanguage, "en-US,en;q=0.9", English, true},
		{MatchAcceptLanguage, "zh", English, false},
		{MatchAcceptLanguage, "", English, false},
	} {
		got, ok := c.fn(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		l    Lang
		n    int
		want string
	}{
		{English, 1, "1 active session"},
		{English, 0, "0 active sessions"},
		{English, 21, "21 active sessions"},
		{Russian, 1, "1 активный сеанс"},
		{Russian, 21, "21 активный сеанс"},
		{Russian, 3, "3 активных сеанса"},
		{Russian, 24, "24 активных сеанса"},
		{Russian, 5, "5 активных сеансов"},
		{Russian, 11, "11 активных сеансов"},
		{Russian, 112, "112 активных сеансов"},
	} {
		if got := c.l.N("account.sessions", c.n); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.l, c.n, got, c.want)
		}
	}
	if got := Tr(WithLang(context.Background(), Russian), "login.submit"); got != "Войти" {
		t.Errorf("Tr ru: %q", got)
	}
	if got := Tr(context.Background(), "login.submit"); got != "Log in" {
		t.Errorf("Tr default: %q", got)
	}
}

// TestRussianPage renders pages in Russian: the texts, <html lang> and the error page's
// fallbacks follow the request's language.
func TestRussianPage(t *testing.T) {
	tpl := mustNew(t)
	r := httptest.NewRequest(http.MethodGet, "/login", nil)
	r = r.WithContext(WithLang(r.Context(), Russian))
	rec := httptest.NewRecorder()
	if err := tpl.Render(rec, r, http.StatusOK, "login", pageData{AppName: "Демо"}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	for _, want := range []string{`<html lang="ru">`, "Вход в Facet", "чтобы продолжить в Демо", ">Войти</button>"} {
		if !strings.Contains(body, want) {
			t.Errorf("login in Russian lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Log in to Facet") {
		t.Error("English heading on the Russian page")
	}
	rec = httptest.NewRecorder()
	if err := tpl.Render(rec, r, http.StatusNotFound, "error", ErrorPage{Status: 404}); err != nil {
		t.Fatal(err)
	}
	if body := rec.Body.String(); !strings.Contains(body, "Страница не найдена") {
		t.Errorf("error page in Russian:\n%s", body)
	}
	rec = httptest.NewRecorder()
	if err := tpl.Render(rec, httptest.NewRequest(http.MethodGet, "/login", nil), http.StatusOK, "login", pageData{}); err != nil {
		t.Fatal(err)
	}
	if body := rec.Body.String(); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Log in to Facet") {
		t.Errorf("default page is not English:\n%s", body)
	}
}

func TestFormat(t *testing.T) {
	birth := time.Date(1990, time.December, 10, 0, 0, 0, 0, time.UTC)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.May, 3, 21, 4, 5, 0, time.UTC).In(moscow)
	for _, c := range []struct{ got, want string }{
		{English.Date(birth), "10 December 1990"},
		{Russian.Date(birth), "10 декабря 1990 г."},
		{Russian.Date(time.Date(2001, time.May, 1, 0, 0, 0, 0, time.UTC)), "1 мая 2001 г."},
		{English.DateTime(at), "4 May 2026, 00:04:05"},
		{Russian.DateTime(at), "4 мая 2026, 00:04:05"},
		{English.Number(1234567), "1,234,567"},
		{Russian.Number(1234567), "1\u00a0234\u00a0567"},
		{Russian.N("account.sessions", 1234), "1\u00a0234 активных сеанса"},
		{English.T("contacts.photo.dimensions", 16, 4000), "The image is too large. Use at most 16 megapixels (4000×4000 pixels, say) and at most 4,000 pixels on a side."},
		{English.LanguageName("de-CH"), "Swiss High German — Schweizer Hochdeutsch"},
		{Russian.LanguageName("de"), "немецкий — Deutsch"},
		{Russian.LanguageName("ru"), "русский"},
		{Russian.LanguageName("ru-RU"), "русский (Россия)"},
		{English.LanguageName("ru-RU"), "Russian (Russia) — русский"},
		{Russian.LanguageName("not a tag"), "not a tag"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchAcceptLanguage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if l, _ := MatchAcceptLanguage("de-DE,de;q=0.9,ru;q=0.8,en;q=0.7"); l != Russian {
			b.Fatal(l)
		}
	}
}

func BenchmarkT(b *testing.B) {
	for _, l := range Languages() {
		b.Run(string(l), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = l.T("contacts.code.wrong", 3)
			}
		})
	}
}

func BenchmarkRenderLogin(b *testing.B) {
	tpl := mustNew(b)
	for _, l := range Languages() {
		b.Run(string(l), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tpl.RenderLang(httptest.NewRecorder(), l, 200, "login", pageData{AppName: "Demo"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
