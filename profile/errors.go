package profile

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/facetid/facet/templates"
)

// Error is an action refused for a reason the person is told: the HTTP status and API error
// code, the catalog message a person reads (with its arguments), the form field it belongs to
// (empty for the whole form), and for 429 how long to wait. Every module of the personal
// account answers with it; anything else is an internal error, logged and shown as a 500
// with the request id, never its text.
type Error struct {
	Status     int
	Code       string
	Msg        string
	Args       []any
	Field      string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code }

// Text is the message a person reads, in l.
func (e *Error) Text(l templates.Lang) string { return l.T(e.Msg, e.Args...) }

// Refuse is an Error for the whole form or request.
func Refuse(status int, code, msg string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: msg, Args: args}
}

// InvalidField is a 422 validation_failed Error on one form field.
func InvalidField(field, msg string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Msg: msg, Args: args, Field: field}
}

// AsError returns err's *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// SetRetryAfter writes the Retry-After header of a 429.
func SetRetryAfter(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusTooManyRequests && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// APIError answers an account API call with err: its status and code for an *Error, a 500
// (or 503) otherwise.
func (h *Handler) APIError(w http.ResponseWriter, r *http.Request, what string, err error) {
	e, ok := AsError(err)
	if !ok {
		h.APIServerError(w, r, what, err)
		return
	}
	SetRetryAfter(w, e)
	text := e.Text(templates.LangFrom(r.Context()))
	if e.Field != "" {
		writeAPIError(w, e.Status, apiError{Error: e.Code, Description: text, Fields: map[string]string{e.Field: text}})
		return
	}
	WriteAPIError(w, e.Status, e.Code, text)
}
