package keys

// This is the one file that speaks go-jose v3: fosite's jwt.Signer API is built on it.
// Everything else in Facet uses go-jose v4.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	josev3 "github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite/token/jwt"
)

// Signer is fosite's jwt.Signer over a key Set: it signs ID tokens with the current key
// (RS256, kid in the header) and decodes id_token_hint values against every published key,
// accepting RS256 only.
type Signer struct{ keys *Set }

var _ jwt.Signer = (*Signer)(nil)

// NewSigner returns the signer over keys.
func NewSigner(keys *Set) *Signer { return &Signer{keys: keys} }

// Generate signs claims with the current signing key; go-jose puts the JWK's kid in the
// protected header.
func (s *Signer) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	st, err := s.keys.state(ctx)
	if err != nil {
		return "", "", err
	}
	jwk := &josev3.JSONWebKey{Key: st.signKey, KeyID: st.signKID, Algorithm: Algorithm, Use: "sig"}
	d := jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) { return jwk, nil }}
	return d.Generate(ctx, claims, header)
}

// Decode parses and verifies token against the published key named by its kid. The
// returned error is a *jwt.ValidationError for expired tokens, which fosite tolerates for
// id_token_hint.
func (s *Signer) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	return jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
		if t.Method != josev3.RS256 {
			return nil, fmt.Errorf("unexpected signing algorithm %q", t.Method)
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		return s.keys.PublicKey(ctx, kid)
	})
}

// Validate verifies token and returns its signature.
func (s *Signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// GetSignature returns the third part of a compact JWS.
func (s *Signer) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("header, body and signature must all be set")
	}
	return parts[2], nil
}

// Hash is SHA-256, matching RS256.
func (s *Signer) Hash(_ context.Context, in []byte) ([]byte, error) {
	h := sha256.Sum256(in)
	return h[:], nil
}

// GetSigningMethodLength is SHA-256's size.
func (s *Signer) GetSigningMethodLength(context.Context) int { return sha256.Size }
