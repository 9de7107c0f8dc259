// Package invite owns closed apps' access: who may use an app that admits only invited users,
// the invitations administrators send (the email with the link, the link itself), and the
// Requests tab where a user accepts or declines them. Service has no HTTP and serves the CLI
// too; Handler serves the pages and the account API on top of it.
//
// It does not enforce access at sign-in: the authorization endpoint (oauth) asks Service.MayUse
// through an interface of its own. It does not deliver back-channel logout tokens: removing
// access tells a LogoutNotifier inside the transaction that ends the user's tokens.
package invite

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
)

// Store is the storage invite uses.
type Store interface {
	storage.Transactor
	storage.InviteStore
	GetClient(ctx context.Context, id string) (storage.Client, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	UsersByEmail(ctx context.Context, email string, limit int) ([]storage.User, error)
	RevokeSubject(ctx context.Context, subject, clientID string) (int64, error)
}

// LogoutNotifier queues back-channel logouts (OpenID Connect Back-Channel Logout 1.0 §2.5);
// it runs in the transaction that revokes the tokens (ctx carries it).
type LogoutNotifier interface {
	LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error)
}

// Config configures invitations. Zero values take the defaults.
type Config struct {
	Issuer string // the links' origin, e.g. https://id.example.com
	Secret []byte // the system secret; token hashes are keyed with a key derived from it
	// Expiry is how long an invitation stays valid by default (168 h).
	Expiry time.Duration
	// PerClientHourly bounds the invitations sent to one app per hour (100).
	PerClientHourly int
}

// Deps are the modules the service works with. Store is required.
type Deps struct {
	Store  Store
	Mail   profile.MailSender // nil sends no email (the link is printed instead)
	Logout LogoutNotifier     // nil tells no app
	Logger *slog.Logger       // nil discards
	Now    func() time.Time
}

// Service grants and removes access to closed apps and manages invitations.
type Service struct {
	cfg    Config
	key    []byte
	store  Store
	mail   profile.MailSender
	logout LogoutNotifier
	logger *slog.Logger
	now    func() time.Time
}

// NewService builds the service.
func NewService(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("invite: a store is required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("invite: the system secret must have at least 32 bytes")
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = 168 * time.Hour
	}
	if cfg.PerClientHourly <= 0 {
		cfg.PerClientHourly = 100
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	// A key of its own, so an invitation hash is no other HMAC Facet computes.
	mac := hmac.New(sha256.New, cfg.Secret)
	mac.Write([]byte("facet invitation token"))
	return &Service{cfg: cfg, key: mac.Sum(nil), store: d.Store, mail: d.Mail, logout: d.Logout,
		logger: d.Logger, now: d.Now}, nil
}

// Errors the callers map onto their answers.
var (
	// ErrNoClient: no app has the id.
	ErrNoClient = errors.New("no such app")
	// ErrNoAccount: no account holds the email address verified.
	ErrNoAccount = errors.New("no account holds this email address verified")
	// ErrNotFound: no such invitation, or not one addressed to this user (404 either way).
	ErrNotFound = errors.New("no such invitation")
	// ErrSpent: the invitation was answered, revoked or has expired.
	ErrSpent = errors.New("the invitation is no longer valid")
	// ErrRateLimited: too many invitations to the app in the last hour.
	ErrRateLimited = errors.New("too many invitations to this app in the last hour")
	// ErrBadEmail: not an email address.
	ErrBadEmail = errors.New("not an email address")
)

// MayUse reports whether userID may sign in to clientID, a closed app: whether they hold
// access to it. The authorization endpoint asks it only for closed apps.
//
// A user without access who holds the invited email verified and a live invitation to the
// app accepts it here: that is how registering with the invited address and verifying it
// grants access without another click.
func (s *Service) MayUse(ctx context.Context, clientID, userID string) (bool, error) {
	ok, err := s.store.HasClientAccess(ctx, clientID, userID)
	if err != nil || ok {
		return ok, err
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("get user: %w", err)
	}
	pending, err := s.ForUser(ctx, u)
	if err != nil {
		return false, err
	}
	for _, p := range pending {
		if p.ClientID != clientID || !Live(p.Invitation, s.now()) {
			continue
		}
		switch _, err := s.Accept(ctx, u, p.ID); {
		case err == nil:
			s.logger.InfoContext(ctx, "invitation accepted at sign-in", "invitation", p.ID, "client_id", clientID)
			return true, nil
		case errors.Is(err, ErrSpent):
			continue // answered meanwhile
		default:
			return false, err
		}
	}
	return false, nil
}

// verifiedOwner returns the account holding email verified.
func (s *Service) verifiedOwner(ctx context.Context, email string) (storage.User, error) {
	users, err := s.store.UsersByEmail(ctx, email, 1)
	if err != nil {
		return storage.User{}, fmt.Errorf("users by email: %w", err)
	}
	if len(users) == 0 || !users[0].EmailVerified {
		return storage.User{}, ErrNoAccount
	}
	return users[0], nil
}

func (s *Service) client(ctx context.Context, id string) (storage.Client, error) {
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Client{}, ErrNoClient
	}
	if err != nil {
		return storage.Client{}, fmt.Errorf("get client: %w", err)
	}
	return c, nil
}

