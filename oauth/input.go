package oauth

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// Bad input: every endpoint reads its request through readInput before fosite or a
// handler sees it. A body larger than maxBody, a form that does not parse, or a parameter or
// client credential that is not valid UTF-8 is refused up front with the endpoint's own kind
// of error (an OAuth2 JSON error, a bearer error or a readable HTML page), so no half-read
// form reaches fosite, nothing is stored, and no invalid byte sequence reaches the database
// (PostgreSQL refuses it with an error that would otherwise surface as a 5xx).

// errBodyTooLarge and errBadForm are what readInput found wrong.
var (
	errBodyTooLarge = errors.New("request body too large")
	errBadForm      = errors.New("request form does not parse")
	errNotUTF8      = errors.New("request parameter is not valid UTF-8 or contains NUL")
)

// readInput bounds the body, parses the form (query and, for form bodies, the body) and
// checks that every parameter name and value and the Basic credentials are valid UTF-8.
func readInput(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errBodyTooLarge
		}
		return errBadForm
	}
	if !utf8Values(r.Form) {
		return errNotUTF8
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// fosite form-decodes the Basic credentials (RFC 6749 §2.3.1); check what it will use.
		if id, err = url.QueryUnescape(id); err != nil {
			return errBadForm
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return errBadForm
		}
		if !storage.ValidText(id) || !storage.ValidText(secret) {
			return errNotUTF8
		}
	}
	if !utf8.ValidString(r.Header.Get("Authorization")) {
		return errNotUTF8
	}
	return nil
}

// utf8Values reports whether every name and value is text the database can hold
// (storage.ValidText: valid UTF-8 without NUL), the check cmd applies to every other route.
func utf8Values(v url.Values) bool {
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

// inputError is the OAuth2 error for a readInput failure: invalid_request (RFC 6749 §5.2),
// whose description says what to fix.
func inputError(err error) *fosite.RFC6749Error {
	switch {
	case errors.Is(err, errBodyTooLarge):
		return fosite.ErrInvalidRequest.WithHint("The request body is larger than Facet accepts.")
	case errors.Is(err, errNotUTF8):
		return fosite.ErrInvalidRequest.WithHint("A request parameter is not valid UTF-8 or contains a NUL character.")
	}
	return fosite.ErrInvalidRequest.WithHint("The request body is not a valid form.")
}

// Wrappers per kind of endpoint; each answers a bad request the way its endpoint answers
// every other error.

// tokenInput guards the token endpoint: an RFC 6749 §5.2 JSON error.
func (p *Provider) tokenInput(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readInput(w, r); err != nil {
			p.logger.InfoContext(r.Context(), "token request refused", "error", "invalid_request", "reason", err.Error())
			p.oauth.WriteAccessError(r.Context(), w, nil, sanitize(inputError(err)))
			return
		}
		next(w, r)
	}
}

// revokeInput guards the revocation endpoint (RFC 7009 §2.2.1: invalid_request as JSON).
func (p *Provider) revokeInput(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readInput(w, r); err != nil {
			p.logger.InfoContext(r.Context(), "revocation refused", "error", "invalid_request", "reason", err.Error())
			p.oauth.WriteRevocationResponse(r.Context(), w, sanitize(inputError(err)))
			return
		}
		next(w, r)
	}
}

// introspectInput guards the introspection endpoint (RFC 7662 §2.3: invalid_request).
func (p *Provider) introspectInput(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readInput(w, r); err != nil {
			p.logger.InfoContext(r.Context(), "introspection refused", "error", "invalid_request", "reason", err.Error())
			p.oauth.WriteIntrospectionError(r.Context(), w, sanitize(inputError(err)))
			return
		}
		next(w, r)
	}
}

// userinfoInput guards the UserInfo endpoint: an RFC 6750 §3.1 invalid_request.
func (p *Provider) userinfoInput(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readInput(w, r); err != nil {
			w.Header().Set("Cache-Control", "no-store")
			p.bearerError(w, r, http.StatusBadRequest, "invalid_request", inputError(err).GetDescription())
			return
		}
		next(w, r)
	}
}

// pageInput guards the endpoints a person's browser visits (authorize, consent,
// end_session, logout confirmation): a readable HTML page, never a redirect, since
// parameters that do not parse cannot be trusted to say where to.
func (p *Provider) pageInput(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readInput(w, r); err != nil {
			p.logger.InfoContext(r.Context(), "browser request refused", "path", r.URL.Path, "reason", err.Error())
			status := http.StatusBadRequest
			if errors.Is(err, errBodyTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			p.errorPage(w, r, status, "", "", "")
			return
		}
		next(w, r)
	}
}

// validClientID reports whether id can name a client at all: valid UTF-8 and not absurdly
// long. Anything else is not looked up (see clientCache.get).
func validClientID(id string) bool {
	return id != "" && len(id) <= 256 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}
