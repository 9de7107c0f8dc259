package keys

import (
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/facetid/facet/storage"
)

func TestSealPrivateKeyRoundTrip(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	k, err := newSigningKey(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	priv, err := openPrivateKey(secret, k.ID, k.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil || jwk.KeyID != k.ID || jwk.IsPublic() == false {
		t.Fatalf("public JWK: %v %+v", err, jwk)
	}
	if pub, ok := jwk.Key.(*rsa.PublicKey); !ok || !priv.PublicKey.Equal(pub) {
		t.Fatal("decrypted key does not match the public key")
	}
	if _, err := openPrivateKey([]byte(strings.Repeat("x", 32)), k.ID, k.PrivateKey); err == nil {
		t.Fatal("opened with the wrong secret")
	}
	if _, err := openPrivateKey(secret, "other-kid", k.PrivateKey); err == nil {
		t.Fatal("opened under another kid")
	}
	if _, err := keyEncryptionKey([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

// TestPickSigner: a new key signs only once every node publishes it (CacheTTL old).
func TestPickSigner(t *testing.T) {
	now := time.Now()
	keys := []storage.SigningKey{ // newest first
		{ID: "new", CreatedAt: now.Add(-CacheTTL / 2)},
		{ID: "old", CreatedAt: now.Add(-time.Hour)},
		{ID: "older", CreatedAt: now.Add(-2 * time.Hour)},
	}
	if got := pickSigner(keys, now).ID; got != "old" {
		t.Fatalf("signer %q, want old", got)
	}
	if got := pickSigner(keys, now.Add(CacheTTL)).ID; got != "new" {
		t.Fatalf("signer %q after the TTL, want new", got)
	}
	if got := pickSigner(keys[:1], now).ID; got != "new" {
		t.Fatalf("first start: signer %q, want new", got)
	}
}
