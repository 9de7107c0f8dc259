package oauth

import (
	"encoding/json"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is the fosite session Facet stores with every code and token: the OpenID Connect
// session (subject, auth_time, acr, amr, the claims the ID token carries) plus GrantedAt, the
// time the user authorized the grant. GrantedAt travels unchanged through every refresh so the
// refresh token's lifetime is absolute (see refreshHandler).
type Session struct {
	*openid.DefaultSession
	GrantedAt time.Time

	// tokenUse is set by the introspection endpoint for the response's token_type; it is
	// never stored.
	tokenUse fosite.TokenUse
}

var (
	_ openid.Session            = (*Session)(nil)
	_ fosite.ExtraClaimsSession = (*Session)(nil)
)

func newSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}}
}

// Clone keeps the Facet type (openid.DefaultSession.Clone would drop GrantedAt).
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultSession != nil {
		c.DefaultSession = s.DefaultSession.Clone().(*openid.DefaultSession)
	}
	return &c
}

// GetExtraClaims adds token_type (RFC 7662 §2.2) to introspection responses.
func (s *Session) GetExtraClaims() map[string]any {
	switch s.tokenUse {
	case fosite.AccessToken:
		return map[string]any{"token_type": "Bearer"}
	case fosite.RefreshToken:
		return map[string]any{"token_type": "refresh_token"}
	}
	return nil
}

// wireSession is the compact stored form: only what later steps read back. ID-token
// bookkeeping (exp, iat, jti, at_hash, nonce, aud, iss) is recomputed each time an ID token
// is signed, so it is not stored.
type wireSession struct {
	Subject   string           `json:"sub,omitempty"`
	AuthTime  int64            `json:"auth_time,omitempty"`
	Requested int64            `json:"rat,omitempty"`
	ACR       string           `json:"acr,omitempty"`
	AMR       []string         `json:"amr,omitempty"`
	Extra     map[string]any   `json:"ext,omitempty"`
	ExpiresAt map[string]int64 `json:"exp,omitempty"`
	GrantedAt int64            `json:"granted_at,omitempty"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// MarshalJSON writes the compact stored form.
func (s *Session) MarshalJSON() ([]byte, error) {
	c := s.IDTokenClaims()
	w := wireSession{
		Subject:   s.GetSubject(),
		AuthTime:  unix(c.AuthTime),
		Requested: unix(c.RequestedAt),
		ACR:       c.AuthenticationContextClassReference,
		AMR:       c.AuthenticationMethodsReferences,
		Extra:     c.Extra,
		GrantedAt: unix(s.GrantedAt),
	}
	if len(s.ExpiresAt) > 0 {
		w.ExpiresAt = make(map[string]int64, len(s.ExpiresAt))
		for k, v := range s.ExpiresAt {
			w.ExpiresAt[string(k)] = unix(v)
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the compact stored form.
func (s *Session) UnmarshalJSON(b []byte) error {
	var w wireSession
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	fresh := newSession()
	fresh.Subject = w.Subject
	c := fresh.Claims
	c.Subject = w.Subject
	c.AuthTime = fromUnix(w.AuthTime)
	c.RequestedAt = fromUnix(w.Requested)
	c.AuthenticationContextClassReference = w.ACR
	c.AuthenticationMethodsReferences = w.AMR
	c.Extra = w.Extra
	for k, v := range w.ExpiresAt {
		fresh.SetExpiresAt(fosite.TokenType(k), fromUnix(v))
	}
	fresh.GrantedAt = fromUnix(w.GrantedAt)
	*s = *fresh
	return nil
}
