// Package oauth is Facet's OAuth 2.0 / OpenID Connect provider: fosite composed with only
// the flows Facet serves (authorization code + PKCE S256, refresh tokens with rotation,
// client credentials, OpenID Connect explicit flow, revocation, introspection), every
// protocol endpoint (authorize, consent, token, revoke, introspect, userinfo, discovery,
// JWKS, end_session).
//
// It asks two small questions of other packages: "who is signed in?" (Sessions, implemented by
// profile) and "may this app know this?" (consent), and tells the activity log what apps did
// (ActivityRecorder, wired by cmd). It does not own login pages, the profile, privacy rules
// or the activity log, nor the signing keys (oauth/keys), the stored form of a request
// (oauth/stored) or the rules of client registration (oauth/registration). store.go adapts
// Store to fosite's storage interfaces.
package oauth

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/oauth/formpost"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/pkcepolicy"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Config configures the provider. Zero lifespans take the defaults.
type Config struct {
	Issuer string // e.g. https://id.example.com, no trailing slash
	Secret []byte // the 32-byte system secret; HMAC and key-encryption keys are derived from it

	CodeLifespan    time.Duration // default 5 min, never more: codes are short-lived (RFC 6749 §4.1.2)
	AccessLifespan  time.Duration // default 15 min
	RefreshLifespan time.Duration // default 720 h; absolute, counted from the user's authorization
	IDTokenLifespan time.Duration // default 1 h

	// RefreshGrace is how long after a refresh the refresh token it rotated may be presented
	// again (configuration key refresh_token_grace): within it, the family's live refresh
	// token is rotated once more instead of the family being revoked, so a client whose
	// answer was lost keeps its grant. 0: none, every reuse revokes the family.
	RefreshGrace time.Duration

	// IDTokenOnRefresh makes every refresh-token grant with scope openid return a new ID token
	// (configuration key id_token_on_refresh). Off by default: OIDC Core §12.2 lets a refresh
	// response omit id_token, and signing one (RSA-2048) was most of a refresh's CPU. Relying
	// parties read current claims from userinfo either way.
	IDTokenOnRefresh bool

	// MFARequired is the installation's two-factor policy "required" (configuration key
	// mfa): every app sign-in needs a session with a second factor, as if every client were
	// registered with --require-mfa.
	MFARequired bool

	Now func() time.Time
}

// Store is what the provider persists: tokens with their requests (in transactions, as
// fosite's write units), the apps, the signing keys, and the accounts tokens belong to.
type Store interface {
	storage.Transactor
	storage.TokenStore
	storage.ClientStore
	storage.KeyStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	// PutSessionClient records the apps each browser session signs in to, for back-channel
	// logout.
	PutSessionClient(ctx context.Context, c storage.SessionClient) error
}

// Sessions answers "who is signed in?" for the authorize and end-session endpoints.
// profile.Handler implements it. End ends the browser session and records the logout in
// the user's activity log, naming clientID, the app that asked for it.
type Sessions interface {
	Current(r *http.Request) (storage.Session, bool, error)
	End(w http.ResponseWriter, r *http.Request, clientID string) error
	// FormLanguage returns r in the language the ui_locales of its parsed form asks for,
	// unless the signed-in user's own choice decides (OIDC Core 1.0 §3.1.2.1).
	FormLanguage(r *http.Request) *http.Request
}

// Paths of the endpoints.
const (
	PathAuth       = "/oauth2/auth"
	PathConsent    = "/oauth2/consent"
	PathToken      = "/oauth2/token"
	PathRevoke     = "/oauth2/revoke"
	PathIntrospect = "/oauth2/introspect"
	PathUserinfo   = "/userinfo"
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/.well-known/jwks.json"
	PathEndSession = "/oauth2/sessions/logout"
	pathLogin      = "/login"
	pathRegister   = "/register"
	// PathAuthServerMetadata is RFC 8414's metadata, the same document as PathDiscovery.
	PathAuthServerMetadata = "/.well-known/oauth-authorization-server"
)

// maxBody bounds every request body the protocol endpoints read.
const maxBody = 64 << 10

