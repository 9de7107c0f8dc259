package main

import (
	"context"
	"crypto/rand"
	"time"
)

// cleanupEvery is how often a node tries to remove expired tokens and sessions. The work
// runs on one node at a time: the node holding the "cleanup" lease in the database.
const cleanupEvery = 10 * time.Minute

// runJobs runs the periodic maintenance until ctx ends. serve starts it; tests call
// cleanupOnce directly.
func (a *app) runJobs(ctx context.Context) {
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

// cleanupOnce removes expired tokens and sessions, activity-log events older than
// event_retention and accounts left with only an unconfirmed email for longer than
// unverified_account_ttl, when this node holds the cleanup lease. Expired tokens and sessions are
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
	events, err := a.prof.PurgeEvents(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: old activity-log events", "err", err)
	}
	unverified, err := a.prof.PurgeUnverified(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "cleanup: unverified accounts", "err", err)
	}
	if tokens > 0 || sessions > 0 || events > 0 || unverified > 0 {
		a.logger.InfoContext(ctx, "cleanup", "tokens", tokens, "sessions", sessions, "events", events,
			"unverified_accounts", unverified)
	}
}
