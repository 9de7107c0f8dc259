// Package registration is how an app becomes a client of Facet: the rules a registration
// follows (exact redirect URIs without fragments or wildcards, https except on loopback —
// RFC 9700 §2.1 and §4.1.3, RFC 6749 §3.1.2, RFC 8252 §7.3 —, only the grants Facet serves,
// `none` authentication for public clients only), client ids, and secrets of 256 random bits
// stored as a hash. Administrators use it through the CLI; the demo app registers itself.
// oauth serves the registered clients; this package serves no route.
package registration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// Spec is what an administrator registers (CLI, demo bootstrap).
type Spec struct {
	ID, Name                             string
	RedirectURIs, PostLogoutRedirectURIs []string
	GrantTypes, Scopes                   []string
	Public                               bool
	TokenEndpointAuthMethod              string
	LogoURI, PolicyURI, HomeURI          string
	Description                          string
	// BackchannelLogoutURI receives logout tokens (OIDC Back-Channel Logout 1.0 §2.2); it
	// follows the redirect URI rules. BackchannelLogoutSessionRequired asks for sid in them.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	// PKCE is the PKCE policy: storage.PKCERequired (the default, and the only one for a
	// public client) or storage.PKCEOptional (a confidential client may omit PKCE).
	PKCE string
	// Audience lists the audiences the client may request for its tokens (the audience
	// parameter): the client ids of the resource servers that may introspect them, or their
	// URIs, compared exactly.
	Audience []string
	// Closed admits only users holding access (invite-only); InCatalog lists the app in the
	// application catalog under Type.
	Closed, InCatalog bool
	// RequireMFA admits only sign-ins with a second factor (step-up otherwise).
	RequireMFA bool
	Type       string
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	// scopePattern is RFC 6749 §3.3's scope-token (NQCHAR).
	scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
)

// ValidateNewID checks the id an administrator chose for a new client: what
// Validate allows (1–64 of RFC 3986's unreserved characters), starting with a letter
// or digit. An id starting with "-" reads as a flag on the command line (`facet clients get
// -x`), one starting with "_" is easy to misread, and generated ids follow the same rule
// (newID). Only creation applies it, so a client registered before keeps its id and can still
// be updated.
func ValidateNewID(id string) error {
	if !clientIDPattern.MatchString(id) {
		return errClientIDChars
	}
	if c := id[0]; c == '-' || c == '_' || c == '.' || c == '~' {
		return errors.New("client id: must start with a letter or digit")
	}
	return nil
}

var errClientIDChars = errors.New("client id: use 1–64 letters, digits, '.', '_', '~' or '-'")

// Defaults applied by Create and Update when the spec leaves them empty.
var (
	DefaultGrantTypes = []string{"authorization_code", "refresh_token"}
	DefaultScopes     = []string{"openid", "profile", "email", "offline_access"}
)

// Validate checks a registration: exact redirect URIs without fragments or
// wildcards, https except loopback (RFC 9700 §2.1, §4.1.3; RFC 6749 §3.1.2; RFC 8252 §7.3),
// `none` authentication only for public clients (RFC 6749 §2.1, §2.3), and only the grants
// Facet serves.
func Validate(spec Spec) error {
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
	if u := spec.BackchannelLogoutURI; u != "" {
		if err := validateRegisteredURI(u); err != nil {
			return fmt.Errorf("back-channel logout URI %q: %w", u, err)
		}
	} else if spec.BackchannelLogoutSessionRequired {
		return errors.New("back-channel logout session required: needs a back-channel logout URI")
	}
	switch spec.PKCE {
	case storage.PKCERequired:
	case storage.PKCEOptional:
		if spec.Public {
			return errors.New("pkce: a public client always needs PKCE; optional is only for confidential clients")
		}
	default:
		return fmt.Errorf("pkce: %q is not a policy (use required or optional)", spec.PKCE)
	}
	for _, a := range spec.Audience {
		if !scopePattern.MatchString(a) {
			return fmt.Errorf("audience %q: only printable ASCII without spaces, '\"' or '\\'", a)
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

func withDefaults(spec Spec) Spec {
	if len(spec.GrantTypes) == 0 {
		spec.GrantTypes = DefaultGrantTypes
	}
	if len(spec.Scopes) == 0 {
		spec.Scopes = DefaultScopes
	}
	if spec.PKCE == "" {
		spec.PKCE = storage.PKCERequired
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

// HashSecret is what a client's secret is stored as: SHA-256, which oauth's fosite hasher
// compares against (a secret of 256 random bits needs no slow KDF).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func applySpec(c *storage.Client, spec Spec) {
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
	c.BackchannelLogoutURI = spec.BackchannelLogoutURI
	c.BackchannelLogoutSessionRequired = spec.BackchannelLogoutSessionRequired
	c.PKCE = spec.PKCE
	c.Audience = slices.Clone(spec.Audience)
	c.Closed, c.InCatalog, c.Type = spec.Closed, spec.InCatalog, strings.TrimSpace(spec.Type)
	c.RequireMFA = spec.RequireMFA
}

// Create validates spec and registers the client. For a confidential client it returns
// the plaintext secret, which is shown once and stored only as a hash.
func Create(ctx context.Context, store storage.ClientStore, spec Spec) (storage.Client, string, error) {
	spec = withDefaults(spec)
	if err := Validate(spec); err != nil {
		return storage.Client{}, "", err
	}
	if spec.ID != "" {
		if err := ValidateNewID(spec.ID); err != nil {
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
		c.SecretHash = HashSecret(secret)
	}
	if err := store.CreateClient(ctx, c); err != nil {
		return storage.Client{}, "", fmt.Errorf("create client %q: %w", c.ID, err)
	}
	return c, secret, nil
}

// Update replaces the client's registration with spec (its ID is kept). With
// rotateSecret, or when a public client becomes confidential, a new secret is generated and
// returned once; the old one stops working on every node once its client cache expires (5 s).
func Update(ctx context.Context, store storage.ClientStore, id string, spec Spec, rotateSecret bool) (storage.Client, string, error) {
	spec = withDefaults(spec)
	spec.ID = id
	if err := Validate(spec); err != nil {
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
		c.SecretHash = HashSecret(secret)
	}
	if err := store.UpdateClient(ctx, c); err != nil {
		return storage.Client{}, "", fmt.Errorf("update client %q: %w", id, err)
	}
	return c, secret, nil
}
