package oauth

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// AccessChecker answers "may this user use this closed app?" (profile/invite implements it).
// The authorization endpoint asks it only for apps registered as closed.
type AccessChecker interface {
	MayUse(ctx context.Context, clientID, userID string) (bool, error)
}

// EndpointOption configures optional collaborators of the endpoints.
type EndpointOption func(*Endpoints)

// WithAccess makes closed apps admit only the users access says may use them; without it a
// closed app admits nobody.
func WithAccess(access AccessChecker) EndpointOption {
	return func(e *Endpoints) { e.access = access }
}

// admitted reports whether user may sign in to the request's app. An open app costs nothing
// (the client row is already read). For anyone else a closed app ends the request on the
// "invitation-only" page, whose way back is the app's access_denied error response (RFC 6749
// §4.1.2.1); with prompt=none the app receives access_denied at once.
func (p *Endpoints) admitted(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, user storage.User) bool {
	cl, err := p.registered(r.Context(), ar.GetClient())
	if err != nil {
		p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("closed app access: %w", err)))
		return false
	}
	if !cl.c.Closed {
		return true
	}
	if p.access != nil {
		may, err := p.access.MayUse(r.Context(), cl.c.ID, user.ID)
		if err != nil {
			p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("closed app access: %w", err)))
			return false
		}
		if may {
			return true
		}
	}
	denied := fosite.ErrAccessDenied.WithHint("This app is invitation-only and the user holds no access to it.")
	p.logger.InfoContext(r.Context(), "closed app refused the user", "client_id", cl.c.ID)
	if slices.Contains(prompts(ar), "none") {
		p.authorizeError(w, r, ar, denied)
		return false
	}
	// The page's link carries the error response, as the redirect in the query would (a link
	// cannot post a form, so a form_post client gets it in the query too).
	params := fosite.ErrorToRFC6749Error(sanitize(denied)).ToValues()
	if st := ar.GetState(); st != "" {
		params.Set("state", st)
	}
	params.Set("iss", p.cfg.Issuer)
	back := *ar.GetRedirectURI()
	q := back.Query()
	for k, vs := range params {
		q[k] = vs
	}
	back.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	page := closedPage{AppName: cl.c.Name, Back: back.String(), Home: cl.c.HomeURI}
	if err := p.templates.Render(w, r, http.StatusForbidden, "closed", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render closed app page", "err", err)
	}
	return false
}

// registered returns the client row behind fc: fosite hands back what the store gave it;
// anything else is looked up again, so no request passes the check unexamined.
func (p *Endpoints) registered(ctx context.Context, fc fosite.Client) (*client, error) {
	if cl, ok := fc.(*client); ok {
		return cl, nil
	}
	return p.clients.get(ctx, fc.GetID())
}

// closedPage is the data of closed.html.
type closedPage struct {
	AppName string
	// Back is the app's redirect URI with error=access_denied, state and iss.
	Back string
	Home string
}
