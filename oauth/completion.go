package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// Completion answers "must this user complete their profile before an app may sign them
// in?" (mandatory profile fields missing). profile.Handler implements it; cmd passes it to
// NewEndpoints. A nil Completion never asks.
type Completion interface {
	NeedsCompletion(ctx context.Context, userID string) (bool, error)
}

// PathComplete is profile's "Complete your profile" page; it returns to return_to (a
// same-origin path) when the profile is complete.
const PathComplete = "/profile/complete"

// completed reports whether the signed-in user may go on to consent. Otherwise it has
// answered: with interaction_required for prompt=none (OIDC Core §3.1.2.6: the request needs
// a page the user must see), or with a redirect to PathComplete that comes back to this
// authorization request.
func (p *Endpoints) completed(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, user storage.User) bool {
	if p.completion == nil {
		return true
	}
	need, err := p.completion.NeedsCompletion(r.Context(), user.ID)
	if err != nil {
		p.authorizeError(w, r, ar, failure(err).WithWrap(fmt.Errorf("profile completion check: %w", err)))
		return false
	}
	if !need {
		return true
	}
	if slices.Contains(prompts(ar), "none") {
		p.authorizeError(w, r, ar, fosite.ErrInteractionRequired.WithHint("The user must complete their profile first."))
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, PathComplete+"?"+url.Values{"return_to": {authorizeURL(ar)}}.Encode(), http.StatusSeeOther)
	return false
}

// authorizeURL is the same-origin URL of the authorization request ar (GET form), without
// the consent page's button, for pages that send the user back to it.
func authorizeURL(ar fosite.AuthorizeRequester) string {
	form := url.Values{}
	for k, v := range ar.GetRequestForm() {
		if k != consentField {
			form[k] = slices.Clone(v)
		}
	}
	return PathAuth + "?" + form.Encode()
}
