// Package passkeytest is a software WebAuthn authenticator for tests (W3C WebAuthn Level 3
// §6): it answers creation options with a "none" attestation of a fresh ES256 key and
// request options with signed assertions, encoding with go-webauthn's own CBOR and COSE
// types. Browser tests use Chromium's DevTools virtual authenticator instead.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Key is one discoverable credential of a software authenticator, for the relying party at
// Origin with RP ID RPID. Count is the signature counter of the next assertion (the test
// moves it); UV, BE and BS are the user-verified, backup-eligible and backup-state flags of
// the next answer.
type Key struct {
	t            testing.TB
	Origin       string
	RPID         string
	CredentialID []byte
	Private      *ecdsa.PrivateKey
	// UserHandle is the handle the relying party gave at registration (Create).
	UserHandle []byte
	Count      uint32
	UV, BE, BS bool
}

// New makes a key with a fresh credential id and ES256 key pair; it verifies the user.
func New(t testing.TB, origin, rpID string) *Key {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Key{t: t, Origin: origin, RPID: rpID, CredentialID: id, Private: priv, UV: true}
}

// B64 is base64url without padding, as WebAuthn's JSON carries binary values.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *Key) flags(attested bool) byte {
	f := protocol.FlagUserPresent
	if k.UV {
		f |= protocol.FlagUserVerified
	}
	if k.BE {
		f |= protocol.FlagBackupEligible
	}
	if k.BS {
		f |= protocol.FlagBackupState
	}
	if attested {
		f |= protocol.FlagAttestedCredentialData
	}
	return byte(f)
}

func (k *Key) authData(attested bool) []byte {
	rp := sha256.Sum256([]byte(k.RPID))
	out := append([]byte{}, rp[:]...)
	out = append(out, k.flags(attested))
	out = binary.BigEndian.AppendUint32(out, k.Count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none given
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.CredentialID)))
		out = append(out, k.CredentialID...)
		x, y := make([]byte, 32), make([]byte, 32)
		k.Private.X.FillBytes(x)
		k.Private.Y.FillBytes(y)
		cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
			PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
			Curve:         int64(webauthncose.P256), XCoord: x, YCoord: y,
		})
		if err != nil {
			k.t.Fatal(err)
		}
		out = append(out, cose...)
	}
	return out
}

func (k *Key) clientData(typ, challenge string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.Origin, "crossOrigin": false})
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

// Create answers creation options (their JSON) like navigator.credentials.create and
// returns the credential's JSON.
func (k *Key) Create(options []byte) []byte {
	k.t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		k.t.Fatalf("creation options: %v\n%s", err, options)
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		k.t.Fatalf("user handle %q: %v", o.PublicKey.User.ID, err)
	}
	k.UserHandle = handle
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	if err != nil {
		k.t.Fatal(err)
	}
	return k.marshal(map[string]any{
		"id": B64(k.CredentialID), "rawId": B64(k.CredentialID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    B64(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": B64(att),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers request options (their JSON) like navigator.credentials.get, with the current
// counter, and returns the assertion's JSON.
func (k *Key) Get(options []byte) []byte {
	k.t.Helper()
	var o protocol.CredentialAssertion
	if err := json.Unmarshal(options, &o); err != nil {
		k.t.Fatalf("request options: %v\n%s", err, options)
	}
	return k.Sign(o.Response.Challenge.String())
}

// Sign is an assertion over challenge (base64url) with the current counter.
func (k *Key) Sign(challenge string) []byte {
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Private, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return k.marshal(map[string]any{
		"id": B64(k.CredentialID), "rawId": B64(k.CredentialID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    B64(cd),
			"authenticatorData": B64(ad),
			"signature":         B64(sig),
			"userHandle":        B64(k.UserHandle),
		},
	})
}

func (k *Key) marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}
