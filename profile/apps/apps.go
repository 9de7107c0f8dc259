// Package apps owns the account's Scopes tab and devices: the apps holding a grant from the
// user (what each was granted, received and when it was last used), End Sessions (revoke an
// app's tokens, keep its grant), Revoke Permission (delete the grant and the tokens), the
// user's browser sessions with a sign-out for each, and "log out from all devices". The pages
// and the account API (/api/account/apps, /sessions, /logout-everywhere) call the same
// service functions.
//
// It does not deliver back-channel logout tokens: it tells a LogoutNotifier, inside the
// transaction that ends the sessions, whom to notify. What a grant means for the claims an
// app receives is consent's business.
package apps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// Store is the storage apps uses: the list of a user's apps and sessions, the grants and
// tokens it ends, and the disclosure record and declines it shows.
type Store interface {
	storage.AppStore
	storage.Transactor
	GetGrant(ctx context.Context, userID, clientID string) (storage.Grant, error)
	DeleteGrant(ctx context.Context, userID, clientID string) error
	ListClaimDeclines(ctx context.Context, userID string) ([]storage.ClaimDecline, error)
	ListDisclosures(ctx context.Context, userID string) ([]storage.Disclosure, error)
	RevokeSubject(ctx context.Context, subject, clientID string) (int64, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	UserSessionClients(ctx context.Context, userID string) ([]storage.SessionClient, error)
	RevokeSessionTokens(ctx context.Context, sessionID string) (int64, error)
}

// LogoutNotifier queues back-channel logouts (OpenID Connect Back-Channel Logout 1.0 §2.5:
// the OP tells each RP whose session with the user ended). It runs in the transaction that
// ends the sessions (ctx carries it) and before their rows go, since it reads which apps the
// sessions signed in to; an error rolls the ending back, so no session ends unannounced.
// requestID names the request in the delivery logs.
type LogoutNotifier interface {
	// LogoutSession tells every app signed in through browser session sessionID
	// (storage.Session.ID) except exceptClientID.
	LogoutSession(ctx context.Context, sessionID, exceptClientID, requestID string) (int, error)
	// LogoutUser tells app clientID ("" for every app) that userID is signed out.
	LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error)
}

