package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/facetid/facet/storage"
)

// Flow is an authorization request waiting in a flow page's return_to (the "Complete your
// profile" page, the privacy settings reached from the consent page): the app it comes from,
// and the form that refuses it. Posting CancelForm to CancelAction is the consent page's
// Deny: the app receives access_denied through the authorization error path.
type Flow struct {
	ClientID     string
	AppName      string
	CancelAction string
	CancelForm   url.Values
}

// Flow reads returnTo: when it is a request to the authorization endpoint from a registered
// client, it returns that request's Flow and true. Anything else is no flow (false, nil);
// only a failure to look the client up is an error. The request itself is validated again,
// from scratch, when the cancel form arrives.
func (p *Provider) Flow(ctx context.Context, returnTo string) (Flow, bool, error) {
	u, err := url.Parse(returnTo)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path != PathAuth {
		return Flow{}, false, nil
	}
	q := u.Query()
	id := q.Get("client_id")
	if id == "" {
		return Flow{}, false, nil
	}
	c, err := p.clients.get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Flow{}, false, nil
	}
	if err != nil {
		return Flow{}, false, fmt.Errorf("flow client: %w", err)
	}
	form := url.Values{}
	for k, v := range q {
		if k != consentField && k != claimField {
			form[k] = slices.Clone(v)
		}
	}
	form.Set(consentField, "deny")
	name := c.c.Name
	if name == "" {
		name = c.c.ID
	}
	return Flow{ClientID: c.c.ID, AppName: name, CancelAction: PathConsent, CancelForm: form}, true, nil
}
