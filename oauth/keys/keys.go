// Package keys owns the ID-token signing keys: generation (RSA-2048, kid = the RFC 7638
// thumbprint), sealing the private half at rest with the system secret, rotation, the per-node
// cache every node reloads from the shared database, the JWKS document (RFC 7517), and fosite's
// jwt.Signer over them (jose3.go, the one file on go-jose v3). It serves no route of its own:
// the JWKS endpoint and the token endpoints live in oauth.
package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/facetid/facet/storage"
)

// CacheTTL is how long a node trusts its copy of the signing keys. Keys live in the shared
// database; a node reloads them when the copy is older than this, or when it meets a kid it
// does not know. A rotation on one node therefore reaches every node's JWKS within CacheTTL,
// and a new key starts signing only once it is CacheTTL old (see pickSigner), so no node signs
// with a key another node does not publish yet.
const CacheTTL = 30 * time.Second

// DefaultPublishRetiredFor is how long a retired key stays in JWKS when the caller gives no
// duration: the default ID-token lifetime (1 h) plus a margin for clocks and caches.
const DefaultPublishRetiredFor = 2 * time.Hour

// Algorithm is the one JWS algorithm the keys sign with (RFC 7518 §3.3).
const Algorithm = "RS256"

// keyEncryptionKey derives the AES-256 key that seals private signing keys at rest from the
// system secret (HKDF-SHA256 with its own info string, so it is independent of every other
// key derived from the same secret).
func keyEncryptionKey(secret []byte) ([]byte, error) {
	if len(secret) < 32 {
		return nil, errors.New("system secret: need at least 32 bytes")
	}
	return hkdf.Key(sha256.New, secret, nil, "facet signing-key encryption v1", 32)
}

// sealPrivateKey encrypts der with AES-256-GCM; the kid is the associated data, so a sealed
// key cannot be swapped onto another key's row. Output: nonce || ciphertext.
func sealPrivateKey(secret []byte, kid string, der []byte) ([]byte, error) {
	aead, err := keyAEAD(secret)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, der, []byte(kid)), nil
}

func openPrivateKey(secret []byte, kid string, sealed []byte) (*rsa.PrivateKey, error) {
	aead, err := keyAEAD(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed key too short")
	}
	der, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("decrypt key %q (wrong system secret?): %w", kid, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse key %q: %w", kid, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %q is not RSA", kid)
	}
	return rk, nil
}

