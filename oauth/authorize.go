package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// consentField is the consent form's button; it is removed before fosite re-parses the
// authorization request carried in the form's hidden fields.
const consentField = "facet_consent"

// handleAuthorize is the authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2), GET and
// POST: parse → who is signed in → consent → issue the code.
func (p *Endpoints) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	// pageInput parsed the form: a request posted to this endpoint carries its ui_locales
	// in the body.
	r = p.sessions.FormLanguage(r)
	ar, err := p.newAuthorizeRequest(r.Context(), r)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	if !redirectOK(ar) {
		p.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("The redirect_uri is not registered."))
		return
	}
	user, sess, ok := p.authenticate(w, r, ar)
	if !ok || !p.admitted(w, r, ar, user) || !p.completed(w, r, ar, user) {
		return
	}
	p.decideConsent(w, r, ar, user, sess)
}

// authenticate answers "who is signed in, recently enough?" for an authorization request.
// It writes the response itself (login redirect or error) and returns ok=false when the
// request cannot go on (OIDC Core §3.1.2.1 prompt and max_age). Whether the profile is
// complete enough to go on is completed's question, asked after it.
func (p *Endpoints) authenticate(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester) (storage.User, storage.Session, bool) {
	ctx := r.Context()
	prompt := prompts(ar)
	none := slices.Contains(prompt, "none")
	if none && len(prompt) > 1 {
		p.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values."))
		return storage.User{}, storage.Session{}, false
	}
	maxAge := -1
	if v := ar.GetRequestForm().Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			p.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds."))
			return storage.User{}, storage.Session{}, false
		}
		maxAge = n
	}

	sess, ok, err := p.sessions.Current(r)
	if err != nil {
		p.authorizeError(w, r, ar, failure(err).WithWrap(err))
		return storage.User{}, storage.Session{}, false
	}
	var user storage.User
	if ok {
		user, err = p.store.GetUser(ctx, sess.UserID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			ok = false
		case err != nil:
			p.authorizeError(w, r, ar, failure(err).WithWrap(err))
			return storage.User{}, storage.Session{}, false
		case user.Status == storage.UserPendingDeletion:
			p.pendingDeletion(w, r, ar)
			return storage.User{}, storage.Session{}, false
		case user.Status != storage.UserActive:
			ok = false
		}
	}
	if !ok {
		switch {
		case none:
			p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("No user is signed in."))
		case slices.Contains(prompt, "create"):
			// prompt=create (Initiating User Registration via OpenID Connect 1.0): the
			// registration page, which comes back to this request without prompt=create.
			p.redirectToSignIn(w, r, ar, pathRegister, false)
		default:
			p.redirectToSignIn(w, r, ar, pathLogin, false)
		}
		return storage.User{}, storage.Session{}, false
	}

	// prompt=login and max_age=0 always re-authenticate; max_age>0 when the sign-in is older.
	fresh := !slices.Contains(prompt, "login") && maxAge != 0
	if maxAge > 0 && sess.AuthTime.Add(time.Duration(maxAge)*time.Second).Before(p.now()) {
		fresh = false
	}
	if !fresh {
		if none {
			p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The sign-in is older than max_age."))
		} else {
			p.redirectToSignIn(w, r, ar, pathLogin, true)
		}
		return storage.User{}, storage.Session{}, false
	}
	// Step-up: a session without a second factor proves one on the second step, which comes
	// back here; prompt=none cannot show it.
	if !slices.Contains(sess.AMR, "mfa") {
		need, err := p.needsMFA(ctx, ar)
		if err != nil {
			p.authorizeError(w, r, ar, failure(err).WithWrap(err))
			return storage.User{}, storage.Session{}, false
		}
		if need {
			if none {
				p.authorizeError(w, r, ar, fosite.ErrInteractionRequired.WithHint("The sign-in needs a second factor."))
			} else {
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, PathMFA+"?"+url.Values{"return_to": {authorizeURL(ar)}}.Encode(), http.StatusSeeOther)
			}
			return storage.User{}, storage.Session{}, false
		}
	}
	return user, sess, true
}

// PathPendingDeletion is profile's page for an app's sign-in of an account pending deletion
// (profile.PendingDeletionPath): it tells the person to restore the account in the personal
// account, and lets them go back to the app, which receives access_denied.
const PathPendingDeletion = "/login/pending-deletion"

