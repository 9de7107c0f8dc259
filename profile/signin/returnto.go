package signin

import (
	"context"
	"net/url"
)

// appName returns the name of the client whose authorization request waits in returnTo, so
// the flow pages can say "to continue to App". Any failure just omits the name.
func (h *Handler) appName(ctx context.Context, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != authorizationPath {
		return ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return ""
	}
	c, err := h.store.GetClient(ctx, id)
	if err != nil {
		return ""
	}
	return c.Name
}

// flowClientID is the app whose authorization request waits in a flow page's returnTo, when
// the page found that app (appName is its name): the login or registration then happened for
// that app. No query: the page already looked the client up.
func flowClientID(returnTo, appName string) string {
	if appName == "" {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil {
		return ""
	}
	return u.Query().Get("client_id")
}

// authorizationPath is oauth's authorization endpoint (oauth.PathAuth).
const authorizationPath = "/oauth2/auth"

// isAuthorization reports whether returnTo leads back to an authorization request: the
// sign-in is an app's.
func isAuthorization(returnTo string) bool {
	u, err := url.Parse(returnTo)
	return err == nil && u.Path == authorizationPath
}
