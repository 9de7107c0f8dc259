package profile

import (
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
