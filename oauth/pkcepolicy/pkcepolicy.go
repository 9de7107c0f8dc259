// Package pkcepolicy is PKCE (RFC 7636) with a policy per client: fosite's PKCE handler
// enforces PKCE for every client or for public clients only, by configuration. Facet
// requires PKCE (S256) by default and always for public clients; a confidential client
// registered with pkce "optional" may omit it (OIDC Core's code flow with a client secret,
// as the OpenID conformance suite and most server-side libraries use it). Whenever a
// code_challenge is sent it is enforced: S256 only, and the token request must carry the
// matching code_verifier.
package pkcepolicy

import (
	"context"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/pkce"
)

// Optional reports whether client may omit PKCE. Only a confidential client can.
type Optional func(client fosite.Client) bool

// Handler is fosite's PKCE handler twice, enforcing and not, chosen per client.
type Handler struct {
	required, optional *pkce.Handler
	isOptional         Optional
}

var (
	_ fosite.AuthorizeEndpointHandler = (*Handler)(nil)
	_ fosite.TokenEndpointHandler     = (*Handler)(nil)
)

// Factory returns a compose.Factory building the Handler over fosite's storage and strategy;
// isOptional decides per client. Plain challenges are never accepted.
func Factory(isOptional Optional) func(config fosite.Configurator, storage any, strategy any) any {
	return func(_ fosite.Configurator, storage any, strategy any) any {
		codes := strategy.(oauth2.AuthorizeCodeStrategy)
		st := storage.(pkce.PKCERequestStorage)
		return &Handler{
			required:   &pkce.Handler{AuthorizeCodeStrategy: codes, Storage: st, Config: policy{enforce: true}},
			optional:   &pkce.Handler{AuthorizeCodeStrategy: codes, Storage: st, Config: policy{enforce: false}},
			isOptional: isOptional,
		}
	}
}

func (h *Handler) pick(c fosite.Client) *pkce.Handler {
	if c != nil && !c.IsPublic() && h.isOptional(c) {
		return h.optional
	}
	return h.required
}

// HandleAuthorizeEndpointRequest checks (and stores) the code challenge of the request.
func (h *Handler) HandleAuthorizeEndpointRequest(ctx context.Context, ar fosite.AuthorizeRequester, resp fosite.AuthorizeResponder) error {
	return h.pick(ar.GetClient()).HandleAuthorizeEndpointRequest(ctx, ar, resp)
}

// HandleTokenEndpointRequest checks the code verifier against the stored challenge.
func (h *Handler) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	return h.pick(req.GetClient()).HandleTokenEndpointRequest(ctx, req)
}

// PopulateTokenEndpointResponse adds nothing.
func (h *Handler) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	return h.required.PopulateTokenEndpointResponse(ctx, req, resp)
}

// CanSkipClientAuth is false: PKCE never replaces client authentication.
func (h *Handler) CanSkipClientAuth(ctx context.Context, req fosite.AccessRequester) bool {
	return false
}

// CanHandleTokenEndpointRequest: the authorization_code grant.
func (h *Handler) CanHandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) bool {
	return h.required.CanHandleTokenEndpointRequest(ctx, req)
}

// policy is the configuration one of the two fosite handlers reads.
type policy struct{ enforce bool }

func (p policy) GetEnforcePKCE(context.Context) bool                    { return p.enforce }
func (p policy) GetEnforcePKCEForPublicClients(context.Context) bool    { return true }
func (p policy) GetEnablePKCEPlainChallengeMethod(context.Context) bool { return false }
