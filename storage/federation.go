package storage

import (
	"context"
	"errors"
	"time"
)

// Login method types.
const (
	// MethodOIDC: an OpenID Connect provider found by issuer discovery; ID tokens are verified.
	MethodOIDC = "oidc"
	// MethodOAuth2: a plain OAuth 2.0 provider with a userinfo endpoint whose JSON is mapped onto
	// our fields.
	MethodOAuth2 = "oauth2"
)

// LoginMethod is an upstream provider users may sign in with and link to their profile.
// ClientSecret is encrypted with the system secret by the caller (oauth/federation); storage
// only keeps the bytes. ClaimMap maps our field names (sub, email, email_verified, name,
// given_name, family_name, picture) onto the provider's claim or userinfo member names.
type LoginMethod struct {
	ID           string
	Name         string
	Type         string
	Preset       string
	Issuer       string
	AuthURL      string
	TokenURL     string
	UserinfoURL  string
	ClientID     string
	ClientSecret []byte // encrypted
	Scopes       []string
	ClaimMap     map[string]string
	IconURL      string
	// Public: offered for linking in the profile. LoginPage: a button on the login form.
	Public    bool
	LoginPage bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Identifier links an account at an upstream provider (login method + the provider's
// subject) to one user. Email, Name and Picture are what the provider said at the last
// sign-in, shown in the profile.
type Identifier struct {
	ID         string
	UserID     string
	MethodID   string
	Subject    string
	Email      string
	Name       string
	Picture    string
	LinkedAt   time.Time
	LastUsedAt time.Time
}

// ErrLastSignInMethod: the identifier is the account's last way to sign in (no password, no
// other identifier); it is not removed.
var ErrLastSignInMethod = errors.New("last way to sign in")

// FederationStore persists login methods and the identifiers linked to accounts. One upstream
// account (method, subject) belongs to at most one user: CreateIdentifier returns
// ErrAlreadyExists for a pair linked already. Deleting a login method deletes its identifiers;
// deleting a user deletes theirs.
type FederationStore interface {
	CreateLoginMethod(ctx context.Context, m LoginMethod) error
	GetLoginMethod(ctx context.Context, id string) (LoginMethod, error)
	// ListLoginMethods returns every method ordered by name, then id.
	ListLoginMethods(ctx context.Context) ([]LoginMethod, error)
	UpdateLoginMethod(ctx context.Context, m LoginMethod) error
	DeleteLoginMethod(ctx context.Context, id string) error

	CreateIdentifier(ctx context.Context, i Identifier) error
	// GetIdentifierBySubject returns the identifier of (methodID, subject), ErrNotFound when
	// none is linked.
	GetIdentifierBySubject(ctx context.Context, methodID, subject string) (Identifier, error)
	// ListIdentifiers returns userID's identifiers, oldest link first.
	ListIdentifiers(ctx context.Context, userID string) ([]Identifier, error)
	// TouchIdentifier records a sign-in with identifier id at at, with what the provider said
	// about the account now; ErrNotFound when it is gone.
	TouchIdentifier(ctx context.Context, id, email, name, picture string, at time.Time) error
	// DeleteIdentifier removes userID's identifier id unless it is the account's last way to
	// sign in (ErrLastSignInMethod): the check and the delete are one transaction that holds
	// the user's row, so two concurrent deletes cannot both pass it. ErrNotFound when userID
	// has no identifier id. The identifier's privacy level (the profile field
	// "identifier:{id}") goes with it.
	DeleteIdentifier(ctx context.Context, userID, id string) error
}
