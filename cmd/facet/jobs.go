package main

import (
	"context"
	"crypto/rand"
	"sync"
	"time"
)

// cleanupEvery is how often a node tries to remove expired tokens and sessions. The work
// runs on one node at a time: the node holding the "cleanup" lease in the database.
const cleanupEvery = 10 * time.Minute

// deliverEvery is how often a node looks for back-channel logouts due. Every node delivers:
// each message is claimed by one node at a time (backchannel.Deliverer.RunOnce).
const deliverEvery = 2 * time.Second

// runJobs runs the periodic maintenance until ctx ends. serve starts it; tests call
// cleanupOnce directly.
func (a *app) runJobs(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.runDeliveries(ctx) })
	holder := rand.Text()
	t := time.NewTicker(cleanupEvery)
	defer t.Stop()
	for {
		a.cleanupOnce(ctx, holder)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cleanupOnce removes expired tokens and sessions, finished back-channel logouts older than
// their retention, activity-log events older than
// event_retention and accounts left with only an unconfirmed email for longer than
// unverified_account_ttl, and purges the deleted accounts whose deletion_grace is over, when
// this node holds the cleanup lease. Expired tokens and sessions are
// already refused by every check; for them this only keeps the tables small. Old events are
// personal data kept no longer than announced.
func (a *app) cleanupOnce(ctx context.Context, holder string) {
	now := a.cfg.Now()
	ok, err := a.store.TryLease(ctx, "cleanup", holder, now, cleanupEvery)
	if err != nil {
		if ctx.Err() == nil {
			a.logger.WarnContext(ctx, "cleanup: take lease", "err", err)
		}
		return
	}
	if !ok {
		return
	}
	tokens, err := a.store.DeleteExpiredTokens(ctx, now)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: expired tokens", "err", err)
	}
	sessions, err := a.store.DeleteExpiredSessions(ctx, now.Add(-a.cfg.SessionIdle), now)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: expired sessions", "err", err)
	}
	events, err := a.events.Purge(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: old activity-log events", "err", err)
	}
	unverified, err := a.prof.PurgeUnverified(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: unverified accounts", "err", err)
	}
	logouts, err := a.logouts.Cleanup(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: finished back-channel logouts", "err", err)
	}
	// A run cut short (an error, the lease lost at shutdown) leaves each account whole or
	// erased; the next run purges the rest.
	purged, err := a.purge.RunOnce(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: purge of deleted accounts", "err", err)
	}
	if tokens > 0 || sessions > 0 || events > 0 || unverified > 0 || logouts > 0 || purged > 0 {
		a.logger.InfoContext(ctx, "cleanup", "tokens", tokens, "sessions", sessions, "events", events,
			"unverified_accounts", unverified, "backchannel_logouts", logouts, "purged_accounts", purged)
	}
}

// runDeliveries posts the back-channel logouts due until ctx ends; a full batch is followed
// at once by the next.
func (a *app) runDeliveries(ctx context.Context) {
	t := time.NewTicker(deliverEvery)
	defer t.Stop()
	for {
		n, err := a.logouts.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			a.logger.WarnContext(ctx, "back-channel logout delivery", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
