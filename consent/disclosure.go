package consent

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facetid/facet/storage"
)

// disclosureLog writes the disclosure record (which claim names went to which app, and
// when) without slowing the release hot path: each (user, app, claim set) is written at most
// once per clock hour per node, as one upsert; later releases in the same hour only hit an
// in-memory set.
//
// Why this and not a batcher flushing every few seconds: nothing is lost when a node is killed
// (the line is written before the first release of the hour returns), there is no goroutine
// and no shutdown flush for cmd to manage, and N nodes cost at most N upserts per line per
// hour. The price is the hour's granularity: LastAt is the first release of the latest hour,
// and Count counts hours with releases rather than every release — which is what the Scopes
// tab shows ("what this app received, and when"). The set holds only the current hour's keys,
// so it is bounded by one hour's distinct (user, app, claim set) triples.
type disclosureLog struct {
	store  storage.PrivacyStore
	now    func() time.Time
	logger *slog.Logger

	mu   sync.Mutex
	hour int64 // Unix hour the seen set belongs to
	seen map[string]struct{}
}

// record notes that claims went from userID to clientID. A failed write is logged and
// retried at the next release; it never fails the release.
func (d *disclosureLog) record(ctx context.Context, userID, clientID string, claims []string) {
	now := d.now().UTC()
	hour := now.Unix() / 3600
	slices.Sort(claims)
	key := userID + "\x00" + clientID + "\x00" + strings.Join(claims, " ")

	d.mu.Lock()
	if hour != d.hour || d.seen == nil {
		d.hour, d.seen = hour, map[string]struct{}{}
	}
	if _, done := d.seen[key]; done {
		d.mu.Unlock()
		return
	}
	d.seen[key] = struct{}{}
	d.mu.Unlock()

	err := d.store.RecordDisclosures(ctx, []storage.Disclosure{{UserID: userID, ClientID: clientID, Claims: claims, FirstAt: now, LastAt: now, Count: 1}})
	if err != nil {
		d.logger.ErrorContext(ctx, "record disclosure", "client_id", clientID, "err", err)
		d.mu.Lock()
		if d.hour == hour {
			delete(d.seen, key)
		}
		d.mu.Unlock()
	}
}
