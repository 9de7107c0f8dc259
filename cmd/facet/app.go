package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/cmd/facet/demo"
	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/oauth/federation"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/apps"
	"github.com/facetid/facet/profile/card"
	appcatalog "github.com/facetid/facet/profile/catalog"
	"github.com/facetid/facet/profile/contact"
	"github.com/facetid/facet/profile/invite"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/profile/mfa"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/photo"
	"github.com/facetid/facet/profile/signin"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/templates"
)

// systemSecretSetting is the settings key under which development mode keeps the secret it
// generated, so every node sharing the database uses the same one.
const systemSecretSetting = "system_secret"

// app is one Facet node: every module wired together behind one handler. It holds no global
// state, so tests build as many as they like (each with its own Prometheus registry).
type app struct {
	cfg      config.Config
	logger   *slog.Logger
	store    storage.Storage
	registry *prometheus.Registry
	handler  http.Handler
	metrics  http.Handler
	// prof and events are kept for the maintenance job (unverified accounts, activity-log
	// retention); grants for tests.
	prof   *profile.Handler
	events *activity.Handler
	grants *consent.Service
	// logouts delivers the back-channel logout queue (runJobs).
	logouts *backchannel.Deliverer
	// purge erases the accounts whose recovery window is over (runJobs).
	purge *lifecycle.Purger
	// phone is the SMS and voice sender the contacts were built with (tests check it).
	phone notify.Sender
	// readiness is /health/ready's cached verdict (ready.go).
	readiness *readiness
	// router is the public router under the outer middleware (tests walk its routes).
	router *mux.Router
}

