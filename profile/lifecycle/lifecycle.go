// Package lifecycle owns the end of an account's life and what its owner may take along: the
// data export (Download Data, GET /api/account/export), the personal data processing policy,
// deletion with its recovery window, restoring the account during the window, and the purge
// job that erases it afterwards. The pages and the account API call the same service
// functions.
//
// The export holds every kind of data Facet keeps about a person (ExportSchema is its JSON
// Schema, schema_version its version). A feature that adds a kind of personal data adds it
// to the export and to the schema in the same change, and a table that refers to users does
// so with ON DELETE CASCADE (or is erased by storage's PurgeUser), so the purge erases it.
//
// It does not deliver back-channel logout tokens (it tells a LogoutNotifier inside the
// transaction that ends the sessions), and it does not decide who may sign in: profile's
// signed-in check and oauth refuse accounts that are not active.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
)

// DefaultGrace is the recovery window when none is configured (deletion_grace).
const DefaultGrace = 30 * 24 * time.Hour

// Store is the storage lifecycle uses: the deletion window and the purge, what it ends when an
// account is deleted, and everything the export reads.
type Store interface {
	storage.Transactor
	storage.LifecycleStore
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetProfileFields(ctx context.Context, userID string) ([]storage.ProfileField, error)
	GetPrivateProfile(ctx context.Context, userID string) (bool, error)
	GetVerification(ctx context.Context, userID, kind string) (storage.Verification, error)
	GetPhoto(ctx context.Context, id string) (storage.Photo, error)
	ListUserApps(ctx context.Context, userID string, now time.Time) ([]storage.UserApp, error)
	ListGrants(ctx context.Context, userID string) ([]storage.Grant, error)
	ListClaimDeclines(ctx context.Context, userID string) ([]storage.ClaimDecline, error)
	ListDisclosures(ctx context.Context, userID string) ([]storage.Disclosure, error)
	ListUserSessions(ctx context.Context, userID string) ([]storage.Session, error)
	UserSessionClients(ctx context.Context, userID string) ([]storage.SessionClient, error)
	ListEvents(ctx context.Context, userID string, f storage.EventFilter) ([]storage.Event, error)
	ListFavorites(ctx context.Context, userID string) ([]storage.CatalogApp, error)
	DeleteGrant(ctx context.Context, userID, clientID string) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	RevokeSubject(ctx context.Context, subject, clientID string) (int64, error)
	ResetCounter(ctx context.Context, key string) error
}

// LogoutNotifier queues back-channel logouts (OpenID Connect Back-Channel Logout 1.0 §2.5).
// LogoutUser tells app clientID ("" for every app) that userID is signed out; it runs in the
// transaction ctx carries, before the sessions and grants it reads go.
type LogoutNotifier interface {
	LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error)
}

// Config is what lifecycle needs from Facet's configuration.
type Config struct {
	// Issuer is Facet's public base URL (the export's absolute photo URL).
	Issuer string
	// Grace is the recovery window after a deletion (DefaultGrace when zero).
	Grace time.Duration
	// PhotoPrefix is the path under which Facet serves its own profile photos
	// (photo.PathPrefix): a picture under it is exported with the SHA-256 of its bytes.
	PhotoPrefix string
	// Policy is the processing policy document (LoadPolicy); zero: the shipped default.
	Policy Policy
}

// Deps are the modules lifecycle works with. Kit, Store and Events are required.
type Deps struct {
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Logout is told of every app whose sessions a deletion ends; nil tells nobody.
	Logout LogoutNotifier
	// Identifiers, Cards and Access give the export the parts other modules own (linked
	// identifiers, the business card, closed apps and invitations); nil leaves one empty.
	Identifiers IdentifierSource
	Cards       CardSource
	Access      AccessSource
	Logger      *slog.Logger // nil discards
	Now         func() time.Time
}

// Handler serves the Other Actions of the account (export, policy, deletion), the restore
// page, the page that refuses an app's sign-in during the window, and their API routes.
type Handler struct {
	cfg    Config
	kit    *profile.Handler
	store  Store
	events profile.Recorder
	logout LogoutNotifier
	logger *slog.Logger
	now    func() time.Time

	identifiers IdentifierSource
	cards       CardSource
	access      AccessSource
}

// New builds the handler.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("lifecycle: the console kit, the store and an event recorder are required")
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{cfg: cfg, kit: d.Kit, store: d.Store, events: d.Events, logout: d.Logout, logger: d.Logger, now: d.Now,
		identifiers: d.Identifiers, cards: d.Cards, access: d.Access}, nil
}

