// Package locale chooses the language a request is answered in (the user's locale field,
// the authorization request's ui_locales, Accept-Language, English) and builds the language
// and time zone pickers of the profile form. It reads no storage itself: profile tells it the
// signed-in user's language. It imports templates and zones, never profile.
package locale

import (
	"context"
	"net/http"
	"net/url"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// source is where a request's language came from, strongest first.
type source int

const (
	fromUser source = iota + 1
	fromUILocales
	fromBrowser
	fromDefault
)

type sourceKey struct{}

// Chooser chooses a request's language. UserLanguage is the language of the locale field of
// the request's signed-in user, false when there is none (no session, no field, a language
// the catalog does not speak, or a failure the handler will meet and answer); ReturnTo makes
// a return_to parameter safe to follow (profile.SafeReturnTo); without it return_to is not
// read.
type Chooser struct {
	UserLanguage func(r *http.Request) (templates.Lang, bool)
	ReturnTo     func(string) string
}

// Middleware chooses the language of every page and message a request answers with
// (Language) and carries it in the request's context, where templates.Render and
// templates.Tr read it.
func (c Chooser) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, src := c.language(r)
		ctx := context.WithValue(templates.WithLang(r.Context(), l), sourceKey{}, src)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Language chooses r's language from, in order: the signed-in user's locale profile field;
// the ui_locales of the authorization request r belongs to (OIDC Core 1.0 §3.1.2.1: on the
// authorization endpoint itself, or on the login, registration and completion pages it
// sends the browser to, through their return_to); the browser's Accept-Language; English.
// A preference the catalog does not speak passes to the next one.
func (c Chooser) Language(r *http.Request) templates.Lang {
	l, _ := c.language(r)
	return l
}

func (c Chooser) language(r *http.Request) (templates.Lang, source) {
	if c.UserLanguage != nil {
		if l, ok := c.UserLanguage(r); ok {
			return l, fromUser
		}
	}
	if l, ok := templates.MatchUILocales(c.uiLocales(r.URL.Query())); ok {
		return l, fromUILocales
	}
	if l, ok := templates.MatchAcceptLanguage(r.Header.Get("Accept-Language")); ok {
		return l, fromBrowser
	}
	return templates.English, fromDefault
}

// Of is the catalog language of the locale field among a user's fields, and false when there
// is none or the catalog does not speak it.
func Of(fields []storage.ProfileField) (templates.Lang, bool) {
	for _, f := range fields {
		if f.Field == "locale" {
			return templates.MatchLocale(f.Value)
		}
	}
	return "", false
}

// uiLocales is the ui_locales parameter in q, or in the authorization request q's return_to
// leads back to.
func (c Chooser) uiLocales(q url.Values) string {
	if v := q.Get("ui_locales"); v != "" {
		return v
	}
	if rt := q.Get("return_to"); rt != "" && c.ReturnTo != nil {
		if u, err := url.Parse(c.ReturnTo(rt)); err == nil {
			return u.Query().Get("ui_locales")
		}
	}
	return ""
}

// FormLanguage returns r with the language of the ui_locales its form carries, directly (an
// authorization request posted to the authorization endpoint, or the consent form carrying
// it on) or in its return_to (the login, registration and completion forms), for a handler
// answering with a page: the page stays in the language the authorization request asked
// for. The user's own locale field still wins. Call it after the form is parsed.
func (c Chooser) FormLanguage(r *http.Request) *http.Request {
	if src, _ := r.Context().Value(sourceKey{}).(source); src == fromUser || src == fromUILocales {
		return r
	}
	l, ok := templates.MatchUILocales(c.uiLocales(r.Form))
	if !ok {
		return r
	}
	ctx := context.WithValue(templates.WithLang(r.Context(), l), sourceKey{}, fromUILocales)
	return r.WithContext(ctx)
}
