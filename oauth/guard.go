package oauth

import (
	"context"

	"github.com/ory/fosite"
)

// fosite asks every token endpoint handler to populate each token response. A handler for
// another grant answers errorsx.WithStack(fosite.ErrUnknownRequest), which captures a stack
// trace only for fosite to discard it; with five handlers per request that was about a
// quarter of the token endpoint's CPU outside the database. fosite's own request side
// (NewAccessRequest) asks CanHandleTokenEndpointRequest first; guardTokenHandlers makes the
// response side do the same. Behaviour is unchanged: each wrapped handler starts its
// PopulateTokenEndpointResponse with that very check and returns ErrUnknownRequest, which
// fosite treats as "not mine".

// skipOtherGrants is a fosite.TokenEndpointHandler that does not call its handler for a
// request it cannot handle.
type skipOtherGrants struct {
	fosite.TokenEndpointHandler
}

// PopulateTokenEndpointResponse returns the shared ErrUnknownRequest, without a stack
// trace, for requests of another grant.
func (g skipOtherGrants) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return g.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, req, resp)
}

// guardTokenHandlers wraps every token endpoint handler of fc in skipOtherGrants.
func guardTokenHandlers(fc *fosite.Config) {
	for i, h := range fc.TokenEndpointHandlers {
		if _, ok := h.(skipOtherGrants); !ok {
			fc.TokenEndpointHandlers[i] = skipOtherGrants{h}
		}
	}
}
