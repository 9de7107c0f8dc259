package mfa

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

// softKey is a software WebAuthn authenticator for unit tests (W3C WebAuthn Level 3 §6): it
// answers creation options with a "none" attestation of a fresh ES256 key and request
// options with signed assertions, encoding with the library's own CBOR and COSE types. The
// browser tests use Chromium's virtual authenticator instead.
type softKey struct {
	t          testing.TB
	origin     string
	rpID       string
	credID     []byte
	priv       *ecdsa.PrivateKey
	userHandle []byte
	count      uint32
	// Flags of the next answer: user verification, backup eligible and state.
	uv, be, bs bool
}

func newSoftKey(t testing.TB, origin, rpID string) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, origin: origin, rpID: rpID, credID: id, priv: priv, uv: true}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *softKey) flags(attested bool) byte {
	f := protocol.FlagUserPresent
	if k.uv {
		f |= protocol.FlagUserVerified
	}
	if k.be {
		f |= protocol.FlagBackupEligible
	}
	if k.bs {
		f |= protocol.FlagBackupState
	}
	if attested {
		f |= protocol.FlagAttestedCredentialData
	}
	return byte(f)
}

func (k *softKey) authData(attested bool) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	out := append([]byte{}, rp[:]...)
	out = append(out, k.flags(attested))
	out = binary.BigEndian.AppendUint32(out, k.count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none given
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.credID)))
		out = append(out, k.credID...)
		x, y := make([]byte, 32), make([]byte, 32)
		k.priv.X.FillBytes(x)
		k.priv.Y.FillBytes(y)
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

func (k *softKey) clientData(typ, challenge string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

// create answers creation options (the JSON of register/begin) like navigator.credentials.create.
func (k *softKey) create(options []byte) []byte {
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
	k.userHandle = handle
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	if err != nil {
		k.t.Fatal(err)
	}
	return k.marshal(map[string]any{
		"id": b64u(k.credID), "rawId": b64u(k.credID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64u(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64u(att),
			"transports":        []string{"internal"},
		},
	})
}

// get answers request options (the JSON of a begin) like navigator.credentials.get: the
// counter moves up by one unless the test set it.
func (k *softKey) get(options []byte) []byte {
	k.t.Helper()
	var o protocol.CredentialAssertion
	if err := json.Unmarshal(options, &o); err != nil {
		k.t.Fatalf("request options: %v\n%s", err, options)
	}
	return k.sign(o.Response.Challenge.String())
}

// sign is an assertion over challenge with the current counter.
func (k *softKey) sign(challenge string) []byte {
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return k.marshal(map[string]any{
		"id": b64u(k.credID), "rawId": b64u(k.credID), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64u(cd),
			"authenticatorData": b64u(ad),
			"signature":         b64u(sig),
			"userHandle":        b64u(k.userHandle),
		},
	})
}

func (k *softKey) marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}
