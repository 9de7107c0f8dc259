package templates

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// Lang is a language the message catalog speaks, named by its BCP 47 base tag ("en", "ru").
// The zero Lang reads as English.
type Lang string

// The catalog's languages. English is the default and the reference every other language is
// checked against (TestCatalogComplete).
const (
	English Lang = "en"
	Russian Lang = "ru"
)

// Languages lists the catalog's languages, English first.
func Languages() []Lang { return []Lang{English, Russian} }

// Tag is l as a language.Tag.
func (l Lang) Tag() language.Tag {
	if l == Russian {
		return language.Russian
	}
	return language.English
}

// matcher picks one of Languages for a wanted tag. Its order is Languages' order, so index i
// is Languages()[i].
var matcher = language.NewMatcher([]language.Tag{language.English, language.Russian})

// match returns the catalog language closest to the wanted tags (best first), and false when
// none of them is one the catalog speaks (a dialect counts: "ru-RU" is Russian).
func match(want []language.Tag) (Lang, bool) {
	if len(want) == 0 {
		return English, false
	}
	_, i, c := matcher.Match(want...)
	if c == language.No {
		return English, false
	}
	return Languages()[i], true
}

// MatchLocale returns the catalog language of one BCP 47 tag (a profile's locale field),
// and false when the tag does not parse or the catalog does not speak it.
func MatchLocale(tag string) (Lang, bool) {
	t, err := language.Parse(strings.TrimSpace(tag))
	if err != nil {
		return English, false
	}
	return match([]language.Tag{t})
}

// MatchUILocales returns the catalog language of an OpenID Connect ui_locales value: BCP 47
// tags separated by spaces, most preferred first (OIDC Core 1.0 §3.1.2.1). Tags that do not
// parse are skipped.
func MatchUILocales(s string) (Lang, bool) {
	var want []language.Tag
	for _, f := range strings.Fields(s) {
		if t, err := language.Parse(f); err == nil {
			want = append(want, t)
		}
	}
	return match(want)
}

// MatchAcceptLanguage returns the catalog language of an Accept-Language header (RFC 9110
// §12.5.4: tags weighted by q).
func MatchAcceptLanguage(header string) (Lang, bool) {
	if header == "" {
		return English, false
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return English, false
	}
	return match(tags)
}

type langKey struct{}

// WithLang returns ctx carrying l as the language of the request it belongs to.
func WithLang(ctx context.Context, l Lang) context.Context {
	return context.WithValue(ctx, langKey{}, l)
}

// LangFrom returns the language WithLang put in ctx, English when none.
func LangFrom(ctx context.Context) Lang {
	if l, ok := ctx.Value(langKey{}).(Lang); ok {
		return l
	}
	return English
}

// Tr returns the catalog text for key in ctx's language (LangFrom), formatted with args.
func Tr(ctx context.Context, key string, args ...any) string {
	return LangFrom(ctx).T(key, args...)
}

// TrN returns the plural form of key for the count n in ctx's language (see Lang.N).
func TrN(ctx context.Context, key string, n int, args ...any) string {
	return LangFrom(ctx).N(key, n, args...)
}

// T returns the catalog text for key in l, formatted with args. A key that l lacks falls back
// to English; an unknown key returns the key itself, so a missing text shows up visibly
// instead of as an empty string.
func (l Lang) T(key string, args ...any) string {
	s, err := l.translate(key, args...)
	if err != nil {
		return key
	}
	return s
}

// N returns the plural form of key for the count n in l: the entry key+"."+form, where form
// is the CLDR cardinal category of n in l ("one", "few", "many", "other"; English has one and
// other, Russian one, few, many and other), falling back to key+".other". The text is
// formatted with n followed by args.
func (l Lang) N(key string, n int, args ...any) string {
	return l.T(l.pluralKey(key, n), append([]any{n}, args...)...)
}

// pluralKey is the catalog entry N uses for n.
func (l Lang) pluralKey(key string, n int) string {
	i := n
	if i < 0 {
		i = -i
	}
	form := pluralForms[plural.Cardinal.MatchPlural(l.Tag(), i, 0, 0, 0, 0)]
	if form != "other" {
		if _, ok := l.lookup(key + "." + form); ok {
			return key + "." + form
		}
	}
	return key + ".other"
}

// pluralForms names the CLDR plural categories as the catalog's key suffixes.
var pluralForms = map[plural.Form]string{
	plural.Other: "other",
	plural.Zero:  "zero",
	plural.One:   "one",
	plural.Two:   "two",
	plural.Few:   "few",
	plural.Many:  "many",
}

// translate is the {{T}} template function of l; an unknown key fails the page (and the
// tests).
func (l Lang) translate(key string, args ...any) (string, error) {
	s, ok := l.lookup(key)
	if !ok {
		return "", fmt.Errorf("message %q is not in the catalog", key)
	}
	if len(args) == 0 {
		return s, nil
	}
	return l.sprintf(s, args...), nil
}

// lookup finds key in l's catalog, then in English's.
func (l Lang) lookup(key string) (string, bool) {
	if l == Russian {
		if s, ok := russianMessage(key); ok {
			return s, true
		}
	}
	return message(key)
}

// translatePlural is the {{TN "key" count}} template function of l (see N).
func (l Lang) translatePlural(key string, n int, args ...any) (string, error) {
	return l.translate(l.pluralKey(key, n), append([]any{n}, args...)...)
}
