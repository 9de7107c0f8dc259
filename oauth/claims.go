package oauth

import (
	"context"

	"github.com/ory/fosite"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
)

// idTokenClaims are the profile claims an ID token carries: consent's release for the ID
// token over the user's current data — only claims the claims parameter's id_token member
// asks for (OIDC Core §5.4, §5.5) — minus sub, which fosite sets from the session.
func (p *Provider) idTokenClaims(ctx context.Context, user storage.User, clientID string, scopes []string, cr consent.ClaimsRequest) (map[string]any, error) {
	claims, err := p.consent.Claims(ctx, consent.TargetIDToken, p.cfg.Issuer, user, clientID, scopes, cr)
	if err != nil {
		return nil, err
	}
	delete(claims, "sub")
	if len(claims) == 0 {
		return nil, nil
	}
	return claims, nil
}

// introspectionClaims are the extension members an introspection response carries about the
// token's user (RFC 7662 §2.2), as consent releases them, minus sub (fosite sets it).
func (p *Provider) introspectionClaims(ctx context.Context, ar fosite.Requester) (map[string]any, error) {
	sub := ar.GetSession().GetSubject()
	if sub == "" || sub == ar.GetClient().GetID() {
		return nil, nil // a client-credentials token: no user
	}
	claims, err := p.consent.Claims(ctx, consent.TargetIntrospection, p.cfg.Issuer, storage.User{ID: sub},
		ar.GetClient().GetID(), ar.GetGrantedScopes(), consent.ClaimsRequest{})
	if err != nil {
		return nil, err
	}
	delete(claims, "sub")
	if len(claims) == 0 {
		return nil, nil
	}
	return claims, nil
}
