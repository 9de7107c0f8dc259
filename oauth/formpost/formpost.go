// Package formpost writes authorization responses (RFC 6749 §4.1.2 and §4.1.2.1) in the
// response mode the request asked for: a redirect with the parameters in the query (query,
// the default), in the fragment (an error to a request that asked for fragment, which Facet
// refuses), or the OAuth 2.0 Form Post Response Mode: a page whose form posts the
// parameters to the redirect URI. The form posts itself through templates/static/facet.js —
// a script from our own origin, so the Content-Security-Policy (no inline script, no inline
// handler) holds — and shows a Continue button for browsers without JavaScript.
//
// The parameters go where the response goes, iss (RFC 9207) included: the caller adds iss
// to the parameters and this package never adds anything to the redirect URI's query other
// than a query response's own parameters.
package formpost

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/ory/fosite"

	"github.com/facetid/facet/templates"
)

// Page is the name of the form_post page (templates/formpost.html).
const Page = "formpost"

// Writer writes authorization responses.
type Writer struct {
	Templates *templates.Templates
	Logger    *slog.Logger
}

// Field is one hidden field of the form_post page.
type Field struct{ Name, Value string }

// PageData is the data of formpost.html.
type PageData struct {
	Action string
	Fields []Field
}

// Write answers with params, sent to redirect in mode. redirect is not changed.
func (wr Writer) Write(w http.ResponseWriter, r *http.Request, mode fosite.ResponseModeType, redirect *url.URL, params url.Values) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	u := *redirect
	u.Fragment, u.RawFragment = "", ""
	switch mode {
	case fosite.ResponseModeFormPost:
		page := PageData{Action: u.String()}
		names := make([]string, 0, len(params))
		for k := range params {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			for _, v := range params[k] {
				page.Fields = append(page.Fields, Field{Name: k, Value: v})
			}
		}
		if err := wr.Templates.Render(w, r, http.StatusOK, Page, page); err != nil && wr.Logger != nil {
			wr.Logger.ErrorContext(r.Context(), "render form_post response", "err", err)
		}
		return
	case fosite.ResponseModeFragment:
		loc := u.String()
		if len(params) > 0 {
			loc += "#" + params.Encode()
		}
		h.Set("Location", loc)
	default:
		// The registered redirect URI may carry a query of its own (RFC 6749 §3.1.2): it is
		// kept, and the response's parameters replace any of the same name.
		q := u.Query()
		for k, v := range params {
			q[k] = slices.Clone(v)
		}
		u.RawQuery = q.Encode()
		h.Set("Location", u.String())
	}
	w.WriteHeader(http.StatusSeeOther)
}
