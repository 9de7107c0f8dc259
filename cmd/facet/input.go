package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// validText refuses, before any handler of the browser group runs, a request whose path,
// query, urlencoded form or JSON body carries text the database cannot hold
// (storage.ValidText: NUL or invalid UTF-8); it writes the answer and returns false. Checking
// once here makes both backends answer the same 400 (PostgreSQL would otherwise fail the
// query with a 5xx, SQLite store or miss it) and leaves no page that forgot to check (OWASP
// ASVS V1 "Encoding and Sanitization": validate input at the trusted edge). The protocol
// endpoints check their own input the same way, because they answer with OAuth2 errors.
//
// Form and JSON bodies are read here (observe already bounds them) and handed on unchanged, so
// each handler still applies its own, smaller limit. Multipart bodies (photo uploads) are left
// to their handler: reading them here would buffer an upload before its route's limit.
func validText(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *templates.Templates) bool {
	ok, err := validRequestText(r)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, r, t, logger, templates.ErrorPage{Status: http.StatusRequestEntityTooLarge})
		return false
	case err != nil:
		writeError(w, r, t, logger, templates.ErrorPage{Status: http.StatusBadRequest})
		return false
	case !ok:
		logger.InfoContext(r.Context(), "request refused: text is not valid UTF-8 or holds NUL", "path", r.URL.EscapedPath())
		writeInvalidText(w, r, t, logger)
		return false
	}
	return true
}

// invalidTextMessage says what to fix; it is the description of the 400 page and JSON error.
const invalidTextMessage = "A parameter or field is not valid UTF-8 text or contains a NUL character."

// writeInvalidText answers 400: the account API's JSON error (invalid_request, as its other
// bad bodies) under the API prefix, else the readable error page (JSON for non-browsers).
func writeInvalidText(w http.ResponseWriter, r *http.Request, t *templates.Templates, logger *slog.Logger) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, r, logger, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": invalidTextMessage})
		return
	}
	writeError(w, r, t, logger, templates.ErrorPage{Status: http.StatusBadRequest, Message: invalidTextMessage})
}

// maxCheckedBody is the largest urlencoded or JSON body the text check reads: the bound the
// pages and the account API put on such bodies themselves.
const maxCheckedBody = 64 << 10

// validRequestText checks r's path, query and (urlencoded or JSON) body. err is a failure to
// read the body.
func validRequestText(r *http.Request) (bool, error) {
	if !storage.ValidText(r.URL.Path) {
		return false, nil
	}
	// A query that does not parse is the handler's to refuse; what did parse is checked.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	if !validValues(q) {
		return false, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Body == nil || r.Body == http.NoBody || (ct != "application/x-www-form-urlencoded" && ct != "application/json") {
		return true, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCheckedBody+1))
	if err != nil {
		return false, err
	}
	if len(body) > maxCheckedBody {
		// Larger than any form or JSON body a page accepts: the handler's own bound refuses
		// it (413) before anything reaches a query, so it is passed on unread rather than
		// buffered here for anyone who sends one.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return true, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ct == "application/json" {
		return validJSONText(body), nil
	}
	form, _ := url.ParseQuery(string(body))
	return validValues(form), nil
}

func validValues(v url.Values) bool {
	for k, vs := range v {
		if !storage.ValidText(k) {
			return false
		}
		for _, s := range vs {
			if !storage.ValidText(s) {
				return false
			}
		}
	}
	return true
}

// validJSONText reports whether every string (names included) in a JSON document is valid
// text. JSON carries NUL only as the escape \u0000 (and encoding/json turns invalid UTF-8
// into U+FFFD), so the strings are checked as decoded. A document that does not parse is the
// handler's to refuse.
func validJSONText(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		if s, ok := tok.(string); ok && !storage.ValidText(s) {
			return false
		}
	}
}
