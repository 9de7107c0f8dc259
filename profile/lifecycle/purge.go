package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facetid/facet/storage"
)

// PurgeStore is the storage the purge job uses.
type PurgeStore interface {
	DueDeletions(ctx context.Context, now time.Time, limit int) ([]storage.Deletion, error)
	PurgeUser(ctx context.Context, userID string, now time.Time) error
}

// purgeBatch is how many due accounts the job reads at a time.
const purgeBatch = 100

// Purger erases the accounts whose recovery window is over (spec "Account Deletion and
// Recovery": after the period the deletion is irreversible). Each account is one transaction
// (storage's PurgeUser), so a run that stops midway — a crash, a lost lease, a database
// outage — leaves every account either whole or erased, and the next run goes on with the
// rest. cmd/facet runs RunOnce under the cleanup lease, on one node at a time; `facet
// accounts purge` runs it by hand.
type Purger struct {
	Store  PurgeStore
	Logger *slog.Logger // nil discards
	Now    func() time.Time
	// Progress, when set, hears of each account as it is purged (err nil) or fails.
	Progress func(d storage.Deletion, err error)
}

// maxDryRun bounds the accounts a dry run lists.
const maxDryRun = 100000

// Due lists the accounts whose window is over (at most 100,000), without purging: a dry run.
func (p *Purger) Due(ctx context.Context) ([]storage.Deletion, error) {
	due, err := p.Store.DueDeletions(ctx, p.now(), maxDryRun)
	if err != nil {
		return nil, fmt.Errorf("due deletions: %w", err)
	}
	return due, nil
}

// RunOnce purges every account due now and returns how many it purged. It stops at the first
// error (returning it with the count so far); an account restored meanwhile is skipped.
func (p *Purger) RunOnce(ctx context.Context) (int, error) {
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := p.now()
	purged := 0
	skipped := map[string]bool{}
	for {
		page, err := p.Store.DueDeletions(ctx, now, purgeBatch+len(skipped))
		if err != nil {
			return purged, fmt.Errorf("due deletions: %w", err)
		}
		progress := false
		for _, d := range page {
			if skipped[d.UserID] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return purged, err
			}
			err := p.Store.PurgeUser(ctx, d.UserID, now)
			if errors.Is(err, storage.ErrNotFound) {
				// Restored (or purged by another run) since it was listed.
				skipped[d.UserID] = true
				continue
			}
			if p.Progress != nil {
				p.Progress(d, err)
			}
			if err != nil {
				return purged, fmt.Errorf("purge account: %w", err)
			}
			purged++
			progress = true
			// The operator's record: the id stays as a tombstone; nothing else of the person does.
			logger.InfoContext(ctx, "account purged", "user_id", d.UserID,
				"deletion_requested_at", d.RequestedAt, "purge_after", d.PurgeAfter)
		}
		if !progress {
			return purged, nil
		}
	}
}

func (p *Purger) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}