// Provider is the OAuth 2.0 / OpenID Connect core: fosite composed over the store, the
// signing keys and the token endpoints, and the verification of its access tokens for
// resource servers inside Facet (VerifyAccessToken). It knows nothing of browser sessions:
// the endpoints that ask who is signed in are Endpoints, built on a Provider, so the
// person's side can take a Provider's token verification at construction and be asked
// "who is signed in?" by the Endpoints built after it (no cycle, no field set after New).
type Provider struct {
	cfg       Config
	store     Store
	consent   *consent.Service
	templates *templates.Templates
	logger    *slog.Logger
	now       func() time.Time

	oauth     fosite.OAuth2Provider
	keys      *keys.Set
	clients   *clientCache
	discovery []byte
	responses formpost.Writer
	issued    *prometheus.CounterVec
	sids      *backchannel.SIDs
}

// New composes fosite and builds the provider. Call keys.Ensure before serving.
func New(cfg Config, db Store, cs *consent.Service, t *templates.Templates,
	logger *slog.Logger, reg prometheus.Registerer) (*Provider, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: issuer is required")
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if len(cfg.Secret) < 32 {
		return nil, errors.New("oauth: the system secret must have at least 32 bytes")
	}
	if cfg.CodeLifespan <= 0 || cfg.CodeLifespan > 5*time.Minute {
		cfg.CodeLifespan = 5 * time.Minute
	}
	if cfg.AccessLifespan <= 0 {
		cfg.AccessLifespan = 15 * time.Minute
	}
	if cfg.RefreshLifespan <= 0 {
		cfg.RefreshLifespan = 720 * time.Hour
	}
	if cfg.IDTokenLifespan <= 0 {
		cfg.IDTokenLifespan = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if t == nil {
		return nil, errors.New("oauth: templates are required")
	}
	hmacKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "facet oauth2 hmac v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive HMAC key: %w", err)
	}
	sids, err := backchannel.NewSIDs(cfg.Secret)
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return cfg.Now().UTC() }
	p := &Provider{
		cfg: cfg, store: db, consent: cs, templates: t, logger: logger, now: now,
		keys:      keys.NewSet(db, cfg.Secret, now),
		clients:   newClientCache(db, now),
		sids:      sids,
		responses: formpost.Writer{Templates: t, Logger: logger},
	}

	fc := &fosite.Config{
		IDTokenIssuer:         cfg.Issuer,
		AccessTokenIssuer:     cfg.Issuer,
		AuthorizeCodeLifespan: cfg.CodeLifespan,
		AccessTokenLifespan:   cfg.AccessLifespan,
		RefreshTokenLifespan:  cfg.RefreshLifespan,
		IDTokenLifespan:       cfg.IDTokenLifespan,
		GlobalSecret:          hmacKey,
		// PKCE for every code request, S256 only (RFC 9700 §2.1.1, RFC 7636 §4.2), unless a
		// confidential client is registered with pkce optional: oauth/pkcepolicy decides per
		// client and does not read these two.
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.ExactAudienceMatchingStrategy,
		RedirectSecureChecker:          fosite.IsRedirectURISecureStrict,
		// select_account changes nothing (one account per browser); create opens registration.
		AllowedPromptValues:        []string{"login", "none", "consent", "select_account", "create"},
		RefreshTokenScopes:         []string{"offline_access"},
		ClientSecretsHasher:        secretHasher{},
		TokenURL:                   cfg.Issuer + PathToken,
		SendDebugMessagesToClients: false,
		MinParameterEntropy:        fosite.MinParameterEntropy,
	}
	signer := keys.NewSigner(p.keys)
	hmacStrategy := compose.NewOAuth2HMACStrategy(fc)
	strategy := &compose.CommonStrategy{
		CoreStrategy:               hmacStrategy,
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: signer, Config: fc},
		Signer:                     signer,
	}
	st := &store{
		db:            db,
		clients:       p.clients,
		codeSignature: hmacStrategy.AuthorizeCodeSignature,
		codeLifespan:  cfg.CodeLifespan,
		refreshGrace:  cfg.RefreshGrace,
		now:           p.now,
	}
	// Only the factories Facet serves: no implicit or password grant (RFC 9700 §2.1.2, §2.4),
	// no hybrid flow, PAR or JWT-bearer grants. Order matters: PKCE and OpenID Connect read the code the
	// authorization-code handler issued, and the OpenID refresh handler reads the scopes the
	// refresh handler granted.
	// Without IDTokenOnRefresh the OpenID refresh handler is not composed at all: a refresh
	// then returns access and refresh tokens only (OIDC Core §12.2).
	factories := []compose.Factory{
		compose.OAuth2AuthorizeExplicitFactory,
		p.refreshFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OpenIDConnectExplicitFactory,
	}
	if cfg.IDTokenOnRefresh {
		factories = append(factories, p.idTokenRefreshFactory)
	}
	factories = append(factories,
		pkcepolicy.Factory(pkceOptional),
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	p.oauth = compose.Compose(fc, st, strategy, factories...)
	guardTokenHandlers(fc)

	if p.discovery, err = discoveryDocument(cfg.Issuer); err != nil {
		return nil, err
	}
	p.issued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "facet_oauth_tokens_issued_total",
		Help: "Authorization codes and access tokens issued, by grant type.",
	}, []string{"grant_type"})
	if reg != nil {
		if err := reg.Register(p.issued); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return p, nil
}

