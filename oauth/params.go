package oauth

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// RFC 6749 §3.1 and §3.2: "Request and response parameters MUST NOT be included more than
// once", and "the authorization server MUST ignore unrecognized request parameters". A
// repeated parameter is ambiguous (fosite reads the first value, a proxy or a log may read
// another), so a repeated parameter Facet recognises is invalid_request; unknown ones stay
// ignored. audience (fosite) and resource (RFC 8707 §2) may be repeated by definition.

// authorizeParameter reports whether name is an authorization request parameter Facet reads:
// RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1, §5.2, §5.5 and §6.
func authorizeParameter(name string) bool {
	switch name {
	case "response_type", "client_id", "redirect_uri", "scope", "state",
		"code_challenge", "code_challenge_method",
		"response_mode", "nonce", "display", "prompt", "max_age", "ui_locales", "claims_locales",
		"id_token_hint", "login_hint", "acr_values", "claims", "request", "request_uri", "registration":
		return true
	}
	return false
}

// tokenParameter reports whether name is a token request parameter Facet reads: RFC 6749
// §2.3.1, §4.1.3, §4.4.2 and §6, RFC 7636 §4.5, RFC 7521 §4.2.
func tokenParameter(name string) bool {
	switch name {
	case "grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
		"refresh_token", "scope", "client_assertion", "client_assertion_type":
		return true
	}
	return false
}

// repeatedParameter returns a parameter of form that known recognises and that appears more
// than once. It reads the parsed form as it is and allocates nothing.
func repeatedParameter(form url.Values, known func(string) bool) (string, bool) {
	for name, values := range form {
		if len(values) > 1 && known(name) {
			return name, true
		}
	}
	return "", false
}

// validCodeChallenge reports whether s has the form of a PKCE code challenge: RFC 7636 §4.2
// derives it from a verifier of 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." /
// "_" / "~" (§4.1), and S256's base64url of a SHA-256 hash is 43 of them. Anything else can
// never match a verifier, and refusing it at the authorization endpoint tells the client
// at once, instead of after the user has signed in and consented.
func validCodeChallenge(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// newAuthorizeRequest is fosite's NewAuthorizeRequest plus the checks fosite leaves out:
// no repeated parameter, and a well-formed code_challenge. The authorization endpoint and
// the consent form (which carries the request again) both read requests through it. When
// client_id or redirect_uri is the repeated one, where to answer is itself ambiguous, so the
// error gets a page rather than a redirect (RFC 6749 §4.1.2.1).
func (p *Provider) newAuthorizeRequest(ctx context.Context, r *http.Request) (fosite.AuthorizeRequester, error) {
	// Request objects (RFC 9101, OIDC Core §6) are not supported: the request is parsed
	// without them, so that a known client and redirect URI get request_not_supported or
	// request_uri_not_supported at the redirect URI (OIDC Core §6.3.3), not an error page.
	var refused *fosite.RFC6749Error
	switch {
	case r.Form.Get("request") != "":
		refused = fosite.ErrRequestNotSupported.WithHint("Facet does not support request objects; send the parameters in the query.")
	case r.Form.Get("request_uri") != "":
		refused = fosite.ErrRequestURINotSupported.WithHint("Facet does not support request_uri.")
	}
	if refused != nil {
		for _, k := range []string{"request", "request_uri"} {
			r.Form.Del(k)
			r.PostForm.Del(k)
		}
	}
	ar, err := p.oauth.NewAuthorizeRequest(ctx, r)
	if refused != nil && err == nil {
		return ar, refused
	}
	if name, ok := repeatedParameter(r.Form, authorizeParameter); ok {
		if name == "client_id" || name == "redirect_uri" {
			ar = nil
		}
		return ar, fosite.ErrInvalidRequest.WithHintf("The %s parameter is included more than once.", name)
	}
	if err != nil {
		return ar, err
	}
	if cc := ar.GetRequestForm().Get("code_challenge"); cc != "" && !validCodeChallenge(cc) {
		return ar, fosite.ErrInvalidRequest.WithHint("The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~' (RFC 7636 section 4.2).")
	}
	return ar, nil
}
