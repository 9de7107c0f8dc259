// Package demo is the demo app: a real OpenID Connect relying party served by Facet itself at
// /demo. It signs in with Facet through the same public endpoints any app uses (discovery,
// the authorization code flow with PKCE, token, ID token verification, userinfo, RP-initiated
// logout), over HTTP to the issuer, so a new user sees the whole flow work on a laptop in one
// command. It owns its client registration and its pages; it knows nothing of Facet's
// insides beyond oauth's client registration.
package demo

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/mux"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// ClientID is the public client the demo app is registered as.
const ClientID = "facet-demo"

// Cookie names. The login cookie carries state, nonce and PKCE verifier for ten minutes; the
// done cookie carries the state of a pending logout. Both are signed and encrypted, so the
// demo keeps nothing in memory and works behind several nodes.
const (
	demoLoginCookie = "facet_demo_login"
	demoDoneCookie  = "facet_demo"
)

// Config is what the demo app needs to know of the Facet serving it.
type Config struct {
	Issuer string // Facet's issuer; the demo lives at Issuer + "/demo"
	// Secret is the system secret; the cookie keys are derived from it.
	Secret []byte
	// SecureCookies gives the cookies the Secure attribute (an https issuer).
	SecureCookies bool
	// Client reaches the issuer (discovery, token, userinfo); nil: a client with a 10 s
	// timeout.
	Client *http.Client
	Now    func() time.Time // the ID token verifier's clock; nil: time.Now
}

// Handler serves the demo app's pages.
type Handler struct {
	issuer string
	now    func() time.Time // the ID token verifier's clock
	tmpl   *templates.Templates
	logger *slog.Logger
	client *http.Client
	login  *sessions.CookieStore
	done   *sessions.CookieStore
	// base is the long-lived context go-oidc keeps for fetching keys; it carries client.
	base context.Context

	mu       sync.Mutex
	provider *oidc.Provider // nil until the first successful discovery
	endURL   string         // end_session_endpoint from discovery
}

// New registers the demo client (idempotent: another node may have done it) and prepares
// the cookie keys. Discovery waits for the first request, since this server is not listening
// yet.
func New(ctx context.Context, cfg Config, store storage.ClientStore, tmpl *templates.Templates, logger *slog.Logger) (*Handler, error) {
	if err := register(ctx, cfg.Issuer, store); err != nil {
		return nil, err
	}
	hashKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "facet demo cookie authentication", 32)
	if err != nil {
		return nil, fmt.Errorf("derive cookie key: %w", err)
	}
	blockKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "facet demo cookie encryption", 32)
	if err != nil {
		return nil, fmt.Errorf("derive cookie key: %w", err)
	}
	newStore := func(maxAge int) *sessions.CookieStore {
		s := sessions.NewCookieStore(hashKey, blockKey)
		s.Options = &sessions.Options{Path: "/demo", HttpOnly: true, Secure: cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
		s.MaxAge(maxAge)
		return s
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		issuer: cfg.Issuer,
		now:    now,
		tmpl:   tmpl,
		logger: logger,
		client: client,
		login:  newStore(int((10 * time.Minute).Seconds())),
		done:   newStore(int((24 * time.Hour).Seconds())),
		base:   oidc.ClientContext(context.WithoutCancel(ctx), client),
	}, nil
}

// clientSpec is the registration of the demo app for an issuer.
func clientSpec(issuer string) registration.Spec {
	return registration.Spec{
		ID:                      ClientID,
		Name:                    "Facet demo app",
		Description:             "A sample app built into Facet that signs in with it and shows what it receives.",
		RedirectURIs:            []string{issuer + "/demo/callback"},
		PostLogoutRedirectURIs:  []string{issuer + "/demo"},
		GrantTypes:              []string{"authorization_code"},
		Scopes:                  []string{"openid", "profile", "email"},
		Public:                  true,
		TokenEndpointAuthMethod: "none",
		HomeURI:                 issuer + "/demo",
	}
}

