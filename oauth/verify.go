package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// storageCause is the cause of a look-up that failed for a server fault (serverFault), with
// storage.ErrUnavailable in its chain when the database is out.
func storageCause(err error) error {
	fault, _ := serverFault(err)
	cause := rootCause(err)
	if fault == fosite.ErrTemporarilyUnavailable && !errors.Is(cause, storage.ErrUnavailable) {
		cause = fmt.Errorf("%w: %w", storage.ErrUnavailable, cause)
	}
	return cause
}

// ErrTokenInactive is VerifyAccessToken's answer for a token that is unknown, expired,
// revoked, not an access token, or not issued for a user.
var ErrTokenInactive = errors.New("oauth: access token is not active")

// VerifyAccessToken checks a bearer access token for a resource server inside Facet (the
// account API, through profile.TokenVerifier). It returns the user the token was issued for,
// the client that holds it and the granted scopes; any token that is not an active access
// token issued for a user is ErrTokenInactive. Tokens from the client_credentials grant act
// for the client itself and name no user, so they are refused here.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (subject, clientID string, scopes []string, err error) {
	if token == "" {
		return "", "", nil, ErrTokenInactive
	}
	tu, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if _, ok := serverFault(err); ok {
		// A storage failure is not an answer about the token: the caller gets the cause and
		// answers 5xx.
		return "", "", nil, fmt.Errorf("verify access token: %w", storageCause(err))
	}
	if err != nil {
		return "", "", nil, ErrTokenInactive
	}
	if tu != fosite.AccessToken || ar.GetClient() == nil || ar.GetSession() == nil {
		return "", "", nil, ErrTokenInactive
	}
	if ar.GetRequestForm().Get("grant_type") == "client_credentials" {
		return "", "", nil, ErrTokenInactive
	}
	subject = ar.GetSession().GetSubject()
	if subject == "" {
		return "", "", nil, ErrTokenInactive
	}
	return subject, ar.GetClient().GetID(), []string(ar.GetGrantedScopes()), nil
}
