package backchannel

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// EventURI is the member of a logout token's events claim (Back-Channel Logout 1.0 §2.4).
const EventURI = "http://schemas.openid.net/event/backchannel-logout"

// TokenType is the logout token's typ header (Back-Channel Logout 1.0 §2.4, RFC 8725 §3.11).
const TokenType = "logout+jwt"

// TokenLifetime is how long a logout token is valid: long enough for clock skew, short
// enough that a captured token is useless soon (§2.4 recommends a short lifetime).
const TokenLifetime = 2 * time.Minute

// LogoutClaims are the claims of a logout token. It never carries nonce (§2.4).
type LogoutClaims struct {
	Issuer   string                    `json:"iss"`
	Audience string                    `json:"aud"`
	IssuedAt int64                     `json:"iat"`
	Expiry   int64                     `json:"exp"`
	ID       string                    `json:"jti"`
	Events   map[string]map[string]any `json:"events"`
	Subject  string                    `json:"sub,omitempty"`
	SID      string                    `json:"sid,omitempty"`
}

// SignLogoutToken returns a logout token for clientID about subject (and browser session sid
// when not empty), signed RS256 with key kid, issued at now, and its jti.
func SignLogoutToken(issuer, clientID, subject, sid string, now time.Time, kid string, key *rsa.PrivateKey) (string, string, error) {
	jti := rand.Text() // 130 random bits
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(TokenType))
	if err != nil {
		return "", "", fmt.Errorf("logout token signer: %w", err)
	}
	claims := LogoutClaims{
		Issuer: issuer, Audience: clientID, IssuedAt: now.Unix(), Expiry: now.Add(TokenLifetime).Unix(),
		ID: jti, Events: map[string]map[string]any{EventURI: {}}, Subject: subject, SID: sid,
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", "", fmt.Errorf("sign logout token: %w", err)
	}
	return raw, jti, nil
}
