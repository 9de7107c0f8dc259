package oauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/stored"
)

// Session is the fosite session Facet stores with every code and token: the OpenID Connect
// session (subject, auth_time, acr, amr, the claims the ID token carries) plus GrantedAt, the
// time the user authorized the grant. GrantedAt travels unchanged through every refresh so the
// refresh token's lifetime is absolute (see refreshHandler).
type Session struct {
	*openid.DefaultSession
	GrantedAt time.Time
	// ClaimsRequest is the authorization request's claims parameter (OIDC Core §5.5), kept
	// for userinfo and refreshed ID tokens.
	ClaimsRequest consent.ClaimsRequest

	// releaseVersion is the subject's release version read with the access token for
	// userinfo (see releaseVersionKey); never stored.
	releaseVersion    int64
	hasReleaseVersion bool
}

var (
	_ openid.Session = (*Session)(nil)
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

// stored is the stored form of s.
func (s *Session) stored() (*stored.Session, error) {
	c := s.IDTokenClaims()
	w := &stored.Session{
		Subject:   s.GetSubject(),
		AuthTime:  unix(c.AuthTime),
		Requested: unix(c.RequestedAt),
		ACR:       c.AuthenticationContextClassReference,
		AMR:       c.AuthenticationMethodsReferences,
		GrantedAt: unix(s.GrantedAt),
		Claims:    s.ClaimsRequest.String(),
	}
	if len(c.Extra) > 0 {
		var err error
		if w.Extra, err = json.Marshal(c.Extra); err != nil {
			return nil, fmt.Errorf("encode request: extra claims: %w", err)
		}
	}
	if len(s.ExpiresAt) > 0 {
		w.ExpiresAt = make([]stored.Expiry, 0, len(s.ExpiresAt))
		for k, v := range s.ExpiresAt {
			w.ExpiresAt = append(w.ExpiresAt, stored.Expiry{Type: string(k), At: unix(v)})
		}
		slices.SortFunc(w.ExpiresAt, func(a, b stored.Expiry) int { return strings.Compare(a.Type, b.Type) })
	}
	return w, nil
}

// sessionFrom builds the Session w stores. The extra claims are decoded with UseNumber and typed by
// claimNumbers: a plain map[string]any would turn every number into float64, and go-jose
// (which signs the ID token) writes large float64s in exponent form, so updated_at would come
// out as 1.795872616e+09 instead of an integer (OIDC Core §5.1 and RFC 7519 §2 NumericDate:
// a JSON number of seconds; relying parties parse it as an integer).
func sessionFrom(w *stored.Session) (*Session, error) {
	fresh := newSession()
	if len(w.Extra) > 0 && !bytes.Equal(w.Extra, []byte("null")) {
		var extra map[string]any
		dec := json.NewDecoder(bytes.NewReader(w.Extra))
		dec.UseNumber()
		if err := dec.Decode(&extra); err != nil {
			return nil, err
		}
		for k, v := range extra {
			extra[k] = claimNumbers(v)
		}
		fresh.Claims.Extra = extra
	}
	fresh.Subject = w.Subject
	c := fresh.Claims
	c.Subject = w.Subject
	c.AuthTime = fromUnix(w.AuthTime)
	c.RequestedAt = fromUnix(w.Requested)
	c.AuthenticationContextClassReference = w.ACR
	c.AuthenticationMethodsReferences = w.AMR
	if len(w.ExpiresAt) > 0 {
		fresh.ExpiresAt = make(map[fosite.TokenType]time.Time, len(w.ExpiresAt))
		for _, e := range w.ExpiresAt {
			fresh.ExpiresAt[fosite.TokenType(e.Type)] = fromUnix(e.At)
		}
	}
	fresh.GrantedAt = fromUnix(w.GrantedAt)
	if w.Claims != "" {
		cr, err := consent.ParseClaimsRequest(w.Claims)
		if err != nil {
			return nil, err
		}
		fresh.ClaimsRequest = cr
	}
	return fresh, nil
}

// claimNumbers replaces every json.Number in v (walking nested objects and arrays) with an
// int64 when the number is an integer that fits, and a float64 otherwise, so claims keep
// the Go types they were stored with (consent.Release emits int64 for updated_at).
func claimNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			// Not representable: keep the exact text rather than invent a value.
			return x.String()
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f) // 1e3 or 12.0: an integer written another way
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = claimNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = claimNumbers(e)
		}
	}
	return v
}