// register creates the demo client, or brings its URLs in line with the current issuer when
// it exists already (the issuer's port may have changed since the last start).
func register(ctx context.Context, issuer string, store storage.ClientStore) error {
	spec := clientSpec(issuer)
	_, _, err := registration.Create(ctx, store, spec)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("register client %s: %w", ClientID, err)
	}
	existing, err := store.GetClient(ctx, ClientID)
	if err != nil {
		return fmt.Errorf("get client %s: %w", ClientID, err)
	}
	if slices.Equal(existing.RedirectURIs, spec.RedirectURIs) && slices.Equal(existing.PostLogoutRedirectURIs, spec.PostLogoutRedirectURIs) {
		return nil
	}
	if _, _, err := registration.Update(ctx, store, ClientID, spec, false); err != nil {
		return fmt.Errorf("update client %s: %w", ClientID, err)
	}
	return nil
}

// Routes lists the demo's pages.
func (d *Handler) Routes(r *mux.Router) {
	r.HandleFunc("/demo", d.home).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/demo/login", d.start).Methods(http.MethodPost)
	r.HandleFunc("/demo/callback", d.callback).Methods(http.MethodGet)
}

// view is the data of templates/demo.html.
type view struct {
	Issuer   string
	ClientID string
	Error    string // a message catalog key ("demo.error.*"), never an internal message
	// ErrorDetail is what Facet's error response said (error and error_description), shown
	// after the message: this page is a developer's view of the protocol.
	ErrorDetail string
	SignedOut   bool
	// After a successful sign-in:
	Subject       string
	IDTokenClaims string // indented JSON
	UserInfo      string // indented JSON
	LogoutURL     string
}

func (d *Handler) render(w http.ResponseWriter, r *http.Request, status int, page view) {
	page.Issuer = d.issuer
	page.ClientID = ClientID
	if err := d.tmpl.Render(w, r, status, "demo", page); err != nil {
		d.logger.ErrorContext(r.Context(), "render demo page", "err", err)
	}
}