// Endpoints are the provider's HTTP endpoints. The authorization and end-session endpoints
// ask sessions who is signed in (and end the session at logout); completion, when not nil,
// sends a signed-in user whose profile lacks mandatory fields to PathComplete before consent;
// activity records the consent decisions, the codes issued and the refresh-token families
// started in the user's activity log.
type Endpoints struct {
	*Provider
	sessions   Sessions
	completion Completion
	activity   ActivityRecorder
	access     AccessChecker
}

// NewEndpoints builds the endpoints of p. completion may be nil (nobody is asked to
// complete a profile); activity may be nil (no app activity is recorded).
func NewEndpoints(p *Provider, sessions Sessions, completion Completion, activity ActivityRecorder, opts ...EndpointOption) (*Endpoints, error) {
	if p == nil || sessions == nil {
		return nil, errors.New("oauth: endpoints need a provider and sessions")
	}
	if activity == nil {
		activity = noActivity{}
	}
	e := &Endpoints{Provider: p, sessions: sessions, completion: completion, activity: activity}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// Routes registers every endpoint in its group. protocol holds the endpoints other sites
// send requests to by design, so cmd gives them no cross-origin protection: those that take
// client authentication or a bearer token (token, revocation, introspection, userinfo),
// discovery and JWKS, the authorization endpoint a relying party redirects or posts to, and
// the end_session_endpoint, to which a relying party may POST from its own origin
// (RP-Initiated Logout 1.0 §2). browser holds the forms of our own pages (consent, logout
// confirmation), which are under cross-origin protection. Every endpoint that reads
// parameters reads them through an input guard (input.go) first.
func (p *Endpoints) Routes(browser, protocol *mux.Router) {
	protocol.HandleFunc(PathAuth, p.pageInput(p.handleAuthorize)).Methods(http.MethodGet, http.MethodPost)
	browser.HandleFunc(PathConsent, p.pageInput(p.handleConsent)).Methods(http.MethodPost)
	protocol.HandleFunc(PathToken, cors(p.tokenInput(p.handleToken))).Methods(http.MethodPost, http.MethodOptions)
	protocol.HandleFunc(PathRevoke, cors(p.revokeInput(p.handleRevoke))).Methods(http.MethodPost, http.MethodOptions)
	protocol.HandleFunc(PathIntrospect, p.introspectInput(p.handleIntrospect)).Methods(http.MethodPost)
	protocol.HandleFunc(PathUserinfo, cors(p.userinfoInput(p.handleUserinfo))).Methods(http.MethodGet, http.MethodPost, http.MethodOptions)
	protocol.HandleFunc(PathDiscovery, cors(p.handleDiscovery)).Methods(http.MethodGet, http.MethodOptions)
	protocol.HandleFunc(PathAuthServerMetadata, cors(p.handleDiscovery)).Methods(http.MethodGet, http.MethodOptions)
	protocol.HandleFunc(PathJWKS, cors(p.handleJWKS)).Methods(http.MethodGet, http.MethodOptions)
	protocol.HandleFunc(PathEndSession, p.pageInput(p.handleEndSession)).Methods(http.MethodGet, http.MethodPost)
	browser.HandleFunc(PathLogoutConfirm, p.pageInput(p.handleLogoutConfirm)).Methods(http.MethodPost)
}

// refreshHandler is fosite's refresh-token grant with two additions:
//
//   - an absolute lifetime: fosite sets every new refresh token's expiry to now+lifespan,
//     sliding it forever; we cap it at Session.GrantedAt+RefreshLifespan (RFC 9700 §4.14);
//   - current data: a user who is no longer active gets invalid_grant, and (with
//     Config.IDTokenOnRefresh) the ID token claims are recomputed through consent.Release, so
//     a refreshed ID token never carries a value the user has since hidden. Without it no ID
//     token is issued, so nothing is released (or recorded as disclosed) on refresh.
type refreshHandler struct {
	*oauth2.RefreshTokenGrantHandler
	p *Provider
}

func (p *Provider) refreshFactory(config fosite.Configurator, st any, strategy any) any {
	inner := compose.OAuth2RefreshTokenGrantFactory(config, st, strategy).(*oauth2.RefreshTokenGrantHandler)
	return &refreshHandler{RefreshTokenGrantHandler: inner, p: p}
}

// HandleTokenEndpointRequest runs fosite's checks, then caps the expiry and refreshes claims.
func (h *refreshHandler) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if err := h.RefreshTokenGrantHandler.HandleTokenEndpointRequest(ctx, req); err != nil {
		return err
	}
	sess, ok := req.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebug("unexpected session type")
	}
	if !sess.GrantedAt.IsZero() {
		limit := sess.GrantedAt.Add(h.p.cfg.RefreshLifespan)
		if exp := sess.GetExpiresAt(fosite.RefreshToken); exp.IsZero() || exp.After(limit) {
			sess.SetExpiresAt(fosite.RefreshToken, limit)
		}
		if exp := sess.GetExpiresAt(fosite.AccessToken); exp.After(limit) {
			sess.SetExpiresAt(fosite.AccessToken, limit)
		}
	}
	if h.p.cfg.IDTokenOnRefresh && req.GetGrantedScopes().Has("openid") {
		// The user and the release's inputs in one read.
		claims, _, err := h.p.consent.UserClaims(ctx, consent.TargetIDToken, h.p.cfg.Issuer, sess.GetSubject(),
			req.GetClient().GetID(), req.GetGrantedScopes(), sess.ClaimsRequest)
		if errors.Is(err, consent.ErrUserInactive) {
			return fosite.ErrInvalidGrant.WithHint("The account is no longer active.")
		} else if err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
		delete(claims, "sub") // fosite sets it from the session
		// The browser session the grant began in stays the ID token's session.
		if sid, ok := sess.IDTokenClaims().Extra["sid"]; ok {
			if claims == nil {
				claims = map[string]any{}
			}
			claims["sid"] = sid
		}
		if len(claims) == 0 {
			claims = nil
		}
		sess.IDTokenClaims().Extra = claims
		return nil
	}
	user, err := h.p.store.GetUser(ctx, sess.GetSubject())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && user.Status != storage.UserActive) {
		return fosite.ErrInvalidGrant.WithHint("The account is no longer active.")
	} else if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	// No ID token follows: do not carry the claims released at the code exchange forward
	// into the rotated rows.
	sess.IDTokenClaims().Extra = nil
	return nil
}

