package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

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

// GetResponseTypes: only the code flow exists (RFC 9700 §2.1.2: no implicit grant).
func (c client) GetResponseTypes() fosite.Arguments { return fosite.Arguments{"code"} }

// GetResponseModes lets a client say response_mode=query explicitly; query is the only
// mode (no fragment or form_post), so RFC 9207's iss is always a query parameter.
func (c client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeQuery}
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

// Hash returns SHA-256(data).
func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return h[:], nil
}

// Compare checks data against hash in constant time.
func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	h := sha256.Sum256(data)
	if len(hash) != len(h) || subtle.ConstantTimeCompare(hash, h[:]) != 1 {
		return errors.New("client secret mismatch")
	}
	return nil
}

// ClientSpec is what an administrator registers (CLI, demo bootstrap).
type ClientSpec struct {
	ID, Name                             string
	RedirectURIs, PostLogoutRedirectURIs []string
	GrantTypes, Scopes                   []string
	Public                               bool
	TokenEndpointAuthMethod              string
	LogoURI, PolicyURI, HomeURI          string
	Description                          string
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	// scopePattern is RFC 6749 §3.3's scope-token (NQCHAR).
	scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
)

// ValidateNewClientID checks the id an administrator chose for a new client: what
// ValidateClientSpec allows (1–64 of RFC 3986's unreserved characters), starting with a letter
// or digit. An id starting with "-" reads as a flag on the command line (`facet clients get
// -x`), one starting with "_" is easy to misread, and generated ids follow the same rule
// (newID). Only creation applies it, so a client registered before keeps its id and can still
// be updated.
func ValidateNewClientID(id string) error {
	if !clientIDPattern.MatchString(id) {
		return errClientIDChars
	}
	if c := id[0]; c == '-' || c == '_' || c == '.' || c == '~' {
		return errors.New("client id: must start with a letter or digit")
	}
	return nil
}

var errClientIDChars = errors.New("client id: use 1–64 letters, digits, '.', '_', '~' or '-'")

// Defaults applied by CreateClient and UpdateClient when the spec leaves them empty.
var (
	DefaultGrantTypes = []string{"authorization_code", "refresh_token"}
	DefaultScopes     = []string{"openid", "profile", "email", "offline_access"}
)

// ValidateClientSpec checks a registration: exact redirect URIs without fragments or
// wildcards, https except loopback (RFC 9700 §2.1, §4.1.3; RFC 6749 §3.1.2; RFC 8252 §7.3),
// `none` authentication only for public clients (RFC 6749 §2.1, §2.3), and only the grants
// Facet serves.
func ValidateClientSpec(spec ClientSpec) error {
	spec = withDefaults(spec)
	if spec.ID != "" && !clientIDPattern.MatchString(spec.ID) {
		return errClientIDChars
	}
	if strings.TrimSpace(spec.Name) == "" {
		return errors.New("name: required")
	}
	for _, g := range spec.GrantTypes {
		switch g {
		case "authorization_code", "refresh_token":
		case "client_credentials":
			if spec.Public {
				return errors.New("grant types: a public client cannot use client_credentials")
			}
		default:
			return fmt.Errorf("grant types: %q is not supported (use authorization_code, refresh_token, client_credentials)", g)
		}
	}
	hasCode := slices.Contains(spec.GrantTypes, "authorization_code")
	if slices.Contains(spec.GrantTypes, "refresh_token") && !hasCode {
		return errors.New("grant types: refresh_token needs authorization_code")
	}
	if hasCode && len(spec.RedirectURIs) == 0 {
		return errors.New("redirect URIs: at least one is required for authorization_code")
	}
	for _, u := range spec.RedirectURIs {
		if err := validateRegisteredURI(u); err != nil {
			return fmt.Errorf("redirect URI %q: %w", u, err)
		}
	}
	for _, u := range spec.PostLogoutRedirectURIs {
		if err := validateRegisteredURI(u); err != nil {
			return fmt.Errorf("post-logout redirect URI %q: %w", u, err)
		}
	}
	for _, s := range spec.Scopes {
		if !scopePattern.MatchString(s) {
			return fmt.Errorf("scope %q: only printable ASCII without spaces, '\"' or '\\'", s)
		}
	}
	switch m := spec.TokenEndpointAuthMethod; m {
	case "none":
		if !spec.Public {
			return errors.New("token endpoint auth method: none is only for public clients")
		}
	case "client_secret_basic", "client_secret_post":
		if spec.Public {
			return errors.New("token endpoint auth method: a public client has no secret, use none")
		}
	default:
		return fmt.Errorf("token endpoint auth method: %q is not supported (client_secret_basic, client_secret_post, none)", m)
	}
	for name, u := range map[string]string{"logo URI": spec.LogoURI, "policy URI": spec.PolicyURI, "home URI": spec.HomeURI} {
		if u == "" {
			continue
		}
		if err := validateRegisteredURI(u); err != nil {
			return fmt.Errorf("%s %q: %w", name, u, err)
		}
	}
	return nil
}

