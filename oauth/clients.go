package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
)

// client is a storage.Client seen through fosite.Client. It deliberately does not implement
// fosite.OpenIDConnectClient: fosite then refuses request objects (request /
// request_uri) and JWT client assertions, which Facet does not support.
type client struct{ c storage.Client }

var (
	_ fosite.Client             = client{}
	_ fosite.ResponseModeClient = client{}
)

func (c client) GetID() string                   { return c.c.ID }
func (c client) GetHashedSecret() []byte         { return c.c.SecretHash }
func (c client) GetRedirectURIs() []string       { return c.c.RedirectURIs }
func (c client) GetGrantTypes() fosite.Arguments { return c.c.GrantTypes }
func (c client) GetScopes() fosite.Arguments     { return c.c.Scopes }
func (c client) IsPublic() bool                  { return c.c.Public }
func (c client) GetAudience() fosite.Arguments   { return c.c.Audience }

// PKCEOptional reports whether the client may omit PKCE (oauth/pkcepolicy).
func (c client) PKCEOptional() bool { return c.c.PKCEIsOptional() }

// pkceOptional is oauth/pkcepolicy's question about a fosite client.
func pkceOptional(c fosite.Client) bool {
	o, ok := c.(interface{ PKCEOptional() bool })
	return ok && o.PKCEOptional()
}

// GetResponseTypes: only the code flow exists (RFC 9700 §2.1.2: no implicit grant).
func (c client) GetResponseTypes() fosite.Arguments { return fosite.Arguments{"code"} }

// GetResponseModes: every client may ask for query (the default) or form_post (OAuth 2.0
// Form Post Response Mode); fragment is the implicit flow's and is refused.
func (c client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeQuery, fosite.ResponseModeFormPost}
}

// clientCacheTTL bounds how stale a node's view of a client may be. A deleted client, a
// rotated secret or a changed redirect URI takes effect on every node within this time:
// each node reloads the row from the shared database once its entry is older than the TTL.
const clientCacheTTL = 5 * time.Second

// clientCache caches client rows per node; authorization and token requests read the same
// client several times per request and on every request.
type clientCache struct {
	db  storage.ClientStore
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedClient
}

// cachedClient holds a *client: fosite.Client is an interface, and boxing the client value
// (a whole storage.Client) into it allocated a copy on every lookup, several per request.
type cachedClient struct {
	c       *client
	expires time.Time
}

func newClientCache(db storage.ClientStore, now func() time.Time) *clientCache {
	return &clientCache{db: db, now: now, m: map[string]cachedClient{}}
}

func (cc *clientCache) get(ctx context.Context, id string) (*client, error) {
	if !validClientID(id) {
		// Not a name any client can have (client ids are 1–64 printable characters): not
		// found, without asking the database, which may refuse invalid UTF-8 with an error.
		return nil, fmt.Errorf("get client: %w", storage.ErrNotFound)
	}
	now := cc.now()
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c, nil
	}
	sc, err := cc.db.GetClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get client %q: %w", id, err)
	}
	c := &client{sc}
	cc.mu.Lock()
	// Drop expired entries while we hold the lock so unknown ids cannot grow the map: only
	// found clients are cached, and each for clientCacheTTL.
	for k, v := range cc.m {
		if !now.Before(v.expires) {
			delete(cc.m, k)
		}
	}
	cc.m[id] = cachedClient{c: c, expires: now.Add(clientCacheTTL)}
	cc.mu.Unlock()
	return c, nil
}

// secretHasher is the fosite.Hasher for client secrets: SHA-256 with a constant-time
// compare. Facet generates every client secret from 256 random bits, so it cannot be
// guessed or found in a dictionary; a slow password KDF (bcrypt, PBKDF2) only protects
// low-entropy secrets. Here it would add milliseconds of CPU to every token request and buy
// nothing — in Hydra, PBKDF2 client-secret hashing is about 77% of the token endpoint's CPU.
type secretHasher struct{}

var _ fosite.Hasher = secretHasher{}

// Hash returns SHA-256(data), the form registration stores (registration.HashSecret).
func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return registration.HashSecret(string(data)), nil
}

// Compare checks data against hash in constant time.
func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	h := sha256.Sum256(data)
	if len(hash) != len(h) || subtle.ConstantTimeCompare(hash, h[:]) != 1 {
		return errors.New("client secret mismatch")
	}
	return nil
}

// redirectURIAllowed is the strict match every authorization request passes, on top of
// fosite's: the requested URI equals a registered one byte for byte, except that for a
// loopback IP literal over http (RFC 8252 §7.3) the port may differ — scheme, host, path and
// query must still be equal.
func redirectURIAllowed(requested string, registered []string) bool {
	if slices.Contains(registered, requested) {
		return true
	}
	req, err := url.Parse(requested)
	if err != nil || req.Scheme != "http" || req.Fragment != "" || req.User != nil {
		return false
	}
	ip := net.ParseIP(req.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil {
			continue
		}
		if reg.Scheme == "http" && reg.Hostname() == req.Hostname() && reg.EscapedPath() == req.EscapedPath() &&
			reg.RawQuery == req.RawQuery && reg.User == nil {
			return true
		}
	}
	return false
}
