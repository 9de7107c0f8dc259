package profile

import (
	"context"
	"net/http"
	"net/url"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// langSource is where a request's language came from, strongest first.
type langSource int

const (
	langFromUser langSource = iota + 1
	langFromUILocales
	langFromBrowser
	langDefault
)

type langSourceKey struct{}

// WithLanguage is the middleware that chooses the language of every page and message a
// request answers with (Language) and carries it in the request's context, where
// templates.Render and templates.Tr read it.
func (h *Handler) WithLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, src := h.language(r)
		ctx := context.WithValue(templates.WithLang(r.Context(), l), langSourceKey{}, src)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Language chooses r's language from, in order: the signed-in user's locale profile field;
// the ui_locales of the authorization request r belongs to (OIDC Core 1.0 §3.1.2.1: on the
// authorization endpoint itself, or on the login, registration and completion pages it
// sends the browser to, through their return_to); the browser's Accept-Language; English.
// A preference the catalog does not speak passes to the next one.
func (h *Handler) Language(r *http.Request) templates.Lang {
	l, _ := h.language(r)
	return l
}

func (h *Handler) language(r *http.Request) (templates.Lang, langSource) {
	if l, ok := h.userLanguage(r); ok {
		return l, langFromUser
	}
	if l, ok := templates.MatchUILocales(uiLocales(r.URL.Query())); ok {
		return l, langFromUILocales
	}
	if l, ok := templates.MatchAcceptLanguage(r.Header.Get("Accept-Language")); ok {
		return l, langFromBrowser
	}
	return templates.English, langDefault
}

// userLanguage is the language of the locale field of r's signed-in user. A request without
// a session cookie costs nothing; when the session or the profile cannot be read, the next
// preference decides (the handler meets the same failure and answers it).
func (h *Handler) userLanguage(r *http.Request) (templates.Lang, bool) {
	if h.sessions.Token(r) == "" {
		return "", false
	}
	s, ok, err := h.Current(r)
	if err != nil || !ok {
		return "", false
	}
	fields, err := h.Store.GetProfileFields(r.Context(), s.UserID)
	if err != nil {
		h.Logger.WarnContext(r.Context(), "read locale for the page language", "err", err)
		return "", false
	}
	return localeOf(fields)
}

// localeOf is the catalog language of the locale field among a user's fields, and false
// when there is none or the catalog does not speak it.
func localeOf(fields []storage.ProfileField) (templates.Lang, bool) {
	for _, f := range fields {
		if f.Field == "locale" {
			return templates.MatchLocale(f.Value)
		}
	}
	return "", false
}

// uiLocales is the ui_locales parameter in q, or in the authorization request q's return_to
// leads back to.
func uiLocales(q url.Values) string {
	if v := q.Get("ui_locales"); v != "" {
		return v
	}
	if rt := q.Get("return_to"); rt != "" {
		if u, err := url.Parse(SafeReturnTo(rt)); err == nil {
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
func (h *Handler) FormLanguage(r *http.Request) *http.Request {
	if src, _ := r.Context().Value(langSourceKey{}).(langSource); src == langFromUser || src == langFromUILocales {
		return r
	}
	l, ok := templates.MatchUILocales(uiLocales(r.Form))
	if !ok {
		return r
	}
	ctx := context.WithValue(templates.WithLang(r.Context(), l), langSourceKey{}, langFromUILocales)
	return r.WithContext(ctx)
}
