package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/storage"
)

// maxUpstreamBody bounds every response read from a provider (discovery, JWKS, token,
// userinfo).
const maxUpstreamBody = 1 << 20

// NewClient is the outbound client for providers: bounded in time and body size, and it
// follows no redirects (a provider's endpoints answer where they are). Providers are
// registered by the administrator, so their addresses may be internal.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: limitedTransport{next: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  10 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			IdleConnTimeout:        90 * time.Second,
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// limitedTransport cuts every response body at maxUpstreamBody.
type limitedTransport struct{ next http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = limitedBody{Reader: io.LimitReader(res.Body, maxUpstreamBody), Closer: res.Body}
	return res, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// Profile is what an upstream account says about itself, mapped onto our fields.
type Profile struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
}

// endpoint is one login method ready to use: its OAuth 2.0 configuration and, for OIDC, the
// ID token verifier from discovery.
type endpoint struct {
	method   storage.LoginMethod
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	userinfo string
	// deviceID and userinfoPOST are the method's preset's departures from OAuth 2.0
	// (Preset.DeviceID, Preset.UserinfoPOST).
	deviceID     bool
	userinfoPOST bool
}

// endpoints keeps each method's discovery result, keyed by id and last change, so discovery
// and the provider's JWKS are fetched once per node rather than per sign-in.
type endpoints struct {
	mu   sync.Mutex
	byID map[string]*endpoint
}

func (e *endpoints) get(ctx context.Context, client *http.Client, secret []byte, issuer string, m storage.LoginMethod) (*endpoint, error) {
	key := m.ID + "@" + m.UpdatedAt.String()
	e.mu.Lock()
	ep := e.byID[key]
	e.mu.Unlock()
	if ep != nil {
		return ep, nil
	}
	clientSecret, err := openSecret(secret, m.ID, m.ClientSecret)
	if err != nil {
		return nil, err
	}
	ep = &endpoint{method: m, conf: oauth2.Config{ClientID: m.ClientID, ClientSecret: clientSecret,
		RedirectURL: CallbackURL(issuer, m.ID), Scopes: m.Scopes}}
	switch m.Type {
	case storage.MethodOIDC:
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), m.Issuer)
		if err != nil {
			return nil, fmt.Errorf("discovery of %s: %w", m.Issuer, err)
		}
		ep.conf.Endpoint = p.Endpoint()
		ep.userinfo = p.UserInfoEndpoint()
		// The verifier's key set fetches JWKS with the client of the context it was built
		// with, for as long as it lives.
		ep.verifier = p.VerifierContext(oidc.ClientContext(context.WithoutCancel(ctx), client), &oidc.Config{ClientID: m.ClientID})
		if len(ep.conf.Scopes) == 0 {
			ep.conf.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
		}
	case storage.MethodOAuth2:
		ep.conf.Endpoint = oauth2.Endpoint{AuthURL: m.AuthURL, TokenURL: m.TokenURL}
		ep.userinfo = m.UserinfoURL
		if p := Presets[m.Preset]; p.DeviceID || p.UserinfoPOST {
			ep.deviceID, ep.userinfoPOST = p.DeviceID, p.UserinfoPOST
			ep.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		}
	default:
		return nil, fmt.Errorf("login method %q: unknown type %q", m.ID, m.Type)
	}
	e.mu.Lock()
	if e.byID == nil {
		e.byID = map[string]*endpoint{}
	}
	for k, old := range e.byID {
		if old.method.ID == m.ID {
			delete(e.byID, k)
		}
	}
	e.byID[key] = ep
	e.mu.Unlock()
	return ep, nil
}

// Errors of the callback, each shown as its own readable page.
var (
	errUpstreamDenied = errors.New("the provider answered with an error")
	errBadIDToken     = errors.New("ID token not valid")
	errNonce          = errors.New("nonce mismatch")
	errNoSubject      = errors.New("no subject")
)