// GrantAccess lets the account holding email (verified) use clientID.
func (s *Service) GrantAccess(ctx context.Context, clientID, email string) (storage.User, error) {
	if _, err := s.client(ctx, clientID); err != nil {
		return storage.User{}, err
	}
	u, err := s.verifiedOwner(ctx, normalize(email))
	if err != nil {
		return storage.User{}, err
	}
	if err := s.store.GrantClientAccess(ctx, clientID, u.ID, s.now()); err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// RevokeAccess removes the access of the account holding email to clientID and, in the same
// transaction, revokes that user's tokens for the app and queues its back-channel logout. It
// returns how many tokens it ended.
func (s *Service) RevokeAccess(ctx context.Context, clientID, email, requestID string) (int64, error) {
	if _, err := s.client(ctx, clientID); err != nil {
		return 0, err
	}
	u, err := s.verifiedOwner(ctx, normalize(email))
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.RevokeClientAccess(ctx, clientID, u.ID); err != nil {
			return err
		}
		if s.logout != nil {
			if _, err := s.logout.LogoutUser(ctx, u.ID, clientID, requestID); err != nil {
				return fmt.Errorf("queue back-channel logout: %w", err)
			}
		}
		var err error
		if n, err = s.store.RevokeSubject(ctx, u.ID, clientID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	return n, err
}

// Sent is a new invitation as the administrator sees it: the link is shown once.
type Sent struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PathInvitation is the acceptance link's path; the token follows it.
const PathInvitation = "/invitations/"

// Invite invites email to clientID for ttl (0: the configured expiry), stores the
// invitation by the hash of its token (256 random bits) and emails the link.
func (s *Service) Invite(ctx context.Context, clientID, email string, ttl time.Duration) (Sent, error) {
	email = normalize(email)
	if !profile.ValidEmail(email) {
		return Sent{}, ErrBadEmail
	}
	c, err := s.client(ctx, clientID)
	if err != nil {
		return Sent{}, err
	}
	now := s.now()
	n, err := s.store.CountInvitationsSince(ctx, clientID, now.Add(-time.Hour))
	if err != nil {
		return Sent{}, err
	}
	if n >= s.cfg.PerClientHourly {
		return Sent{}, ErrRateLimited
	}
	if ttl <= 0 {
		ttl = s.cfg.Expiry
	}
	token := random(32)
	inv := storage.Invitation{ID: newID(), ClientID: clientID, Email: email,
		TokenHash: s.hash(token), State: storage.InvitationPending, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return Sent{}, err
	}
	sent := Sent{ID: inv.ID, URL: s.cfg.Issuer + PathInvitation + url.PathEscape(token), ExpiresAt: inv.ExpiresAt.UTC().Truncate(time.Second)}
	s.logger.InfoContext(ctx, "invitation sent", "invitation", inv.ID, "client_id", clientID)
	if s.mail != nil {
		msg := notify.Message{To: email, Subject: "You are invited to " + c.Name,
			Text: "You are invited to use " + c.Name + " with your Facet account.\n\n" +
				"Open this link to accept the invitation:\n" + sent.URL + "\n\n" +
				"The link works once and expires on " + sent.ExpiresAt.Format(time.RFC1123) + ".\n" +
				"If you do not have an account yet, create one with this email address: access is granted once it is verified.\n"}
		if err := s.mail.Send(ctx, msg); err != nil {
			return sent, fmt.Errorf("send invitation email: %w", err)
		}
	}
	return sent, nil
}

// List returns the invitations to clientID ("" for every app), newest first.
func (s *Service) List(ctx context.Context, clientID string) ([]storage.Invitation, error) {
	return s.store.ListInvitations(ctx, clientID)
}

// Revoke withdraws a pending invitation; ErrNotFound when there is none, ErrSpent when it was
// answered already.
func (s *Service) Revoke(ctx context.Context, id string) error {
	return answerErr(s.store.AnswerInvitation(ctx, id, storage.InvitationRevoked, "", s.now()))
}

func answerErr(err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, storage.ErrConflict):
		return ErrSpent
	}
	return err
}

// ByToken returns the invitation a link's token names; ErrNotFound for an unknown token.
func (s *Service) ByToken(ctx context.Context, token string) (storage.Invitation, error) {
	inv, err := s.store.GetInvitationByToken(ctx, s.hash(token))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Invitation{}, ErrNotFound
	}
	return inv, err
}

// Pending is an invitation as its addressee sees it.
type Pending struct {
	storage.Invitation
	Client storage.Client
}

