// Package storage holds Facet's persisted types, the one Storage interface every backend
// implements, and the sentinel errors callers check with errors.Is.
//
// It owns the shape of the data, not its meaning: privacy rules live in consent, protocol
// rules in oauth. It never imports fosite; oauth/store.go adapts this interface to fosite's.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with %w; callers check them with errors.Is.
var (
	// ErrNotFound: no row matches.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique key (id, email, signature, ...) is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the row changed under us (e.g. a token already deactivated by a concurrent
	// request, a serialization failure or lock timeout). The caller may retry or report it; it is
	// never a server error.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database could not do the work for a reason of its own — the
	// connection was lost or refused, the server is shutting down, the disk is full, the
	// database is read-only or closed. It says nothing about the data asked for: callers answer
	// 503 and let the client retry, never "not found" or "invalid".
	ErrUnavailable = errors.New("storage unavailable")
)

// User status values: active, then pending_deletion during the recovery window, then purged.
const (
	UserActive          = "active"
	UserPendingDeletion = "pending_deletion"
	UserPurged          = "purged"
)

// User is an account. Email is stored lower-cased. A verified Email is unique among users; an
// unverified one may be held by several accounts (see AccountStore).
type User struct {
	ID            string    `db:"id"`
	Email         string    `db:"email"`
	EmailVerified bool      `db:"email_verified"`
	PasswordHash  string    `db:"password_hash"` // PHC string, argon2id
	Admin         bool      `db:"admin"`
	Status        string    `db:"status"`
	CreatedAt     time.Time `db:"created_at"`
	UpdatedAt     time.Time `db:"updated_at"`
}

// ProfileField is one value of a user's profile (given_name, birthdate, ...), keyed by the
// field catalog key that consent owns. Privacy is a consent level name ("private",
// "on_request", "public"); an empty or unknown value is treated as private by consent.
type ProfileField struct {
	UserID    string    `db:"user_id"`
	Field     string    `db:"field"`
	Value     string    `db:"value"`
	Privacy   string    `db:"privacy"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Client is a registered OAuth2 application. SecretHash is empty for public clients.
type Client struct {
	ID                      string   `db:"id"`
	SecretHash              []byte   `db:"secret_hash"`
	Name                    string   `db:"name"`
	Description             string   `db:"description"`
	LogoURI                 string   `db:"logo_uri"`
	PolicyURI               string   `db:"policy_uri"`
	HomeURI                 string   `db:"home_uri"`
	RedirectURIs            []string `db:"-"`
	PostLogoutRedirectURIs  []string `db:"-"`
	GrantTypes              []string `db:"-"`
	ResponseTypes           []string `db:"-"`
	Scopes                  []string `db:"-"`
	Audience                []string `db:"-"`
	Public                  bool     `db:"public"`
	TokenEndpointAuthMethod string   `db:"token_endpoint_auth_method"`
	// BackchannelLogoutURI is where Facet posts logout tokens (OIDC Back-Channel Logout 1.0
	// §2.2); empty: the app is not told. BackchannelLogoutSessionRequired: the app needs sid.
	BackchannelLogoutURI             string `db:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool   `db:"backchannel_logout_session_required"`
	// PKCE is the client's PKCE policy: PKCERequired (also what empty means) or PKCEOptional
	// (a confidential client may omit PKCE; a code_challenge it sends is still enforced).
	PKCE string `db:"pkce"`
	// Closed: the app admits only users holding access to it (InviteStore). InCatalog: it
	// is listed in the application catalog, in the group Type.
	Closed    bool   `db:"closed"`
	InCatalog bool   `db:"in_catalog"`
	Type      string `db:"type"`
	// RequireMFA: the app admits only sign-ins with a second factor (amr "mfa"); a session
	// without one is asked for it (step-up) before the app gets a code.
	RequireMFA bool      `db:"require_mfa"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

// PKCE policies of a client (Client.PKCE).
const (
	PKCERequired = "required"
	PKCEOptional = "optional"
)

// PKCEIsOptional reports whether c may omit PKCE: a confidential client registered with
// PKCEOptional. A public client always needs PKCE.
func (c Client) PKCEIsOptional() bool { return !c.Public && c.PKCE == PKCEOptional }

// SigningKey is a JWS signing key. PrivateKey is encrypted with the system secret by the
// caller (oauth); storage only keeps the bytes. The newest active key signs; retired keys stay
// published in JWKS until PublishUntil.
type SigningKey struct {
	ID           string     `db:"id"` // the JWK "kid"
	Algorithm    string     `db:"algorithm"`
	PrivateKey   []byte     `db:"private_key"` // encrypted
	PublicJWK    []byte     `db:"public_jwk"`  // JSON
	Active       bool       `db:"active"`
	CreatedAt    time.Time  `db:"created_at"`
	RetiredAt    *time.Time `db:"retired_at"`
	PublishUntil *time.Time `db:"publish_until"`
}

// Session is a browser session. ID is the hash of the value held in the cookie, never the
// value itself. AMR lists authentication methods ("pwd").
type Session struct {
	ID         string    `db:"id"`
	UserID     string    `db:"user_id"`
	AuthTime   time.Time `db:"auth_time"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"` // absolute timeout
	AMR        []string  `db:"-"`
	IP         string    `db:"ip"`
	UserAgent  string    `db:"user_agent"`
}