// Deps are the modules apps works with. Kit, Store and Events are required.
type Deps struct {
	// Kit is profile's console kit: pages, sessions, the account API's caller.
	Kit    *profile.Handler
	Store  Store
	Events profile.Recorder
	// Logout is told of every session that ends; nil tells nobody.
	Logout LogoutNotifier
	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

// Handler serves the Scopes tab, the device list and their account API routes.
type Handler struct {
	kit    *profile.Handler
	store  Store
	events profile.Recorder
	logout LogoutNotifier
	logger *slog.Logger
	now    func() time.Time
}

// New builds the handler.
func New(d Deps) (*Handler, error) {
	if d.Kit == nil || d.Store == nil || d.Events == nil {
		return nil, errors.New("apps: the console kit, the store and an event recorder are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{kit: d.Kit, store: d.Store, events: d.Events, logout: d.Logout, logger: d.Logger, now: d.Now}, nil
}

// Tab is the Scopes tab of the personal account (profile.Deps.Tabs).
var Tab = profile.TabSource{Label: "account.tab.scopes", URL: "/profile/apps", Icon: "apps"}

// errNoGrant: the user holds no grant for the app (or the app does not exist); the caller
// answers 404 either way, so nobody learns which apps other users allowed.
var errNoGrant = errors.New("no grant for this app")

// errNoSession: the session id is none of the user's live sessions.
var errNoSession = errors.New("no such session")

// App is an app holding a grant from the user, with everything the Scopes tab shows.
type App struct {
	storage.UserApp
	// Declined are the on-request claims the user declined on the app's consent page.
	Declined []string
	// Disclosures are the lines of the disclosure record for the app, latest first.
	Disclosures []storage.Disclosure
}

// List returns every app holding a grant from userID, ordered by name. It costs three
// statements whatever the number of apps: the apps with their token figures, the declines and
// the disclosure record.
func (h *Handler) List(ctx context.Context, userID string) ([]App, error) {
	list, err := h.store.ListUserApps(ctx, userID, h.now())
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	declines, err := h.store.ListClaimDeclines(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list declines: %w", err)
	}
	disclosures, err := h.store.ListDisclosures(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list disclosures: %w", err)
	}
	byClient := make(map[string]int, len(list))
	out := make([]App, len(list))
	for i, a := range list {
		out[i].UserApp = a
		byClient[a.Client.ID] = i
	}
	for _, d := range declines {
		if i, ok := byClient[d.ClientID]; ok {
			out[i].Declined = append(out[i].Declined, d.Claim)
		}
	}
	for _, d := range disclosures {
		if i, ok := byClient[d.ClientID]; ok {
			out[i].Disclosures = append(out[i].Disclosures, d)
		}
	}
	return out, nil
}

// EndSessions revokes every access and refresh token of clientID for userID and tells the
// notifier, in one transaction; the grant stays, so the app's next authorization asks for no
// consent. errNoGrant when the user holds no grant for the app.
func (h *Handler) EndSessions(ctx context.Context, o profile.Origin, requestID, userID, clientID string) error {
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.requireGrant(ctx, userID, clientID); err != nil {
			return err
		}
		if err := h.notifyApp(ctx, userID, clientID, requestID); err != nil {
			return err
		}
		if _, err := h.store.RevokeSubject(ctx, userID, clientID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryAppSessionsEnded, ClientID: clientID})
	return nil
}

// Revoke deletes userID's grant for clientID (with its declines) and revokes the app's tokens
// for the user, telling the notifier, in one transaction: the next sign-in asks for consent
// again. errNoGrant when there is no grant.
func (h *Handler) Revoke(ctx context.Context, o profile.Origin, requestID, userID, clientID string) error {
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.requireGrant(ctx, userID, clientID); err != nil {
			return err
		}
		// The notifier finds the app through the grant: it comes before the grant goes.
		if err := h.notifyApp(ctx, userID, clientID, requestID); err != nil {
			return err
		}
		if err := h.store.DeleteGrant(ctx, userID, clientID); err != nil {
			return fmt.Errorf("delete grant: %w", err)
		}
		if _, err := h.store.RevokeSubject(ctx, userID, clientID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryAppPermissionRevoked, ClientID: clientID})
	return nil
}

func (h *Handler) requireGrant(ctx context.Context, userID, clientID string) error {
	if _, err := h.store.GetGrant(ctx, userID, clientID); errors.Is(err, storage.ErrNotFound) {
		return errNoGrant
	} else if err != nil {
		return fmt.Errorf("get grant: %w", err)
	}
	return nil
}

func (h *Handler) notifyApp(ctx context.Context, userID, clientID, requestID string) error {
	if h.logout == nil {
		return nil
	}
	if _, err := h.logout.LogoutUser(ctx, userID, clientID, requestID); err != nil {
		return fmt.Errorf("back-channel logout of %q: %w", clientID, err)
	}
	return nil
}

// Device is one of the user's live browser sessions as the device list shows it.
type Device struct {
	// Handle names the session in URLs and the API: derived from its id (SessionHandle), so
	// the row's key never leaves the server.
	Handle  string
	Current bool
	profile.Origin
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ClientIDs are the apps signed in through the session, ordered by client id, and
	// AppNames their names (the client id for an app without one), in the same order.
	ClientIDs, AppNames []string
}

// SessionHandle is the public name of the browser session with row id id: a hash of it, so
// the device list's links and the API reveal nothing the sessions table could be matched
// against.
func SessionHandle(id string) string {
	sum := sha256.Sum256([]byte("facet session handle\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// Devices returns userID's live browser sessions, most recently seen first, marking
// currentID (the caller's own, "" for a bearer call).
func (h *Handler) Devices(ctx context.Context, userID, currentID string) ([]Device, error) {
	return devices(ctx, h.store, h.kit, userID, currentID)
}

// deviceStore is what the device list reads.
type deviceStore interface {
	ListUserSessions(ctx context.Context, userID string) ([]storage.Session, error)
	UserSessionClients(ctx context.Context, userID string) ([]storage.SessionClient, error)
}

// devices is Devices for a caller without the handler (the profile page's Security block):
// two statements whatever the number of sessions and apps.
func devices(ctx context.Context, store deviceStore, kit *profile.Handler, userID, currentID string) ([]Device, error) {
	list, err := store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	signedIn, err := store.UserSessionClients(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions' apps: %w", err)
	}
	clients, names := map[string][]string{}, map[string][]string{}
	for _, c := range signedIn {
		clients[c.SessionID] = append(clients[c.SessionID], c.ClientID)
		name := c.ClientName
		if name == "" {
			name = c.ClientID
		}
		names[c.SessionID] = append(names[c.SessionID], name)
	}
	var out []Device
	for _, s := range list {
		if !kit.SessionLive(s) {
			continue
		}
		out = append(out, Device{
			Handle: SessionHandle(s.ID), Current: s.ID == currentID && currentID != "",
			Origin: kit.OriginOf(s.IP, s.UserAgent), CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			ClientIDs: clients[s.ID], AppNames: names[s.ID],
		})
	}
	return out, nil
}

// SignOut ends userID's browser session named handle, the tokens of every app signed in
// through it, and tells those apps (the notifier), in one transaction, and returns whether
// it was currentID. errNoSession when handle names none of the user's live sessions (another
// user's included).
func (h *Handler) SignOut(ctx context.Context, o profile.Origin, requestID, userID, handle, currentID string) (bool, error) {
	list, err := h.store.ListUserSessions(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("list sessions: %w", err)
	}
	var target storage.Session
	for _, s := range list {
		if SessionHandle(s.ID) == handle && h.kit.SessionLive(s) {
			target = s
		}
	}
	if target.ID == "" {
		return false, errNoSession
	}
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		if h.logout != nil {
			if _, err := h.logout.LogoutSession(ctx, target.ID, "", requestID); err != nil {
				return fmt.Errorf("back-channel logout of a session: %w", err)
			}
		}
		if _, err := h.store.RevokeSessionTokens(ctx, target.ID); err != nil {
			return fmt.Errorf("revoke the session's tokens: %w", err)
		}
		if err := h.store.DeleteSession(ctx, target.ID); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategorySessionSignedOut})
	return target.ID == currentID && currentID != "", nil
}

// LogoutEverywhere ends every browser session of userID and every access and refresh token
// of every app, telling the notifier, in one transaction.
func (h *Handler) LogoutEverywhere(ctx context.Context, o profile.Origin, requestID, userID string) error {
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		if h.logout != nil {
			if _, err := h.logout.LogoutUser(ctx, userID, "", requestID); err != nil {
				return fmt.Errorf("back-channel logout of every app: %w", err)
			}
		}
		if _, err := h.store.DeleteUserSessions(ctx, userID); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		if _, err := h.store.RevokeSubject(ctx, userID, ""); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryLogoutEverywhere})
	return nil
}
