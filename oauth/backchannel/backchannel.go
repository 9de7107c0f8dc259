// Package backchannel owns OpenID Connect Back-Channel Logout 1.0 on the provider's side:
// the sid that ID tokens carry for a browser session, the logout token, the durable queue of
// logout messages written in the same transaction that ends a session (Notifier), and the
// job that delivers them (Deliverer.RunOnce). It serves no route; oauth puts sid in ID tokens
// and records the apps each session signs in to, profile ends sessions and calls the
// Notifier, cmd/facet runs the job.
//
// Outbound requests go only to the URI the administrator registered for the app (read at
// each attempt, so a URI removed or changed since the logout is honoured), never follow a
// redirect, stop after 5 s and read at most 4 KiB of the answer. Registration admits https
// and loopback http only; the destination address is not filtered further, because an
// administrator, not a user, registers it and internal apps are a normal case.
package backchannel

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// SIDs computes the sid of a browser session: an HMAC-SHA-256 of the session's stored id
// under a key derived from the system secret, so it is stable for the session, reveals
// nothing of the id (the cookie's hash) and cannot be guessed without the secret.
type SIDs struct{ key []byte }

// NewSIDs derives the sid key from the system secret.
func NewSIDs(secret []byte) (*SIDs, error) {
	if len(secret) < 32 {
		return nil, errors.New("backchannel: the system secret must have at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "facet back-channel logout sid", 32)
	if err != nil {
		return nil, fmt.Errorf("derive sid key: %w", err)
	}
	return &SIDs{key: key}, nil
}

// Of returns the sid of browser session sessionID (128 bits, base64url).
func (s *SIDs) Of(sessionID string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