// discover runs OpenID Connect discovery once it first succeeds; a failure is retried at the
// next request.
func (d *Handler) discover() (*oidc.Provider, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.provider != nil {
		return d.provider, d.endURL, nil
	}
	p, err := oidc.NewProvider(d.base, d.issuer)
	if err != nil {
		return nil, "", fmt.Errorf("discovery: %w", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, "", fmt.Errorf("discovery metadata: %w", err)
	}
	d.provider, d.endURL = p, meta.EndSession
	return p, meta.EndSession, nil
}

func (d *Handler) oauthConfig(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    ClientID,
		Endpoint:    p.Endpoint(),
		RedirectURL: d.issuer + "/demo/callback",
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// home shows the "Sign in with Facet" button, and the outcome of a logout.
func (d *Handler) home(w http.ResponseWriter, r *http.Request) {
	page := view{}
	if state := r.URL.Query().Get("state"); state != "" {
		sess, err := d.done.Get(r, demoDoneCookie)
		want, _ := sess.Values["logout_state"].(string)
		if err == nil && want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(state)) == 1 {
			page.SignedOut = true
			sess.Options.MaxAge = -1
			if err := sess.Save(r, w); err != nil {
				d.logger.ErrorContext(r.Context(), "clear demo cookie", "err", err)
			}
		}
	}
	d.render(w, r, http.StatusOK, page)
}

// start begins the authorization code flow with PKCE (S256), a state and a nonce.
func (d *Handler) start(w http.ResponseWriter, r *http.Request) {
	p, _, err := d.discover()
	if err != nil {
		d.logger.ErrorContext(r.Context(), "demo: discovery failed", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.discovery"})
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	sess, err := d.login.New(r, demoLoginCookie)
	if err != nil {
		d.logger.DebugContext(r.Context(), "demo: new login cookie", "err", err)
	}
	sess.Values["state"] = state
	sess.Values["nonce"] = nonce
	sess.Values["verifier"] = verifier
	if err := sess.Save(r, w); err != nil {
		d.logger.ErrorContext(r.Context(), "demo: save login cookie", "err", err)
		d.render(w, r, http.StatusInternalServerError, view{Error: "demo.error.start"})
		return
	}
	http.Redirect(w, r, d.oauthConfig(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// callback finishes the flow: it checks state and iss (RFC 9207), redeems the code with the
// PKCE verifier, verifies the ID token and its nonce, calls userinfo and shows what arrived.
func (d *Handler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, err := d.login.Get(r, demoLoginCookie)
	wantState, _ := sess.Values["state"].(string)
	if err != nil || wantState == "" {
		d.render(w, r, http.StatusBadRequest, view{Error: "demo.error.expired"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(wantState), []byte(q.Get("state"))) != 1 {
		d.render(w, r, http.StatusBadRequest, view{Error: "demo.error.state"})
		return
	}
	// The login cookie is single use, whatever happens next.
	sess.Options.MaxAge = -1
	if err := sess.Save(r, w); err != nil {
		d.logger.ErrorContext(r.Context(), "demo: clear login cookie", "err", err)
	}
	if iss := q.Get("iss"); iss != "" && iss != d.issuer {
		d.render(w, r, http.StatusBadRequest, view{Error: "demo.error.issuer"})
		return
	}
	if e := q.Get("error"); e != "" {
		detail := e
		if desc := q.Get("error_description"); desc != "" {
			detail += " — " + desc
		}
		d.render(w, r, http.StatusOK, view{Error: "demo.error.answered", ErrorDetail: detail})
		return
	}

	p, endURL, err := d.discover()
	if err != nil {
		d.logger.ErrorContext(r.Context(), "demo: discovery failed", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.discovery"})
		return
	}
	ctx := oidc.ClientContext(r.Context(), d.client)
	verifier, _ := sess.Values["verifier"].(string)
	tok, err := d.oauthConfig(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		d.logger.WarnContext(r.Context(), "demo: code exchange failed", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.exchange"})
		return
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken == "" {
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.no_id_token"})
		return
	}
	idToken, err := p.Verifier(&oidc.Config{ClientID: ClientID, Now: d.now}).Verify(ctx, rawIDToken)
	if err != nil {
		d.logger.WarnContext(r.Context(), "demo: ID token verification failed", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.id_token"})
		return
	}
	nonce, _ := sess.Values["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.nonce"})
		return
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		d.logger.ErrorContext(r.Context(), "demo: ID token claims", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.claims"})
		return
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		d.logger.WarnContext(r.Context(), "demo: userinfo failed", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.userinfo"})
		return
	}
	var userinfo map[string]any
	if err := info.Claims(&userinfo); err != nil {
		d.logger.ErrorContext(r.Context(), "demo: userinfo claims", "err", err)
		d.render(w, r, http.StatusBadGateway, view{Error: "demo.error.userinfo_claims"})
		return
	}

	page := view{Subject: idToken.Subject, IDTokenClaims: indent(claims), UserInfo: indent(userinfo)}
	if endURL != "" {
		logoutState := rand.Text()
		done, err := d.done.New(r, demoDoneCookie)
		if err != nil {
			d.logger.DebugContext(r.Context(), "demo: new done cookie", "err", err)
		}
		done.Values["logout_state"] = logoutState
		if err := done.Save(r, w); err != nil {
			d.logger.ErrorContext(r.Context(), "demo: save done cookie", "err", err)
		}
		page.LogoutURL = logoutURL(endURL, rawIDToken, d.issuer+"/demo", logoutState)
	}
	d.render(w, r, http.StatusOK, page)
}

// logoutURL is the RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2).
func logoutURL(endpoint, idToken, postLogout, state string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("client_id", ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

func indent(v map[string]any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}