func withDefaults(spec ClientSpec) ClientSpec {
	if len(spec.GrantTypes) == 0 {
		spec.GrantTypes = DefaultGrantTypes
	}
	if len(spec.Scopes) == 0 {
		spec.Scopes = DefaultScopes
	}
	if spec.TokenEndpointAuthMethod == "" {
		spec.TokenEndpointAuthMethod = "client_secret_basic"
		if spec.Public {
			spec.TokenEndpointAuthMethod = "none"
		}
	}
	return spec
}

// validateRegisteredURI accepts an absolute https URL, or http on a loopback host
// (127.0.0.0/8, [::1], localhost), with no fragment, user info or wildcard (RFC 9700 §4.1.3,
// RFC 6749 §3.1.2, RFC 8252 §7.3).
func validateRegisteredURI(raw string) error {
	if strings.Contains(raw, "*") {
		return errors.New("wildcards are not allowed")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL with a host")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment (#)")
	}
	if u.User != nil {
		return errors.New("must not contain user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (http only for loopback addresses)")
	}
	return errors.New("must use https (http only for loopback addresses)")
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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

// newSecret returns a client secret from 256 random bits, base64url-encoded.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a client id from 128 random bits, base64url-encoded, starting with a letter
// or digit: an id starting with "-" reads as a flag on the command line (`facet clients
// update -Ch…` failed), and one starting with "_" is easy to misread.
func newID() string {
	b := make([]byte, 16)
	for {
		_, _ = rand.Read(b)
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' && id[0] != '_' {
			return id
		}
	}
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func applySpec(c *storage.Client, spec ClientSpec) {
	c.Name = strings.TrimSpace(spec.Name)
	c.Description = spec.Description
	c.LogoURI, c.PolicyURI, c.HomeURI = spec.LogoURI, spec.PolicyURI, spec.HomeURI
	c.RedirectURIs = slices.Clone(spec.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(spec.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(spec.GrantTypes)
	c.ResponseTypes = []string{"code"}
	c.Scopes = slices.Clone(spec.Scopes)
	c.Public = spec.Public
	c.TokenEndpointAuthMethod = spec.TokenEndpointAuthMethod
}

// CreateClient validates spec and registers the client. For a confidential client it returns
// the plaintext secret, which is shown once and stored only as a hash.
func CreateClient(ctx context.Context, store storage.ClientStore, spec ClientSpec) (storage.Client, string, error) {
	spec = withDefaults(spec)
	if err := ValidateClientSpec(spec); err != nil {
		return storage.Client{}, "", err
	}
	if spec.ID != "" {
		if err := ValidateNewClientID(spec.ID); err != nil {
			return storage.Client{}, "", err
		}
	}
	now := time.Now().UTC()
	c := storage.Client{ID: spec.ID, CreatedAt: now, UpdatedAt: now}
	if c.ID == "" {
		c.ID = newID()
	}
	applySpec(&c, spec)
	var secret string
	if !c.Public {
		secret = newSecret()
		c.SecretHash = hashSecret(secret)
	}
	if err := store.CreateClient(ctx, c); err != nil {
		return storage.Client{}, "", fmt.Errorf("create client %q: %w", c.ID, err)
	}
	return c, secret, nil
}

// UpdateClient replaces the client's registration with spec (its ID is kept). With
// rotateSecret, or when a public client becomes confidential, a new secret is generated and
// returned once; the old one stops working on every node within clientCacheTTL.
func UpdateClient(ctx context.Context, store storage.ClientStore, id string, spec ClientSpec, rotateSecret bool) (storage.Client, string, error) {
	spec = withDefaults(spec)
	spec.ID = id
	if err := ValidateClientSpec(spec); err != nil {
		return storage.Client{}, "", err
	}
	c, err := store.GetClient(ctx, id)
	if err != nil {
		return storage.Client{}, "", fmt.Errorf("get client %q: %w", id, err)
	}
	applySpec(&c, spec)
	c.UpdatedAt = time.Now().UTC()
	var secret string
	switch {
	case c.Public:
		c.SecretHash = nil
	case rotateSecret || len(c.SecretHash) == 0:
		secret = newSecret()
		c.SecretHash = hashSecret(secret)
	}
	if err := store.UpdateClient(ctx, c); err != nil {
		return storage.Client{}, "", fmt.Errorf("update client %q: %w", id, err)
	}
	return c, secret, nil
}