// ForUser returns the invitations addressed to u's verified email, newest first, each with
// its app; nil when u has no verified email.
func (s *Service) ForUser(ctx context.Context, u storage.User) ([]Pending, error) {
	if u.Email == "" || !u.EmailVerified {
		return nil, nil
	}
	list, err := s.store.InvitationsForEmail(ctx, normalize(u.Email))
	if err != nil {
		return nil, err
	}
	var out []Pending
	for _, inv := range list {
		c, err := s.store.GetClient(ctx, inv.ClientID)
		if err != nil {
			return nil, fmt.Errorf("get client: %w", err)
		}
		out = append(out, Pending{Invitation: inv, Client: c})
	}
	return out, nil
}

// ExportAccess is u's part of the data export (lifecycle.AccessSource): the closed apps u may
// use, and the invitations addressed to u's verified email, each with its app's name, never
// its token.
func (s *Service) ExportAccess(ctx context.Context, u storage.User) ([]lifecycle.Access, []lifecycle.Invitation, error) {
	grants, err := s.store.ListClientAccess(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	name := func(clientID string) (string, error) {
		if n, ok := names[clientID]; ok {
			return n, nil
		}
		c, err := s.store.GetClient(ctx, clientID)
		if err != nil {
			return "", fmt.Errorf("get client: %w", err)
		}
		names[clientID] = c.Name
		return c.Name, nil
	}
	access := []lifecycle.Access{}
	for _, g := range grants {
		n, err := name(g.ClientID)
		if err != nil {
			return nil, nil, err
		}
		access = append(access, lifecycle.Access{ClientID: g.ClientID, Name: n, GrantedAt: g.GrantedAt})
	}
	pending, err := s.ForUser(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	invitations := []lifecycle.Invitation{}
	for _, p := range pending {
		inv := p.Invitation
		invitations = append(invitations, lifecycle.Invitation{ID: inv.ID, ClientID: inv.ClientID, Name: p.Client.Name, Email: inv.Email,
			State: inv.State, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, AnsweredAt: inv.AnsweredAt})
	}
	return access, invitations, nil
}

// CountPending counts the invitations waiting for u's answer (the Requests tab's counter).
func (s *Service) CountPending(ctx context.Context, u storage.User) (int, error) {
	if u.Email == "" || !u.EmailVerified {
		return 0, nil
	}
	list, err := s.store.InvitationsForEmail(ctx, normalize(u.Email))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, inv := range list {
		if Live(inv, s.now()) {
			n++
		}
	}
	return n, nil
}

// Live reports whether inv can still be answered at now.
func Live(inv storage.Invitation, now time.Time) bool {
	return inv.State == storage.InvitationPending && now.Before(inv.ExpiresAt)
}

// addressed returns invitation id when it is addressed to u's verified email; ErrNotFound
// otherwise, so nobody learns of invitations to others.
func (s *Service) addressed(ctx context.Context, u storage.User, id string) (storage.Invitation, error) {
	inv, err := s.store.GetInvitation(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Invitation{}, ErrNotFound
	}
	if err != nil {
		return storage.Invitation{}, err
	}
	if !Addressed(inv, u) {
		return storage.Invitation{}, ErrNotFound
	}
	return inv, nil
}

// Addressed reports whether inv is for u: u holds the invited email verified.
func Addressed(inv storage.Invitation, u storage.User) bool {
	return u.EmailVerified && hmac.Equal([]byte(normalize(u.Email)), []byte(inv.Email))
}

// Accept accepts invitation id for u and grants access, in one transaction; it returns the
// app. ErrNotFound when it is not addressed to u, ErrSpent when it was answered, revoked or
// has expired.
func (s *Service) Accept(ctx context.Context, u storage.User, id string) (storage.Client, error) {
	inv, err := s.addressed(ctx, u, id)
	if err != nil {
		return storage.Client{}, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := answerErr(s.store.AnswerInvitation(ctx, inv.ID, storage.InvitationAccepted, u.ID, now)); err != nil {
			return err
		}
		return s.store.GrantClientAccess(ctx, inv.ClientID, u.ID, now)
	})
	if err != nil {
		return storage.Client{}, err
	}
	return s.client(ctx, inv.ClientID)
}

// Decline declines invitation id for u; the same errors as Accept.
func (s *Service) Decline(ctx context.Context, u storage.User, id string) (storage.Invitation, error) {
	inv, err := s.addressed(ctx, u, id)
	if err != nil {
		return storage.Invitation{}, err
	}
	return inv, answerErr(s.store.AnswerInvitation(ctx, inv.ID, storage.InvitationDeclined, u.ID, s.now()))
}

// hash is the stored form of a token: HMAC-SHA256 with the service's key, hex.
func (s *Service) hash(token string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}

// random returns n random bytes, base64url without padding.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID is an invitation id: 96 random bits, hex.
func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func normalize(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