// pendingDeletion ends an authorization request whose signed-in account waits out its
// recovery window: no app signs it in (the owner deleted it; recovery is for the personal
// account only). prompt=none gets access_denied at once; otherwise the person sees why first.
func (p *Endpoints) pendingDeletion(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester) {
	if slices.Contains(prompts(ar), "none") {
		p.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The account is pending deletion."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, PathPendingDeletion+"?"+url.Values{"return_to": {authorizeURL(ar)}}.Encode(), http.StatusSeeOther)
}

// redirectToSignIn sends the browser to the login (or registration) page, which returns to
// this authorization request afterwards, without prompt=create. With force (prompt=login, max_age) the login page asks again even when
// a session exists, and the return URL no longer says prompt=login or max_age=0, so coming
// back does not loop; max_age>0 stays (the fresh sign-in satisfies it) so fosite checks it.
func (p *Provider) redirectToSignIn(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, page string, force bool) {
	form := url.Values{}
	for k, v := range ar.GetRequestForm() {
		if k != consentField {
			form[k] = slices.Clone(v)
		}
	}
	if prompt := slices.DeleteFunc(prompts(ar), func(s string) bool { return s == "login" || s == "create" }); len(prompt) > 0 {
		form.Set("prompt", strings.Join(prompt, " "))
	} else {
		form.Del("prompt")
	}
	if form.Get("max_age") == "0" {
		form.Del("max_age")
	}
	loc := page + "?return_to=" + url.QueryEscape(PathAuth+"?"+form.Encode())
	if force {
		loc += "&prompt=login"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// issue grants the requested scopes and issues the authorization code: the one path shared
// by the authorization endpoint (consent already covered) and the consent form (Allow). The
// code is the app's sign-in, recorded in the user's activity log after it is stored, with the
// browser's device and address, whether or not a login form was shown.
func (p *Endpoints) issue(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, user storage.User, sess storage.Session) {
	ctx := r.Context()
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	session := newSession()
	session.Subject = user.ID
	c := session.IDTokenClaims()
	c.Subject = user.ID
	// Truthful times: fosite compares them for prompt=none, prompt=login and max_age.
	c.AuthTime = sess.AuthTime.UTC().Truncate(time.Second)
	c.RequestedAt = ar.GetRequestedAt().UTC().Truncate(time.Second)
	c.AuthenticationMethodsReferences = sess.AMR
	c.AuthenticationContextClassReference = acr(sess.AMR)
	session.GrantedAt = p.now()
	// The claims parameter travels with the session so userinfo and refreshed ID tokens
	// honour it (OIDC Core §5.5); decideConsent has validated it.
	req, rerr := consentRequest(ar)
	if rerr != nil {
		p.authorizeError(w, r, ar, rerr)
		return
	}
	session.ClaimsRequest = req.Claims
	if ar.GetGrantedScopes().Has("openid") {
		extra, err := p.idTokenClaims(ctx, user, ar.GetClient().GetID(), ar.GetGrantedScopes(), session.ClaimsRequest)
		if err != nil {
			p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("ID token claims: %w", err)))
			return
		}
		c.Extra = extra
	}
	// sid names the browser session for back-channel logout (Back-Channel Logout 1.0 §2.1),
	// and the session's row says this app signed in through it, under this request: the
	// tokens the code turns into carry the request id (fosite keeps it through every
	// refresh), so signing this session out ends them.
	var signedIn storage.SessionClient
	if sess.ID != "" {
		signedIn = storage.SessionClient{SessionID: sess.ID, ClientID: ar.GetClient().GetID(),
			UserID: user.ID, SID: p.sids.Of(sess.ID), RequestID: ar.GetID(), CreatedAt: p.now()}
		if ar.GetGrantedScopes().Has("openid") {
			if c.Extra == nil {
				c.Extra = map[string]any{}
			}
			c.Extra["sid"] = signedIn.SID
		}
	}
	// fosite's handlers store the code first and validate PKCE after it: one transaction,
	// rolled back on any error, so a refused request leaves nothing behind.
	var resp fosite.AuthorizeResponder
	err := p.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		resp, err = p.oauth.NewAuthorizeResponse(ctx, ar, session)
		if err != nil || signedIn.SessionID == "" {
			return err
		}
		return p.store.PutSessionClient(ctx, signedIn)
	})
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	p.activity.RecordAppActivity(r, user.ID, signInActivity(ar, sess.AuthTime))
	// RFC 9207: the issuer identifies who answered; fosite does not add it. It goes where
	// the response goes: the query, or the form_post body.
	params := resp.GetParameters()
	params.Set("iss", p.cfg.Issuer)
	p.responses.Write(w, r, ar.GetResponseMode(), ar.GetRedirectURI(), params)
}