func keyAEAD(secret []byte) (cipher.AEAD, error) {
	kek, err := keyEncryptionKey(secret)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newSigningKey generates an RSA-2048 key; its kid is the RFC 7638 thumbprint.
func newSigningKey(secret []byte, now time.Time) (storage.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: Algorithm, Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode JWK: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := sealPrivateKey(secret, pub.KeyID, der)
	if err != nil {
		return storage.SigningKey{}, err
	}
	return storage.SigningKey{
		ID: pub.KeyID, Algorithm: Algorithm, PrivateKey: sealed, PublicJWK: pubJSON,
		Active: true, CreatedAt: now.UTC(),
	}, nil
}

// Ensure creates the first signing key when there is no active one (first start). Two nodes
// starting at once may both create one; the later retires the earlier, which stays published
// for DefaultPublishRetiredFor, so nothing either signed stops verifying.
func Ensure(ctx context.Context, store storage.KeyStore, secret []byte) error {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	for _, k := range keys {
		if k.Active {
			return nil
		}
	}
	_, err = Rotate(ctx, store, secret, DefaultPublishRetiredFor)
	return err
}

// Rotate creates a new active key and retires the others; they stay in JWKS for
// publishRetiredFor (DefaultPublishRetiredFor when ≤ 0), which must cover the ID-token
// lifetime plus a margin so tokens signed before the rotation keep verifying. Every node
// starts signing with the new key CacheTTL after its creation. It returns the new kid.
func Rotate(ctx context.Context, store storage.KeyStore, secret []byte, publishRetiredFor time.Duration) (string, error) {
	if publishRetiredFor <= 0 {
		publishRetiredFor = DefaultPublishRetiredFor
	}
	now := time.Now().UTC()
	k, err := newSigningKey(secret, now)
	if err != nil {
		return "", err
	}
	if err := store.CreateSigningKey(ctx, k, now.Add(publishRetiredFor)); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return k.ID, nil
}

// keyState is one immutable snapshot of the published keys.
type keyState struct {
	loaded  time.Time
	signKID string
	signKey *rsa.PrivateKey
	public  map[string]*rsa.PublicKey
	jwks    []byte // the JWKS document, built once per load
	etag    string
}

// Set serves the signing keys from the database through a per-node cache. It is safe for
// concurrent use.
type Set struct {
	db     storage.KeyStore
	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	st       *keyState
	private  map[string]*rsa.PrivateKey // decrypted keys by kid, kept across reloads
	lastMiss time.Time
}

// NewSet returns the key set of db, whose private keys are sealed with secret; now is the
// clock the cache ages by. Ensure must have run before the set signs.
func NewSet(db storage.KeyStore, secret []byte, now func() time.Time) *Set {
	return &Set{db: db, secret: secret, now: now, private: map[string]*rsa.PrivateKey{}}
}

// SigningKey returns the key that signs now and its kid.
func (k *Set) SigningKey(ctx context.Context) (string, *rsa.PrivateKey, error) {
	st, err := k.state(ctx)
	if err != nil {
		return "", nil, err
	}
	return st.signKID, st.signKey, nil
}

// state returns the current snapshot, reloading it when older than CacheTTL.
func (k *Set) state(ctx context.Context) (*keyState, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.st != nil && k.now().Sub(k.st.loaded) < CacheTTL {
		return k.st, nil
	}
	return k.reloadLocked(ctx)
}

// PublicKey finds a published key by kid, reloading once (at most every second) when the kid
// is unknown — a key rotated on another node.
func (k *Set) PublicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	st, err := k.state(ctx)
	if err != nil {
		return nil, err
	}
	if pk, ok := st.public[kid]; ok {
		return pk, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now := k.now(); now.Sub(k.lastMiss) >= time.Second {
		k.lastMiss = now
		if st, err = k.reloadLocked(ctx); err != nil {
			return nil, err
		}
	}
	if pk, ok := st.public[kid]; ok {
		return pk, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

func (k *Set) reloadLocked(ctx context.Context) (*keyState, error) {
	now := k.now()
	all, err := k.db.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var published []storage.SigningKey
	for _, sk := range all {
		if sk.Algorithm == Algorithm && (sk.Active || (sk.PublishUntil != nil && sk.PublishUntil.After(now))) {
			published = append(published, sk)
		}
	}
	if len(published) == 0 {
		return nil, errors.New("no signing key: run keys.Ensure at start")
	}
	slices.SortFunc(published, func(a, b storage.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })

	st := &keyState{loaded: now, public: make(map[string]*rsa.PublicKey, len(published))}
	var doc bytes.Buffer
	doc.WriteString(`{"keys":[`)
	for i, sk := range published {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(sk.PublicJWK, &jwk); err != nil {
			return nil, fmt.Errorf("parse public key %q: %w", sk.ID, err)
		}
		pk, ok := jwk.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key %q is not RSA", sk.ID)
		}
		st.public[sk.ID] = pk
		if i > 0 {
			doc.WriteByte(',')
		}
		if err := json.Compact(&doc, sk.PublicJWK); err != nil {
			return nil, fmt.Errorf("compact public key %q: %w", sk.ID, err)
		}
	}
	doc.WriteString(`]}`)
	st.jwks = doc.Bytes()
	sum := sha256.Sum256(st.jwks)
	st.etag = `"` + hex.EncodeToString(sum[:12]) + `"`

	signer := pickSigner(published, now)
	priv, ok := k.private[signer.ID]
	if !ok {
		if priv, err = openPrivateKey(k.secret, signer.ID, signer.PrivateKey); err != nil {
			return nil, err
		}
	}
	// Keep only the decrypted keys still published.
	kept := map[string]*rsa.PrivateKey{signer.ID: priv}
	for kid, pk := range k.private {
		if _, ok := st.public[kid]; ok {
			kept[kid] = pk
		}
	}
	k.private = kept
	st.signKID, st.signKey = signer.ID, priv
	k.st = st
	return st, nil
}

// pickSigner chooses the newest published key that is at least CacheTTL old, so every
// node already publishes it; with none that old (first start) the newest key signs.
// published is sorted newest first.
func pickSigner(published []storage.SigningKey, now time.Time) storage.SigningKey {
	for _, sk := range published {
		if !sk.CreatedAt.After(now.Add(-CacheTTL)) {
			return sk
		}
	}
	return published[0]
}

// ServeJWKS writes the JWKS document with an ETag (RFC 9110 §8.8.3); the document is built
// once per reload, never per request. A failure to load the keys is logged and answered 500.
func (k *Set) ServeJWKS(w http.ResponseWriter, r *http.Request, logger *slog.Logger) {
	st, err := k.state(r.Context())
	if err != nil {
		logger.ErrorContext(r.Context(), "load signing keys", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("ETag", st.etag)
	h.Set("Cache-Control", "public, max-age=30")
	if r.Header.Get("If-None-Match") == st.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(st.jwks)
}
