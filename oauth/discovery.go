package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/keys"
)

// discoveryDocument builds the OpenID Provider Metadata (OIDC Discovery 1.0 §3, RFC 8414)
// once at start; the endpoint serves the same bytes.
func discoveryDocument(issuer string) ([]byte, error) {
	doc := map[string]any{
		"issuer":                                         issuer,
		"authorization_endpoint":                         issuer + PathAuth,
		"token_endpoint":                                 issuer + PathToken,
		"userinfo_endpoint":                              issuer + PathUserinfo,
		"jwks_uri":                                       issuer + PathJWKS,
		"revocation_endpoint":                            issuer + PathRevoke,
		"introspection_endpoint":                         issuer + PathIntrospect,
		"end_session_endpoint":                           issuer + PathEndSession,
		"scopes_supported":                               consent.Scopes(),
		"acr_values_supported":                           []string{ACRPassword, ACRMFA},
		"claims_supported":                               append(consent.Claims(), "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid"),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query", "form_post"},
		"grant_types_supported":                          supportedGrantTypes,
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{keys.Algorithm},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"prompt_values_supported":                        []string{"none", "login", "consent", "select_account", "create"},
		"claims_parameter_supported":                     true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode discovery document: %w", err)
	}
	return b, nil
}

func (p *Provider) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(p.discovery)
}

func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	p.keys.ServeJWKS(w, r, p.logger)
}

// supportedGrantTypes are the grants the composed fosite handlers serve: no implicit or
// password grant (RFC 9700 §2.1.2, §2.4).
var supportedGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
