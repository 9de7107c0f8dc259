package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/facetid/facet/oauth/introspect"
	"github.com/facetid/facet/storage"
)

// handleToken is the token endpoint (RFC 6749 §3.2) as Endpoints serve it: a code exchange
// that starts a refresh-token family is recorded in the user's activity log (one INSERT; a
// refresh continues a family and records nothing).
func (p *Endpoints) handleToken(w http.ResponseWriter, r *http.Request) {
	p.serveToken(w, r, p.activity)
}

// handleToken is the token endpoint without an activity log.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	p.serveToken(w, r, noActivity{})
}

// serveToken is the token endpoint (RFC 6749 §3.2): authorization_code (+PKCE),
// refresh_token and client_credentials.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request, activity ActivityRecorder) {
	ctx := r.Context()
	if p.cfg.RefreshGrace > 0 && r.PostForm.Get("grant_type") == "refresh_token" {
		// tokenInput parsed the form already.
		ctx = withRefreshGrace(ctx)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if name, ok := repeatedParameter(r.Form, tokenParameter); ok {
		// RFC 6749 §3.2: a parameter must not be included more than once (params.go).
		p.accessError(w, r, nil, fosite.ErrInvalidRequest.WithHintf("The %s parameter is included more than once.", name))
		return
	}
	ar, err := p.oauth.NewAccessRequest(ctx, r, newSession())
	if err != nil {
		if gt := r.PostForm.Get("grant_type"); gt != "" && !slices.Contains(supportedGrantTypes, gt) {
			// fosite answers invalid_request when no handler takes a grant; RFC 6749 §5.2
			// names this case (password, implicit, device code, ...).
			err = fosite.ErrUnsupportedGrantType.WithHintf("Facet does not support grant_type %q.", gt)
		}
		p.accessError(w, r, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// The client acts for itself: it gets the scopes and audiences it asked for (fosite
		// already checked them against its registration), never user-facing OpenID scopes.
		for _, s := range ar.GetRequestedScopes() {
			if s != "openid" && s != "offline_access" {
				ar.GrantScope(s)
			}
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		if sess, ok := ar.GetSession().(*Session); ok {
			sess.Subject = ar.GetClient().GetID()
			sess.GrantedAt = p.now()
		}
	}
	resp, err := p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		p.accessError(w, r, ar, err)
		return
	}
	p.issued.WithLabelValues(strings.Join(ar.GetGrantTypes(), " ")).Inc()
	if familyStarted(ar, resp) {
		activity.RecordAppActivity(r, ar.GetSession().GetSubject(), AppActivity{Kind: ActivityOffline,
			ClientID: ar.GetClient().GetID(), Details: map[string]string{DetailScopes: detailList(ar.GetGrantedScopes())}})
	}
	p.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

func (p *Provider) accessError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if fault, ok := serverFault(err); ok && !spent(rfc) {
		// Not the client's doing, whatever fosite wrapped it in (invalid_client when the
		// client lookup failed, invalid_grant when the code lookup did).
		p.logFault(w, r, "token request failed", fault, err)
		p.oauth.WriteAccessError(r.Context(), w, ar, sanitize(fault))
		return
	}
	if spent(rfc) {
		// A concurrent request redeemed the same code first: fosite wraps the storage conflict
		// as server_error, but the grant is simply spent (RFC 6749 §4.1.2, single-use codes).
		// fosite also reads the code a second time when issuing the tokens, and wraps the
		// "already used" it may find then as server_error too.
		err = fosite.ErrInvalidGrant.WithHint("The authorization code or refresh token was used by a concurrent request.")
		rfc = fosite.ErrorToRFC6749Error(err)
	}
	if rfc.ErrorField == fosite.ErrInvalidRequest.ErrorField && ar != nil && ar.GetGrantTypes().ExactOne("refresh_token") &&
		(errors.Is(rfc.Cause(), fosite.ErrSerializationFailure) || errors.Is(rfc.Cause(), fosite.ErrNotFound) ||
			errors.Is(rfc.Cause(), fosite.ErrInactiveToken)) {
		// A concurrent request rotated (or reuse detection deleted) the refresh token between
		// our read and our write. fosite asks the client to "retry the request", but the token
		// is spent: RFC 6749 §5.2 names this invalid_grant, and a retry with it is a reuse
		// (answered by the reuse grace, or by revoking the family).
		err = fosite.ErrInvalidGrant.WithHint("The refresh token was used by a concurrent request.")
		rfc = fosite.ErrorToRFC6749Error(err)
	}
	if rfc.CodeField == http.StatusUnauthorized {
		introspect.Challenge(w, r, p.cfg.Issuer)
	}
	level := "token request refused"
	if rfc.CodeField >= 500 {
		p.logger.ErrorContext(r.Context(), level, "error", rfc.ErrorField, "debug", rfc.DebugField, "cause", rfc.Cause())
	} else {
		p.logger.InfoContext(r.Context(), level, "error", rfc.ErrorField, "hint", rfc.HintField)
	}
	p.oauth.WriteAccessError(r.Context(), w, ar, sanitize(err))
}

// spent reports whether rfc is fosite's server_error around a lost race for a code or
// refresh token (see accessError).
func spent(rfc *fosite.RFC6749Error) bool {
	return rfc.CodeField >= 500 && (errors.Is(rfc.Cause(), fosite.ErrSerializationFailure) ||
		errors.Is(rfc.Cause(), fosite.ErrInvalidatedAuthorizeCode))
}

// handleRevoke is the revocation endpoint (RFC 7009); the client authenticates.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if _, ok := p.authenticateClient(w, r, "revocation"); !ok {
		return
	}
	ctx, noted := withFaults(r.Context())
	err := p.oauth.NewRevocationRequest(ctx, r)
	if fault, ok := serverFault(err); ok {
		// fosite writes any error other than invalid_request and invalid_client as 200: a
		// revocation that did not happen must not look done (RFC 7009 §2.2.1 allows
		// temporarily_unavailable for exactly this). fosite says temporarily_unavailable for
		// any failed lookup; what the store met tells an outage from another fault.
		if len(noted.errs) > 0 {
			fault = failure(errors.Join(noted.errs...))
		}
		p.writeFault(w, r, "revocation failed", fault, err, noted.errs...)
		return
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		p.logger.InfoContext(r.Context(), "revocation refused", "error", rfc.ErrorField, "hint", rfc.HintField)
		err = sanitize(err)
	}
	p.oauth.WriteRevocationResponse(r.Context(), w, err)
}