// Errors of Delete.
var (
	// errWrongPassword: the password given is not the account's; nothing happened.
	errWrongPassword = errors.New("password not correct")
	// errThrottled: too many wrong passwords for the account lately.
	errThrottled = errors.New("too many attempts")
	// errReauth: an account without a password needs a recent sign-in to be deleted.
	errReauth = errors.New("recent sign-in needed")
	// errNotPending: the account is not waiting out a deletion (restored or purged already).
	errNotPending = errors.New("account not pending deletion")
)

// DeleteRequest is what the owner sends to delete the account: the account password, or,
// for an account without one, proof of a recent sign-in (RecentLogin).
type DeleteRequest struct {
	Password    string
	RecentLogin bool
}

// Delete starts u's recovery window (spec "Account Deletion and Recovery"). The password is
// the re-authentication a destructive change needs (OWASP ASVS 5.0 V7.5); a wrong one counts
// toward the per-account throttle of failed logins (ASVS V6.3) and changes nothing. Then, in
// one transaction, the account becomes pending deletion until now + the grace, every app
// signed in hears of it (back-channel logout), and every browser session, token and grant of
// the account ends (so a restored account's apps ask for consent again). It returns the
// deletion, or errWrongPassword, errThrottled with the time to wait, errReauth, or an
// internal error.
func (h *Handler) Delete(ctx context.Context, o profile.Origin, requestID string, u storage.User, req DeleteRequest) (storage.Deletion, time.Duration, error) {
	if u.PasswordHash == "" {
		if !req.RecentLogin {
			return storage.Deletion{}, 0, errReauth
		}
	} else {
		key := profile.AccountCounter(u.ID)
		retry, err := h.kit.Hit(ctx, profile.Counter{Key: key, Limit: h.kit.PerAccountLimit()})
		if err != nil {
			return storage.Deletion{}, 0, err
		}
		if retry > 0 {
			return storage.Deletion{}, retry, errThrottled
		}
		ok, err := password.Check(u.PasswordHash, req.Password)
		if err != nil {
			h.logger.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
		}
		if !ok {
			return storage.Deletion{}, 0, errWrongPassword
		}
		if err := h.store.ResetCounter(ctx, key); err != nil {
			h.logger.WarnContext(ctx, "reset login counter", "user_id", u.ID, "err", err)
		}
	}
	now := h.now().UTC()
	d := storage.Deletion{UserID: u.ID, RequestedAt: now, PurgeAfter: now.Add(h.cfg.Grace)}
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		// The notifier reads the sessions and grants: it comes before they go.
		if h.logout != nil {
			if _, err := h.logout.LogoutUser(ctx, u.ID, "", requestID); err != nil {
				return fmt.Errorf("back-channel logout of every app: %w", err)
			}
		}
		if err := h.store.MarkDeletion(ctx, d); err != nil {
			return fmt.Errorf("mark deletion: %w", err)
		}
		if _, err := h.store.DeleteUserSessions(ctx, u.ID); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		if _, err := h.store.RevokeSubject(ctx, u.ID, ""); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		grants, err := h.store.ListGrants(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("list grants: %w", err)
		}
		for _, g := range grants {
			if err := h.store.DeleteGrant(ctx, u.ID, g.ClientID); err != nil {
				return fmt.Errorf("delete grant: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return storage.Deletion{}, 0, fmt.Errorf("delete account: %w", err)
	}
	h.events.Record(ctx, o, u.ID, profile.Event{Category: profile.CategoryDeletionRequested,
		Details: map[string]string{"purge_after": d.PurgeAfter.Format(time.RFC3339)}})
	h.logger.InfoContext(ctx, "account deletion requested", "user_id", u.ID, "purge_after", d.PurgeAfter)
	// Someone who did not delete the account learns at once, while it can still be restored.
	h.kit.AccountNotice(ctx, u.ID, "lifecycle.mail.deleted.subject", "lifecycle.mail.deleted.text",
		h.kit.RecipientLang(ctx, u.ID).Date(d.PurgeAfter))
	return d, 0, nil
}

// Restore ends userID's recovery window: the account is active again, with everything it
// held but the grants, sessions and tokens its deletion ended. errNotPending when the account
// is not pending deletion.
func (h *Handler) Restore(ctx context.Context, o profile.Origin, userID string) error {
	err := h.store.RestoreUser(ctx, userID, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return errNotPending
	}
	if err != nil {
		return fmt.Errorf("restore account: %w", err)
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryAccountRestored})
	h.logger.InfoContext(ctx, "account restored", "user_id", userID)
	return nil
}