// idTokenRefresh is fosite's OpenID Connect refresh handler. It signs the ID token after the
// refresh handler committed the rotation, so a failure there (the signing keys unreadable)
// would answer 500 for tokens that are stored and valid, and the client, holding only the
// rotated refresh token, would lose the grant. The ID token is optional in a refresh response
// (OIDC Core §12.2): on a server error the response goes out without it, and the error is
// logged.
type idTokenRefresh struct {
	*openid.OpenIDConnectRefreshHandler
	p *Provider
}

func (p *Provider) idTokenRefreshFactory(config fosite.Configurator, st any, strategy any) any {
	inner := compose.OpenIDConnectRefreshFactory(config, st, strategy).(*openid.OpenIDConnectRefreshHandler)
	return &idTokenRefresh{OpenIDConnectRefreshHandler: inner, p: p}
}

// PopulateTokenEndpointResponse issues the ID token, or none when that fails on our side.
func (h *idTokenRefresh) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	err := h.OpenIDConnectRefreshHandler.PopulateTokenEndpointResponse(ctx, req, resp)
	if err != nil && fosite.ErrorToRFC6749Error(err).CodeField >= http.StatusInternalServerError {
		h.p.logger.ErrorContext(ctx, "refresh answered without an ID token", "err", err)
		return nil
	}
	return err
}
