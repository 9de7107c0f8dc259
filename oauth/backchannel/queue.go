package backchannel

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// Store is what the queue persists and reads: the messages, which apps each browser session
// signed in to, the apps' registrations and the user's grants.
type Store interface {
	storage.BackchannelStore
	GetClient(ctx context.Context, id string) (storage.Client, error)
	ListGrants(ctx context.Context, userID string) ([]storage.Grant, error)
}

// Notifier writes back-channel logout messages into the queue. Call it inside the
// transaction that ends the sessions (ctx carrying it, storage.Transactor), before the
// session rows are deleted: the messages then exist exactly when the sessions ended, and the
// user's request never waits for an app. Apps without a back-channel logout URI get nothing.
type Notifier struct {
	Store Store
	Now   func() time.Time
}

// LogoutSession queues a logout for every app signed in through browser session sessionID
// except exceptClientID (the app that asked for the logout itself, RP-Initiated Logout 1.0
// §2: it knows). requestID names the request that ended the session in the delivery logs.
func (n *Notifier) LogoutSession(ctx context.Context, sessionID, exceptClientID, requestID string) (int, error) {
	rows, err := n.Store.SessionClients(ctx, sessionID)
	if err != nil {
		return 0, fmt.Errorf("logout session: %w", err)
	}
	var msgs []storage.LogoutMessage
	for _, r := range rows {
		if r.ClientID == exceptClientID {
			continue
		}
		ok, _, err := n.wants(ctx, r.ClientID)
		if err != nil {
			return 0, err
		}
		if ok {
			msgs = append(msgs, n.message(r.ClientID, r.UserID, r.SID, requestID))
		}
	}
	return n.enqueue(ctx, msgs)
}

// LogoutUser queues a logout of userID for app clientID, or for every app when clientID is
// empty: one message per browser session the app was signed in through (with its sid), and
// one without sid for an app the user granted access but no current session signed in to
// (it may hold tokens from a session that has ended), unless that app requires sid.
func (n *Notifier) LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error) {
	rows, err := n.Store.UserSessionClients(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("logout user: %w", err)
	}
	grants, err := n.Store.ListGrants(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("logout user: %w", err)
	}
	var msgs []storage.LogoutMessage
	seen := map[string]bool{}
	type want struct{ ok, sidRequired bool }
	wanted := map[string]want{}
	check := func(id string) (want, error) {
		if w, done := wanted[id]; done {
			return w, nil
		}
		ok, sidRequired, err := n.wants(ctx, id)
		wanted[id] = want{ok, sidRequired}
		return wanted[id], err
	}
	for _, r := range rows {
		if clientID != "" && r.ClientID != clientID {
			continue
		}
		seen[r.ClientID] = true
		w, err := check(r.ClientID)
		if err != nil {
			return 0, err
		}
		if w.ok {
			msgs = append(msgs, n.message(r.ClientID, userID, r.SID, requestID))
		}
	}
	for _, g := range grants {
		if seen[g.ClientID] || (clientID != "" && g.ClientID != clientID) {
			continue
		}
		// An app that requires sid (backchannel_logout_session_required, §2.2) gets only
		// tokens that carry one.
		w, err := check(g.ClientID)
		if err != nil {
			return 0, err
		}
		if w.ok && !w.sidRequired {
			msgs = append(msgs, n.message(g.ClientID, userID, "", requestID))
		}
	}
	return n.enqueue(ctx, msgs)
}

// wants reports whether app clientID registered a back-channel logout URI, and whether it
// requires sid; a deleted app wants nothing.
func (n *Notifier) wants(ctx context.Context, clientID string) (bool, bool, error) {
	c, err := n.Store.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("logout: %w", err)
	}
	return c.BackchannelLogoutURI != "", c.BackchannelLogoutSessionRequired, nil
}

func (n *Notifier) message(clientID, subject, sid, requestID string) storage.LogoutMessage {
	now := n.Now().UTC()
	return storage.LogoutMessage{
		ID: rand.Text(), ClientID: clientID, Subject: subject, SID: sid, RequestID: requestID,
		Status: storage.LogoutPending, NextAttemptAt: now, CreatedAt: now,
	}
}

func (n *Notifier) enqueue(ctx context.Context, msgs []storage.LogoutMessage) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := n.Store.EnqueueLogouts(ctx, msgs); err != nil {
		return 0, fmt.Errorf("logout: %w", err)
	}
	return len(msgs), nil
}