// Grant is a user's consent for one client: the scopes and the claim names allowed.
// Claims is the slot the field-level privacy engine (consent) fills.
type Grant struct {
	UserID    string    `db:"user_id"`
	ClientID  string    `db:"client_id"`
	Scopes    []string  `db:"-"`
	Claims    []string  `db:"-"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Storage is everything Facet persists. Every method takes ctx first; when ctx carries a
// transaction begun with BeginTx, the method runs inside it.
//
// Conventions every backend follows (storagetest checks them): times come back in UTC,
// truncated to the microsecond; empty lists come back nil; Update*, TouchSession and
// DeleteClient return ErrNotFound when no row matches, while DeleteToken, DeleteSession,
// DeleteGrant and DeleteProfileField are idempotent (an absent row is not an error).
type Storage interface {
	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	// ProbeWrite proves the database accepts and commits a write now (readiness: a full disk
	// or a read-only database still answers Ping). It upserts one settings row that every
	// node shares, so probes leave nothing behind however many nodes there are.
	ProbeWrite(ctx context.Context, now time.Time) error
	// Close releases the connection pool.
	Close() error

	// One interface per area; a module takes the ones it uses.
	Transactor
	UserStore
	ClientStore
	KeyStore
	SessionStore
	GrantStore
	SettingStore
	CounterStore
	LeaseStore
	TokenStore
	AccountStore
	ContactStore
	PhotoStore
	EventStore
	PrivacyStore
	AppStore
	BackchannelStore
	SecurityStore
	ChallengeStore
	LifecycleStore
	FederationStore
	CardStore
	FeatureStore
	InviteStore
	CatalogStore
}

// Transactor runs work in one transaction. BeginTx starts a transaction and returns a ctx
// carrying it; Commit and Rollback end the transaction carried by ctx. InTx runs fn in a
// transaction, committing when it returns nil.
type Transactor interface {
	BeginTx(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// UserStore persists accounts and their profile fields.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the account holding email verified, else the oldest holding it
	// unverified (AccountStore.UsersByEmail's first).
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User) error

	// Profile fields: all of a user's fields, and an upsert of some of them.
	GetProfileFields(ctx context.Context, userID string) ([]ProfileField, error)
	PutProfileFields(ctx context.Context, fields []ProfileField) error
	DeleteProfileField(ctx context.Context, userID, field string) error
}

// ClientStore persists the registered apps.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, id string) error
}

// KeyStore persists signing keys. CreateSigningKey with Active retires (Active=false,
// RetiredAt, PublishUntil) every other active key in the same transaction.
type KeyStore interface {
	CreateSigningKey(ctx context.Context, k SigningKey, publishRetiredUntil time.Time) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
}

// SessionStore persists browser sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int64, error)
}

// GrantStore persists consent grants, one per (user, client), and the claims declined with
// each. DeleteGrant removes the grant together with its declines.
type GrantStore interface {
	GetGrant(ctx context.Context, userID, clientID string) (Grant, error)
	PutGrant(ctx context.Context, g Grant) error
	DeleteGrant(ctx context.Context, userID, clientID string) error
	ListGrants(ctx context.Context, userID string) ([]Grant, error)

	// PutClaimDeclines records that userID declined each of claims for clientID at at (one
	// upsert each: a claim declined again keeps one row, with the later time). The grant of
	// (userID, clientID) must exist (ErrNotFound otherwise): a decline belongs to it, and
	// DeleteGrant forgets it.
	PutClaimDeclines(ctx context.Context, userID, clientID string, claims []string, at time.Time) error
	// DeleteClaimDeclines forgets userID's declines of claims for clientID (the user allows
	// them now); absent rows are not an error.
	DeleteClaimDeclines(ctx context.Context, userID, clientID string, claims []string) error
	// GetClaimDeclines returns userID's declines for clientID, ordered by claim.
	GetClaimDeclines(ctx context.Context, userID, clientID string) ([]ClaimDecline, error)
	// ListClaimDeclines returns userID's declines for every app, ordered by client id, then
	// claim.
	ListClaimDeclines(ctx context.Context, userID string) ([]ClaimDecline, error)
}

// ClaimDecline is an on-request claim a user declined to share with a client on its consent
// page. It stands until the user allows the claim, so the client's next authorization does
// not ask for it again.
type ClaimDecline struct {
	UserID     string
	ClientID   string
	Claim      string
	DeclinedAt time.Time
}

// SettingStore persists node-wide settings. PutSettingIfAbsent stores value under key unless
// a value is there already, and returns the stored value (first writer wins, so several nodes
// agree).
type SettingStore interface {
	GetSetting(ctx context.Context, key string) (string, error)
	PutSettingIfAbsent(ctx context.Context, key, value string) (string, error)
}

// CounterStore keeps the counters of rate limits: Hit adds one to key's counter for the
// window starting at windowStart (a new window resets it) and returns the new count, in one
// upsert.
type CounterStore interface {
	Hit(ctx context.Context, key string, windowStart time.Time) (int, error)
	ResetCounter(ctx context.Context, key string) error
}

// LeaseStore keeps the leases of jobs that must run on one node at a time: TryLease takes or
// renews the lease name for holder until now+ttl when it is free, expired or already held by
// holder.
type LeaseStore interface {
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}