// handleIntrospect is the introspection endpoint (RFC 7662). The caller authenticates as a
// confidential client (HTTP Basic, or the secret in the body for a client registered with
// client_secret_post; a Bearer header is not client authentication). It learns only about
// tokens issued to it or naming it in their audience (oauth/introspect); any other token is
// {"active": false}.
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	caller, ok := p.authenticateClient(w, r, "introspection")
	if !ok {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		p.oauth.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return
	}
	tu, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.TokenUse(r.PostForm.Get("token_type_hint")), newSession())
	if err != nil {
		err = fosite.ErrInactiveToken.WithWrap(err)
	}
	if fault, ok := serverFault(err); ok {
		// Neither "invalid_client" nor "active": false: the token may well be active
		// (RFC 7662 §2.2 "active": false means the token is not).
		p.writeFault(w, r, "introspection failed", fault, err)
		return
	}
	if err != nil || !introspect.Visible(caller.c.ID, ar.GetClient().GetID(), ar.GetGrantedAudience()) {
		introspect.Write(w, introspect.Response{})
		return
	}
	extra, err := p.introspectionClaims(ctx, ar)
	if err != nil {
		p.writeFault(w, r, "introspection claims", failure(err), err)
		return
	}
	resp := introspect.Response{Active: true, Issuer: p.cfg.Issuer, ClientID: ar.GetClient().GetID(),
		Subject: ar.GetSession().GetSubject(), Scope: strings.Join(ar.GetGrantedScopes(), " "),
		Audience: ar.GetGrantedAudience(), IssuedAt: ar.GetRequestedAt(), Extra: extra,
		Expires: ar.GetSession().GetExpiresAt(fosite.RefreshToken)}
	if tu == fosite.AccessToken {
		resp.TokenType, resp.Expires = "Bearer", ar.GetSession().GetExpiresAt(fosite.AccessToken)
	}
	introspect.Write(w, resp)
}

// authenticateClient authenticates the client of an introspection or revocation request
// (a public client by its id alone, at revocation only). It answers invalid_client (401,
// with WWW-Authenticate after HTTP Basic) itself and returns ok=false when it fails.
func (p *Provider) authenticateClient(w http.ResponseWriter, r *http.Request, what string) (*client, bool) {
	ctx := r.Context()
	used := introspect.Method(r)
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	var err error
	if u, s, ok := r.BasicAuth(); ok {
		var err2 error
		id, err = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(s)
		err = errors.Join(err, err2)
	}
	var c *client
	if err == nil && used != "" {
		c, err = p.clients.get(ctx, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			p.writeFault(w, r, what+" client lookup", failure(err), err)
			return nil, false
		}
	}
	switch {
	case used == "" || err != nil || c == nil:
	case !introspect.MethodAllowed(c.c.TokenEndpointAuthMethod, c.c.Public, used):
	case c.c.Public && what == "introspection":
	case c.c.Public || (secretHasher{}).Compare(ctx, c.c.SecretHash, []byte(secret)) == nil:
		return c, true
	}
	p.logger.InfoContext(ctx, what+" refused", "error", "invalid_client", "method", used)
	introspect.Challenge(w, r, p.cfg.Issuer)
	p.oauth.WriteAccessError(ctx, w, nil, sanitize(fosite.ErrInvalidClient))
	return nil, false
}

// sanitize rebuilds err with an error_description limited to RFC 6749 §5.2's character set
// (%x20-21 / %x23-5B / %x5D-7E) and a sane length; the original stays in the logs.
func sanitize(err error) error {
	rfc := fosite.ErrorToRFC6749Error(err)
	return &fosite.RFC6749Error{
		ErrorField:       rfc.ErrorField,
		DescriptionField: sanitizeDescription(rfc.GetDescription()),
		CodeField:        rfc.CodeField,
	}
}

func sanitizeDescription(s string) string {
	const maxLen = 300
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c >= 0x20 && c <= 0x7e:
			b.WriteRune(c)
		case c == '\n' || c == '\t':
			b.WriteByte(' ')
		}
	}
	return strings.TrimSpace(b.String())
}

// cors allows any origin to call the endpoint without credentials: OIDC clients in
// browsers read discovery, JWKS and userinfo and call the token endpoint cross-origin
// (no cookies are involved, so no origin is trusted with anything).
func cors(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next(w, r)
	}
}
