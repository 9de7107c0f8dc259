package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/facetid/facet/storage"
)

// readyTTL is how long one readiness verdict stands: load balancers poll every node every
// few seconds, and several nodes share one database, so each node probes at most this often.
const readyTTL = 2 * time.Second

// readyTimeout bounds the checks: a database that takes longer is not ready either.
const readyTimeout = 2 * time.Second

// readiness is the node's last verdict on whether it can serve: the database answers (Ping)
// and commits a write (ProbeWrite). A full disk or a read-only database answers Ping while
// every token request fails, so answering alone is not enough.
type readiness struct {
	store storage.Storage
	now   func() time.Time

	// mu is held across a probe, so concurrent polls wait for one probe instead of each
	// running their own.
	mu      sync.Mutex
	checked time.Time
	status  int
	body    map[string]string
	err     error
}

// check returns the verdict, probing again once the last one is older than readyTTL; probed
// tells whether this call ran the probe. The probe does not end with the poll that started it:
// a load balancer hanging up must not become a cached "unavailable" for every other poller.
func (rd *readiness) check(ctx context.Context) (status int, body map[string]string, probed bool, err error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	now := rd.now()
	if age := now.Sub(rd.checked); !rd.checked.IsZero() && age >= 0 && age < readyTTL {
		return rd.status, rd.body, false, rd.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	rd.status, rd.body, rd.err = http.StatusOK, map[string]string{"status": "ok", "database": "up", "write": "ok"}, nil
	if err := rd.store.Ping(ctx); err != nil {
		rd.status, rd.err = http.StatusServiceUnavailable, err
		rd.body = map[string]string{"status": "unavailable", "database": "down", "write": "not checked"}
	} else if err := rd.store.ProbeWrite(ctx, now); err != nil {
		rd.status, rd.err = http.StatusServiceUnavailable, err
		rd.body = map[string]string{"status": "unavailable", "database": "up", "write": "failed"}
	}
	rd.checked = now
	return rd.status, rd.body, true, rd.err
}

// ready reports whether this node can serve, and which check failed when it cannot.
func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	status, body, probed, err := a.readiness.check(r.Context())
	if err != nil && probed {
		a.logger.WarnContext(r.Context(), "readiness: node cannot serve", "database", body["database"], "write", body["write"], "err", err)
	}
	writeJSON(w, r, a.logger, status, body)
}
