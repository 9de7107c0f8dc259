package oauth

import (
	"context"
	"fmt"
	"time"

	"github.com/ory/fosite"
)

// AccessTokenAuthTime returns when the user last authenticated in the login the access token
// descends from (the auth_time of OpenID Connect Core §2, kept through refreshes), so a
// resource server inside Facet can apply the same "recent login" rule to bearer calls as to
// browser sessions (OWASP ASVS 5.0 V7.5: re-authentication before sensitive changes). Zero
// when the grant recorded none or the token is no longer active (so the caller refuses); an
// error only when the answer is unknown (a storage failure).
func (p *Provider) AccessTokenAuthTime(ctx context.Context, token string) (time.Time, error) {
	if token == "" {
		return time.Time{}, nil
	}
	_, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if err != nil {
		// fosite wraps a failed look-up as request_unauthorized (401) whatever its cause:
		// the cause decides, as in VerifyAccessToken.
		if _, fault := serverFault(err); fault {
			return time.Time{}, fmt.Errorf("access token auth time: %w", storageCause(err))
		}
		return time.Time{}, nil
	}
	s, ok := ar.GetSession().(*Session)
	if !ok || s.DefaultSession == nil || s.DefaultSession.Claims == nil {
		return time.Time{}, nil
	}
	return s.DefaultSession.Claims.AuthTime.UTC(), nil
}