// The authentication context classes Facet names (discovery acr_values_supported).
const (
	// ACRPassword: a password sign-in (amr "pwd").
	ACRPassword = "urn:facet:pwd"
	// ACRMFA: a sign-in with a second factor (amr "mfa": an authenticator app code, a
	// recovery code, or a passkey with user verification).
	ACRMFA = "urn:facet:mfa"
)

// PathMFA is profile/mfa's second step, where a signed-in session proves a second factor
// (step-up) and comes back to the authorization request.
const PathMFA = "/login/mfa"

// acr names the authentication context: ACRMFA for a sign-in with a second factor,
// ACRPassword for a password sign-in, "0" (no assurance claimed, OIDC Core §2) otherwise.
func acr(amr []string) string {
	switch {
	case slices.Contains(amr, "mfa"):
		return ACRMFA
	case slices.Contains(amr, "pwd"):
		return ACRPassword
	}
	return "0"
}

// needsMFA reports whether the request wants a second factor: the installation requires
// one, the app is registered with --require-mfa, or acr_values asks for ACRMFA (OIDC Core
// §3.1.2.1: Facet treats the one class it can raise as a requirement, and says so in the
// ID token's acr).
func (p *Endpoints) needsMFA(ctx context.Context, ar fosite.AuthorizeRequester) (bool, error) {
	if p.cfg.MFARequired || slices.Contains(strings.Fields(ar.GetRequestForm().Get("acr_values")), ACRMFA) {
		return true, nil
	}
	cl, err := p.registered(ctx, ar.GetClient())
	if err != nil {
		return false, err
	}
	return cl.c.RequireMFA, nil
}

func prompts(ar fosite.AuthorizeRequester) []string {
	return fosite.RemoveEmpty(strings.Split(ar.GetRequestForm().Get("prompt"), " "))
}

// redirectOK reports whether errors may be sent to the request's redirect URI: fosite
// matched it, and it passes Facet's exact match too (RFC 9700 §4.1.3; an unchecked
// redirect URI makes the error response an open redirector, RFC 6749 §4.1.2.1).
func redirectOK(ar fosite.AuthorizeRequester) bool {
	if ar == nil || ar.GetClient() == nil || !ar.IsRedirectURIValid() {
		return false
	}
	raw := ar.GetRequestForm().Get("redirect_uri")
	return raw == "" || redirectURIAllowed(raw, ar.GetClient().GetRedirectURIs())
}

// authorizeError answers a failed authorization request: with an error page when the client
// or redirect URI is not trustworthy (never a redirect there), otherwise with the error in
// the request's response mode (a redirect, or a form_post page), carrying iss (RFC 9207) and
// a sanitised description.
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	if fault, ok := serverFault(err); ok {
		// A failure on our side (the client lookup included, which fosite calls
		// invalid_client) is not the request's fault: temporarily_unavailable or server_error,
		// on a page when the redirect cannot be trusted, else to the client (RFC 6749
		// §4.1.2.1 names both).
		p.logFault(w, r, "authorization request failed", fault, err)
		if !redirectOK(ar) {
			p.errorPage(w, r, fault.CodeField, "", "", "")
			return
		}
		err = fault
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	p.logger.InfoContext(r.Context(), "authorization request refused", "error", rfc.ErrorField,
		"hint", rfc.HintField, "debug", rfc.DebugField)
	if !redirectOK(ar) {
		msg := "authorize.error.message"
		switch {
		case rfc.ErrorField == fosite.ErrInvalidClient.ErrorField:
			msg = "authorize.error.unknown_client"
		case ar != nil && ar.GetClient() != nil:
			msg = "authorize.error.redirect_uri"
		}
		p.errorPage(w, r, http.StatusBadRequest, templates.Tr(r.Context(), "authorize.error.title"), templates.Tr(r.Context(), msg), templates.Tr(r.Context(), "authorize.error.next"))
		return
	}
	params := fosite.ErrorToRFC6749Error(sanitize(err)).ToValues()
	if st := ar.GetState(); st != "" {
		params.Set("state", st)
	}
	params.Set("iss", p.cfg.Issuer) // RFC 9207 §2, wherever the response goes
	p.responses.Write(w, r, ar.GetResponseMode(), ar.GetRedirectURI(), params)
}

// errorPage renders error.html; empty texts fall back to the page's text for status.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg, next string) {
	w.Header().Set("Cache-Control", "no-store")
	page := templates.ErrorPage{Status: status, Title: title, Message: msg, Next: next, RequestID: requestID(w, r)}
	if err := p.templates.Render(w, r, status, "error", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render error page", "err", err)
	}
}

// requestID is the id cmd's middleware gave this request, if any.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	return r.Header.Get("X-Request-Id")
}
