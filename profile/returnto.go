package profile

import (
	"context"
	"net/url"
	"strings"
)

// maxReturnTo bounds a return_to; an authorization request with its parameters fits easily.
const maxReturnTo = 4096

// SafeReturnTo returns s when it is a same-origin path, else "/". Anything a browser could
// read as another origin is refused: a scheme ("https://evil", "javascript:"), a
// scheme-relative "//evil" and its backslash twin "/\evil" (browsers treat \ as /), and any
// control character or space (browsers drop tab and newline, so "/\t/evil" would become
// "//evil"). Our own return_to parameters are same-origin paths, so the login page is no open
// redirector (RFC 6749 §10.15).
func SafeReturnTo(s string) string {
	if s == "" || len(s) > maxReturnTo || s[0] != '/' {
		return "/"
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "/"
		}
	}
	// Backslashes nowhere: no path of ours needs one, and they are read as "/" by browsers.
	if strings.ContainsRune(s, '\\') {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return s
}

// WithReturnTo appends a return_to parameter to path unless it is the default "/".
func WithReturnTo(path, returnTo string) string {
	if returnTo == "" || returnTo == "/" {
		return path
	}
	return path + "?" + url.Values{"return_to": {returnTo}}.Encode()
}

// Flow is the authorization request waiting in a flow page's return_to: the app it comes
// from and the form that cancels it (the app then receives access_denied).
type Flow struct {
	AppName      string
	CancelAction string
	CancelFields []HiddenField
}

// HiddenField is one hidden input of a form a page carries on to another module.
type HiddenField struct{ Name, Value string }

// FlowFinder returns the authorization request waiting in returnTo: ok is false when
// returnTo holds none (any other path, an unknown app). oauth answers it; cmd wires it.
type FlowFinder func(ctx context.Context, returnTo string) (f Flow, ok bool, err error)

// Flow is FlowFinder's answer for returnTo, or no flow when none is wired.
func (h *Handler) Flow(ctx context.Context, returnTo string) (Flow, bool, error) {
	if h.Flows == nil || returnTo == "" || returnTo == "/" {
		return Flow{}, false, nil
	}
	return h.Flows(ctx, returnTo)
}
