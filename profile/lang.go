package profile

import (
	"net/http"

	"github.com/facetid/facet/profile/locale"
	"github.com/facetid/facet/templates"
)

// The language choice is profile/locale's; profile tells it the signed-in user's language
// (userLanguage), and these are the kit's doors to it.

// WithLanguage is the middleware that chooses the language of every page and message a
// request answers with (Language) and carries it in the request's context, where
// templates.Render and templates.Tr read it.
func (h *Handler) WithLanguage(next http.Handler) http.Handler { return h.lang.Middleware(next) }

// Language chooses r's language from, in order: the signed-in user's locale profile field;
// the ui_locales of the authorization request r belongs to (directly or through return_to);
// the browser's Accept-Language; English.
func (h *Handler) Language(r *http.Request) templates.Lang { return h.lang.Language(r) }

// FormLanguage returns r with the language of the ui_locales its parsed form carries
// (directly or in its return_to), unless the user's own locale field or the query's
// ui_locales chose already (locale.Chooser.FormLanguage).
func (h *Handler) FormLanguage(r *http.Request) *http.Request { return h.lang.FormLanguage(r) }

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
	return locale.Of(fields)
}