// newApp opens and migrates the database, resolves the system secret, makes sure a signing
// key exists and builds the routes. Zero fields of cfg take the defaults (a test sets Issuer
// to its httptest URL and DatabaseURL, and may set Now and Demo). Close releases the database.
func newApp(ctx context.Context, cfg config.Config, logger *slog.Logger) (*app, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := cfg.CheckDevelopmentIssuer(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if cfg.Mode == config.ModeDevelopment && !config.IsLocalIssuer(cfg.Issuer) {
		logger.Warn("development mode on a public issuer (allow_dev_on_public_issuer): /dev/mail answers loopback peers only; use mode=production for a real deployment", "issuer", cfg.Issuer)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, store: store, registry: prometheus.NewRegistry(),
		readiness: &readiness{store: store, now: cfg.Now}}
	if err := a.build(ctx); err != nil {
		if cerr := store.Close(); cerr != nil {
			logger.Error("close database", "err", cerr)
		}
		return nil, err
	}
	return a, nil
}

// build wires the modules; the one place where packages meet.
func (a *app) build(ctx context.Context) error {
	cfg := a.cfg
	secret, err := resolveSecret(ctx, cfg, a.store, a.logger)
	if err != nil {
		return err
	}
	before, err := activeSigningKey(ctx, a.store)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if err := keys.Ensure(ctx, a.store, secret); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	key, err := activeSigningKey(ctx, a.store)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if before.ID == "" {
		a.logger.Info("generated the first signing key", "kid", key.ID, "alg", key.Algorithm)
	} else {
		a.logger.Info("loaded the signing key", "kid", key.ID, "alg", key.Algorithm, "created_at", key.CreatedAt.UTC().Format(time.RFC3339))
	}
	if err := a.registry.Register(collectors.NewGoCollector()); err != nil {
		return fmt.Errorf("register go metrics: %w", err)
	}
	if err := a.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fmt.Errorf("register process metrics: %w", err)
	}
	metrics, err := newHTTPMetrics(a.registry)
	if err != nil {
		return err
	}

	tmpl, err := templates.New()
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	// One field catalog for the account pages and the consent decisions, so both agree on
	// what is mandatory, locked and private by default.
	catalog, err := consent.NewCatalog(cfg.CatalogConfig(cfg.Now))
	if err != nil {
		return fmt.Errorf("field catalog: %w", err)
	}
	mail, err := cfg.Mailer(a.store, a.logger)
	if err != nil {
		return err
	}
	phone, err := cfg.PhoneSender(a.store, a.logger)
	if err != nil {
		return fmt.Errorf("sms_sender %s: %w", cfg.SMSSender, err)
	}
	cfg.LogNotify(a.logger)
	events := activity.NewRecorder(a.store, a.logger, cfg.Now)
	grants, err := consent.NewService(a.store, catalog, a.logger, cfg.Now)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	provider, err := oauth.New(oauth.Config{
		Issuer:           cfg.Issuer,
		Secret:           secret,
		CodeLifespan:     cfg.CodeLifespan,
		AccessLifespan:   cfg.AccessTokenLifespan,
		RefreshLifespan:  cfg.RefreshTokenLifespan,
		RefreshGrace:     cfg.RefreshTokenGrace,
		IDTokenLifespan:  cfg.IDTokenLifespan,
		IDTokenOnRefresh: cfg.IDTokenOnRefresh,
		MFARequired:      cfg.MFA == "required",
		Now:              cfg.Now,
	}, a.store, grants, tmpl, a.logger, a.registry)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	// One back-channel logout queue for every way a session ends (RP-initiated logout,
	// password change, End Sessions, Revoke Permission, sign-out, log out everywhere).
	logouts := &backchannel.Notifier{Store: a.store, Now: cfg.Now}
	policy := lifecycle.Policy{}
	if cfg.PolicyFile != "" {
		if policy, err = lifecycle.LoadPolicy(cfg.PolicyFile); err != nil {
			return err
		}
	}
	// Sub-packages whose blocks sit on the profile page build on the kit the profile handler
	// is: each block goes through a closure bound once its handler exists.
	var life *lifecycle.Handler
	lifeBlock := func(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) {
		return life.OtherActions(ctx, u)
	}
	var fed *federation.Handler
	identifiers := func(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) { return fed.Block(ctx, u) }
	upstreamHints := func(ctx context.Context, u storage.User) (profile.Hints, error) {
		return fed.CompletionHints(ctx, u)
	}
	var cards *card.Handler
	var recovery *mfa.Handler
	cardBlock := func(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) {
		return cards.Block(ctx, u)
	}
	// The sidebar of every account page shows the catalog's button and favorites while the
	// catalog feature is on.
	var appCatalog *appcatalog.Handler
	favorites := func(ctx context.Context, userID string) (profile.SidebarApps, bool, error) {
		return appCatalog.Sidebar(ctx, userID)
	}
	passkeys := func(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
		return recovery.SecurityPasskeys(ctx, v)
	}
	// Closed apps admit only the users invite says hold access; its Requests tab counts the
	// invitations waiting for an answer.
	invites, err := invite.NewService(invite.Config{Issuer: cfg.Issuer, Secret: secret},
		invite.Deps{Store: a.store, Mail: mail, Logout: logouts, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	prof, err := profile.New(profile.Config{
		Issuer:          cfg.Issuer,
		Secret:          secret,
		SessionIdle:     cfg.SessionIdle,
		SessionAbsolute: cfg.SessionAbsolute,
		SecureCookies:   cfg.SecureCookies(),
		TrustedProxies:  cfg.TrustedProxies,
		Development:     cfg.Mode == config.ModeDevelopment,
		RecentAuth:      cfg.RecentAuth,

		UnverifiedAccountTTL: cfg.UnverifiedAccountTTL,
	}, profile.Deps{Store: a.store, Templates: tmpl, Logger: a.logger, Now: cfg.Now, Catalog: catalog, Tabs: []profile.TabSource{apps.Tab, invites.Tab(), activity.Tab}, Blocks: []profile.BlockSource{identifiers, cardBlock, apps.OtherActions, lifeBlock},
		PrivacyLinks: []profile.LinkSource{card.PublicDataLink},
		// The two-factor entries come from mfa, built on the kit below.
		Security: []profile.SecuritySource{apps.SecurityDevices, func(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
			return recovery.Security(ctx, v)
		}, passkeys},
		Hints:     []profile.HintSource{upstreamHints},
		Favorites: favorites,
		Mail:      mail, Events: events, Tokens: provider, Flows: flows(provider),
		Logouts: logouts})
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	eventLog := activity.New(prof, a.store, cfg.EventRetention, cfg.Now)
	// The device cookies of the login throttle are signed with a key of their own.
	deviceKey, err := profile.DeriveKey(secret, "facet login device cookie", 32)
	if err != nil {
		return err
	}
	fed, err = federation.New(federation.Config{Issuer: cfg.Issuer, Secret: secret, SecureCookies: cfg.SecureCookies(), Limits: cfg.LoginLimits.Signin()},
		federation.Deps{Kit: prof, Store: a.store, Events: events, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	recovery, err = mfa.New(mfa.Config{Issuer: cfg.Issuer, Secret: secret, PhoneRegion: cfg.PhoneRegion, Policy: cfg.MFA,
		SecureCookies: cfg.SecureCookies()},
		mfa.Deps{Kit: prof, Store: a.store, Events: events, Phone: phone, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	signIn, err := signin.New(signin.Deps{Kit: prof, Store: a.store, Events: events, Logger: a.logger, Now: cfg.Now,
		Limits: cfg.LoginLimits.Signin(), DeviceSecret: deviceKey, SecureCookies: cfg.SecureCookies(), Methods: fed,
		Second: recovery, Passkeys: mfa.PasskeysUsable(cfg.Issuer)})
	if err != nil {
		return fmt.Errorf("signin: %w", err)
	}
	contacts, err := contact.New(contact.Config{
		Issuer:               cfg.Issuer,
		Secret:               secret,
		Development:          cfg.Mode == config.ModeDevelopment,
		PhoneRegion:          cfg.PhoneRegion,
		UnverifiedAccountTTL: cfg.UnverifiedAccountTTL,
	}, contact.Deps{Kit: prof, Store: a.store, Events: events, Phone: phone, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("contact: %w", err)
	}
	a.prof, a.events, a.grants, a.phone = prof, eventLog, grants, phone
	total, err := backchannel.NewTotal(a.registry)
	if err != nil {
		return err
	}
	a.logouts = &backchannel.Deliverer{Store: a.store, Keys: keys.NewSet(a.store, secret, cfg.Now), Issuer: cfg.Issuer,
		Logger: a.logger, Now: cfg.Now, Total: total}
	// The account API accepts the provider's access tokens (scope "account"); the
	// authorization and end-session endpoints ask profile who is signed in, and send a user
	// whose profile lacks mandatory fields to complete it before any app signs them in; what
	// apps do with the account goes to the activity log.
	var _ profile.AuthTimeVerifier = provider
	endpoints, err := oauth.NewEndpoints(provider, prof, prof, appActivity{origin: prof.Origin, events: events},
		oauth.WithAccess(invites))
	if err != nil {
		return fmt.Errorf("oauth endpoints: %w", err)
	}
	appList, err := apps.New(apps.Deps{Kit: prof, Store: a.store, Events: events, Logout: logouts, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	cards, err = card.New(card.Deps{Kit: prof, Store: a.store, Tokens: provider, Issuer: cfg.Issuer,
		CardDefault: cfg.FeatureDefault(card.Feature), PhotoPrefix: photo.PathPrefix, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("card: %w", err)
	}
	appCatalog, err = appcatalog.New(appcatalog.Deps{Kit: prof, Store: a.store, Default: cfg.FeatureDefault(appcatalog.Feature),
		Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	// The export holds what federation, card and invite keep about the person; lifecycle
	// asks them through interfaces of its own.
	life, err = lifecycle.New(lifecycle.Config{Issuer: cfg.Issuer, Grace: cfg.DeletionGrace, PhotoPrefix: photo.PathPrefix, Policy: policy},
		lifecycle.Deps{Kit: prof, Store: a.store, Events: events, Logout: logouts, Logger: a.logger, Now: cfg.Now,
			Identifiers: fed, Cards: cards, Access: invites})
	if err != nil {
		return fmt.Errorf("lifecycle: %w", err)
	}
	a.purge = &lifecycle.Purger{Store: a.store, Logger: a.logger, Now: cfg.Now}
	invitations, err := invite.NewHandler(prof, invites, events)
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	photos, err := photo.New(photo.Config{MaxBytes: cfg.MaxPhotoBytes, HoldMemory: cfg.HoldMemory, Development: cfg.Mode == config.ModeDevelopment},
		photo.Deps{Kit: prof, Store: a.store, Events: events, Tokens: provider, Pictures: fed, Logger: a.logger, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("photo: %w", err)
	}

	var rp *demo.Handler
	if cfg.Demo {
		rp, err = demo.New(ctx, demo.Config{Issuer: cfg.Issuer, Secret: secret, SecureCookies: cfg.SecureCookies(),
			Client: cfg.HTTPClient, Now: cfg.Now}, a.store, tmpl, a.logger)
		if err != nil {
			return fmt.Errorf("demo app: %w", err)
		}
	}

	// One routes list: every module adds its own routes to the group they belong to, the
	// machine endpoints are here. The protocol group comes first: its few routes are the hot
	// paths (token, userinfo, introspection), matched before the many pages.
	r := mux.NewRouter()
	r.Use(routeName)
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, tmpl, a.logger, templates.ErrorPage{Status: http.StatusNotFound})
	})
	methodNotAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, tmpl, a.logger, templates.ErrorPage{Status: http.StatusMethodNotAllowed})
	})
	// mux runs a group's middleware only for a route it matched: the groups' own 405 and the
	// router's 404 (an unknown path is treated as a page) are wrapped here.
	// Every page is in the language the profile kit chooses for the request (the user's
	// locale, ui_locales, Accept-Language); on the protocol group only the two endpoints that
	// answer with pages choose one.
	cop := browserPages(a.logger, tmpl)
	pages := func(next http.Handler) http.Handler { return prof.WithLanguage(cop(next)) }
	protocol := r.NewRoute().Subrouter()
	protocol.Use(protocolEndpoints, pageLanguage(prof.WithLanguage, oauth.PathAuth, oauth.PathEndSession))
	protocol.MethodNotAllowedHandler = protocolEndpoints(methodNotAllowed)
	browser := r.NewRoute().Subrouter()
	browser.Use(pages)
	browser.MethodNotAllowedHandler = pages(methodNotAllowed)
	r.NotFoundHandler = pages(notFound)

	protocol.HandleFunc("/health/alive", a.alive).Methods(http.MethodGet, http.MethodHead)
	protocol.HandleFunc("/health/ready", a.ready).Methods(http.MethodGet, http.MethodHead)
	protocol.PathPrefix(templates.StaticPrefix).Handler(templates.StaticHandler()).Methods(http.MethodGet, http.MethodHead)
	endpoints.Routes(browser, protocol)
	account, api := prof.Routes(browser)
	signIn.Routes(account, api)
	contacts.Routes(account, api)
	recovery.Routes(account, api)
	appList.Routes(account, api)
	invitations.Routes(account, api)
	eventLog.Routes(account, api)
	photos.Routes(account, api)
	life.Routes(account, api)
	fed.Routes(account, api)
	cards.Routes(account, api)
	appCatalog.Routes(account, api)
	if rp != nil {
		rp.Routes(browser)
	}
	a.router = r

	var h http.Handler = r
	if cfg.SecureCookies() {
		h = strictTransport(h)
	}
	a.handler = observe(h, a.logger, metrics, tmpl, photos.BodyLimit)

	// The metrics (route counters, tokens issued, process figures) are for the operator, not
	// the public: serve puts them on their own listener (metrics_listen), never on r.
	m := http.NewServeMux()
	m.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	a.metrics = m
	return nil
}

// Handler is the whole public HTTP surface of the node.
func (a *app) Handler() http.Handler { return a.handler }

// MetricsHandler serves GET /metrics (Prometheus) for the metrics listener.
func (a *app) MetricsHandler() http.Handler { return a.metrics }

// Close releases the database.
func (a *app) Close() error { return a.store.Close() }

func (a *app) alive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, a.logger, http.StatusOK, map[string]string{"status": "ok"})
}

// openStore opens the configured database and applies the embedded migrations (under a
// lock, so several nodes may start at once).
func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*sqlstore.Store, error) {
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		if cerr := store.Close(); cerr != nil {
			logger.Error("close database", "err", cerr)
		}
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return store, nil
}

// resolveSecret returns the configured system secret. In development mode without one it
// generates a secret and stores it in the database (the first node to start wins, so all
// nodes agree) and says loudly that this is not for production.
func resolveSecret(ctx context.Context, cfg config.Config, store storage.Storage, logger *slog.Logger) ([]byte, error) {
	if len(cfg.Secret) == 32 {
		return cfg.Secret, nil
	}
	if cfg.Mode != config.ModeDevelopment {
		return nil, errors.New("production mode needs a system secret: set FACET_SECRET to 32 random bytes, base64 or hex (e.g. `openssl rand -base64 32`)")
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate system secret: %w", err)
	}
	stored, err := store.PutSettingIfAbsent(ctx, systemSecretSetting, base64.StdEncoding.EncodeToString(fresh))
	if err != nil {
		return nil, fmt.Errorf("store generated system secret: %w", err)
	}
	secret, err := config.DecodeSecret(stored)
	if err != nil {
		return nil, fmt.Errorf("stored system secret: %w", err)
	}
	logger.Warn("!!! DEVELOPMENT MODE: no FACET_SECRET is set, so Facet uses a generated system secret " +
		"kept IN THE DATABASE next to the data it protects. Fine on a laptop, NOT for production: " +
		"set FACET_SECRET (32 random bytes, base64 or hex) and FACET_MODE=production. !!!")
	return secret, nil
}

// activeSigningKey returns the active signing key, or the zero key when there is none yet.
func activeSigningKey(ctx context.Context, store storage.KeyStore) (storage.SigningKey, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("list signing keys: %w", err)
	}
	for _, k := range keys {
		if k.Active {
			return k, nil
		}
	}
	return storage.SigningKey{}, nil
}