// callback is what the provider's redirect to the callback carried besides the state.
type callback struct {
	Code, DeviceID, State string
}

// errNoDeviceID: a method whose token request needs the callback's device_id got none.
var errNoDeviceID = errors.New("the callback has no device_id")

// exchange redeems the callback's code (with the PKCE verifier; for a DeviceID method also
// its device_id and state) and returns the upstream profile. For OIDC
// the ID token is verified (signature by the provider's JWKS, iss, aud, expiry) and its nonce
// compared; claims come from the ID token, completed by userinfo when the provider has one
// (its sub must be the ID token's, OIDC Core §5.3.2).
func (ep *endpoint) exchange(ctx context.Context, client *http.Client, cb callback, verifier, nonce string) (Profile, error) {
	ctx = oidc.ClientContext(ctx, client)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if ep.deviceID {
		if cb.DeviceID == "" {
			return Profile{}, errNoDeviceID
		}
		opts = append(opts, oauth2.SetAuthURLParam("device_id", cb.DeviceID), oauth2.SetAuthURLParam("state", cb.State))
	}
	tok, err := ep.conf.Exchange(ctx, cb.Code, opts...)
	if err != nil {
		return Profile{}, fmt.Errorf("token request: %w", err)
	}
	claims := map[string]any{}
	if ep.verifier != nil {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			return Profile{}, fmt.Errorf("%w: the token response has no id_token", errBadIDToken)
		}
		idt, err := ep.verifier.Verify(ctx, raw)
		if err != nil {
			return Profile{}, fmt.Errorf("%w: %w", errBadIDToken, err)
		}
		if !equal(idt.Nonce, nonce) {
			return Profile{}, errNonce
		}
		if err := idt.Claims(&claims); err != nil {
			return Profile{}, fmt.Errorf("%w: claims: %w", errBadIDToken, err)
		}
	}
	if ep.userinfo != "" {
		info, err := ep.fetchUserinfo(ctx, client, tok)
		if err != nil {
			return Profile{}, err
		}
		if ep.verifier != nil {
			if sub, _ := info["sub"].(string); sub != claims["sub"] {
				return Profile{}, fmt.Errorf("userinfo sub %q is not the ID token's", sub)
			}
		}
		for k, v := range info {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	p := mapProfile(claims, ep.method.ClaimMap, ep.method.Type)
	if p.Subject == "" {
		return Profile{}, errNoSubject
	}
	return p, nil
}

func (ep *endpoint) fetchUserinfo(ctx context.Context, client *http.Client, tok *oauth2.Token) (map[string]any, error) {
	var req *http.Request
	var err error
	if ep.userinfoPOST {
		form := url.Values{"client_id": {ep.conf.ClientID}, "access_token": {tok.AccessToken}}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, ep.userinfo, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, ep.userinfo, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo: status %d", res.StatusCode)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var info map[string]any
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return info, nil
}

// mapProfile picks our fields out of claims by the method's claim map (the standard claim
// names for an OIDC method without one). A dotted member name reaches into nested objects;
// numbers become their decimal text.
func mapProfile(claims map[string]any, claimMap map[string]string, typ string) Profile {
	member := func(field string) any {
		name, ok := claimMap[field]
		if !ok && typ == storage.MethodOIDC {
			name = field
		}
		if name == "" {
			return nil
		}
		var v any = claims
		for _, part := range strings.Split(name, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = obj[part]
		}
		return v
	}
	str := func(field string) string {
		switch v := member(field).(type) {
		case string:
			return strings.TrimSpace(v)
		case json.Number:
			return v.String()
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	verified := false
	switch v := member("email_verified").(type) {
	case bool:
		verified = v
	case string:
		verified = v == "true"
	}
	return Profile{Subject: str("sub"), Email: strings.ToLower(str("email")), EmailVerified: verified,
		Name: str("name"), GivenName: str("given_name"), FamilyName: str("family_name"), Picture: str("picture")}
}
