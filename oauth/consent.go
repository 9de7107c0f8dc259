package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ory/fosite"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// claimField is the name of the consent page's checkboxes, one per on-request claim the
// user may allow. Like consentField it is removed before fosite re-parses the request, and
// never copied into the page's hidden fields.
const claimField = "claim"

// consentRequest reads what ar asks of the user's profile: its scopes and its claims
// parameter (OIDC Core §5.5). A malformed claims parameter is invalid_request.
func consentRequest(ar fosite.AuthorizeRequester) (consent.Request, error) {
	cr, err := consent.ParseClaimsRequest(ar.GetRequestForm().Get("claims"))
	if err != nil {
		return consent.Request{}, fosite.ErrInvalidRequest.WithHint("The claims parameter is not valid JSON of OpenID Connect Core 5.5.").WithWrap(err)
	}
	return consent.Request{Scopes: ar.GetRequestedScopes(), Claims: cr, Ask: slices.Contains(prompts(ar), "consent")}, nil
}

// decideConsent is the authorization endpoint's consent step for a signed-in user: issue the
// code when the existing grant covers the request (and prompt is not consent), answer
// consent_required for prompt=none, show the consent page otherwise.
func (p *Endpoints) decideConsent(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, user storage.User, sess storage.Session) {
	req, err := consentRequest(ar)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	pr, err := p.consent.Prompt(r.Context(), user, ar.GetClient().GetID(), req)
	if err != nil {
		p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("consent decision: %w", err)))
		return
	}
	if pr.Covered() && !req.Ask {
		p.issue(w, r, ar, user, sess)
		return
	}
	if slices.Contains(prompts(ar), "none") {
		p.authorizeError(w, r, ar, fosite.ErrConsentRequired.WithHint("The user has not yet allowed this app."))
		return
	}
	p.renderConsent(w, r, ar, user, pr)
}

// handleConsent receives the consent page (a cookie-authenticated POST; cmd applies
// cross-origin protection). The page's hidden fields carry the original authorization
// request, which fosite parses and validates again from scratch; the checked claim boxes say
// which on-request claims the user allows.
func (p *Endpoints) handleConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "", "", "")
		return
	}
	r = p.sessions.FormLanguage(r)
	decision := r.PostForm.Get(consentField)
	checked := r.PostForm[claimField]
	for _, k := range []string{consentField, claimField} {
		r.PostForm.Del(k)
		r.Form.Del(k)
	}

	ar, err := p.newAuthorizeRequest(r.Context(), r)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	if !redirectOK(ar) {
		p.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("The redirect_uri is not registered."))
		return
	}
	if decision == "deny" {
		p.deny(w, r, ar)
		return
	}
	user, sess, ok := p.authenticate(w, r, ar)
	if !ok {
		return
	}
	switch decision {
	case "allow":
		if !p.admitted(w, r, ar, user) || !p.completed(w, r, ar, user) {
			return
		}
		req, err := consentRequest(ar)
		if err != nil {
			p.authorizeError(w, r, ar, err)
			return
		}
		// The grant records exactly the on-request claims left checked, merged with the
		// previous grant; the prompt is decided again from current data, so only claims the
		// page could have offered are granted.
		pr, err := p.consent.Allow(r.Context(), user, ar.GetClient().GetID(), req, checked)
		if err != nil {
			p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("store consent: %w", err)))
			return
		}
		p.activity.RecordAppActivity(r, user.ID, consentActivity(ar.GetClient().GetID(), pr.Granted,
			req.Scopes, pr.Public, pr.OnRequest, pr.Allowed(checked)))
		p.issue(w, r, ar, user, sess)
	default:
		p.errorPage(w, r, http.StatusBadRequest, "", "", "")
	}
}

// deny answers Deny: the app receives access_denied (RFC 6749 §4.1.2.1). It needs no
// complete profile and nobody signed in: the "Complete your profile" page's Cancel sends it,
// so a user who will not fill in the missing fields goes back to the app instead of being
// stuck on that page, and so does the page that refuses an account pending deletion, which
// has no usable session. A refusal gives the app nothing; it is recorded in the log of an
// active signed-in user.
func (p *Endpoints) deny(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester) {
	sess, ok, err := p.sessions.Current(r)
	if err != nil {
		p.authorizeError(w, r, ar, failure(err).WithWrap(err))
		return
	}
	if ok {
		user, err := p.store.GetUser(r.Context(), sess.UserID)
		switch {
		case err == nil && user.Status == storage.UserActive:
			p.activity.RecordAppActivity(r, user.ID, AppActivity{Kind: ActivityConsentDenied, ClientID: ar.GetClient().GetID()})
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			p.authorizeError(w, r, ar, failure(err).WithWrap(err))
			return
		}
	}
	p.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The user did not allow the request."))
}

// PathPrivacySettings is profile's page where the user chooses who can see each field. The
// consent page links to it with return_to set to the waiting authorization request, and the
// page offers the way back to it.
const PathPrivacySettings = "/profile"

// consentPage is the data of consent.html (built by consent.NewPage).
type consentPage struct {
	consent.Page
	UserEmail     string
	Fields        []hiddenField
	Action, Field string
	ClaimField    string
	// SettingsURL is the privacy settings page, coming back to this authorization request.
	SettingsURL string
}

type hiddenField struct{ Name, Value string }

func (p *Provider) renderConsent(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, user storage.User, pr consent.Prompt) {
	c, err := p.clients.get(r.Context(), ar.GetClient().GetID())
	if err != nil {
		p.logger.ErrorContext(r.Context(), "consent client", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "", "", "")
		return
	}
	page := consentPage{
		Page:      consent.NewPage(c.c, pr, ar.GetRequestedScopes()),
		UserEmail: user.Email, Action: PathConsent, Field: consentField, ClaimField: claimField,
		SettingsURL: PathPrivacySettings + "?" + url.Values{"return_to": {authorizeURL(ar)}}.Encode(),
	}
	form := ar.GetRequestForm()
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != consentField && k != claimField {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range form[k] {
			page.Fields = append(page.Fields, hiddenField{Name: k, Value: v})
		}
	}
	frame := templates.Frame{Account: templates.NewAccount(user.Email)}
	if err := p.templates.RenderFrame(w, r, http.StatusOK, "consent", frame, page); err != nil {
		p.logger.ErrorContext(r.Context(), "render consent", "err", err)
	}
}
