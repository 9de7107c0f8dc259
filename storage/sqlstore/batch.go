package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/facetid/facet/storage"
)

// writeBatcher is SQLite's group commit. A write outside a transaction (a token insert, a
// session touch, ...) on its own costs one commit: WAL frames for every page it changed
// (the table and each index), each a pwrite, plus the shared-memory locks and, every 1000
// pages, a checkpoint. Most of client_credentials' CPU was that commit (docs/performance.md).
// Writers that arrive while another batch holds the one writer connection are queued; the
// next leader runs everything queued in one transaction and wakes each caller with its own
// result once that transaction has committed, so a caller still returns only after its write
// is durable, as with a commit of its own. A lone writer runs alone, in autocommit.
//
// A statement that fails inside the batch with a constraint error (unique key taken) is
// rolled back alone by SQLite and its caller gets that error; any other error ends the batch
// (rollback) and each of its statements then runs on its own, so every caller gets the
// result its statement would have had without batching.
//
// A member may also be a unit of several statements (ApplyTokenWrites: a refresh rotation, a
// code exchange) that must apply together or not at all. It runs under a SAVEPOINT inside the
// batch's transaction: when it fails (its precondition does not hold, or a statement breaks a
// constraint) ROLLBACK TO undoes only its own statements and the rest of the batch commits.
// A unit alone runs as a transaction of its own.
type writeBatcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*writeOp
	leading bool
}

type writeOp struct {
	query string
	args  []any
	// unit, when set instead of query, runs a unit's statements on tx (see writeBatcher).
	unit func(ctx context.Context, tx *sql.Tx) error
	res  sql.Result
	err  error
	lead bool          // set instead of a result: the waiter leads the next batch
	wake chan struct{} // one send: the result is in, or lead is set
}

// maxBatch bounds one transaction, so a leader's own request is not held up for long.
const maxBatch = 64

func (b *writeBatcher) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	op := &writeOp{query: query, args: args, wake: make(chan struct{}, 1)}
	b.do(ctx, op)
	return op.res, op.err
}

// execUnit runs unit as one member of a batch: its statements commit together with the
// batch, or, when unit returns an error, none of them does.
func (b *writeBatcher) execUnit(ctx context.Context, unit func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{unit: unit, wake: make(chan struct{}, 1)}
	b.do(ctx, op)
	return op.err
}

// do queues op and returns once the batch holding it has committed (or failed).
func (b *writeBatcher) do(ctx context.Context, op *writeOp) {
	b.mu.Lock()
	b.queue = append(b.queue, op)
	lead := !b.leading
	if lead {
		b.leading = true
	}
	b.mu.Unlock()
	if !lead {
		<-op.wake
		if !op.lead {
			return
		}
	}
	b.run(context.WithoutCancel(ctx))
}

// run executes one batch (its own op is in it) and hands the lead to the first op of the
// queue that built up meanwhile, if any.
func (b *writeBatcher) run(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	b.execBatch(ctx, batch)

	b.mu.Lock()
	var next *writeOp
	if len(b.queue) > 0 {
		next = b.queue[0]
		next.lead = true
	} else {
		b.leading = false
		b.queue = nil
	}
	b.mu.Unlock()
	for _, op := range batch {
		op.wake <- struct{}{} // buffered; the leader's own is never read
	}
	if next != nil {
		next.wake <- struct{}{}
	}
}

func (b *writeBatcher) execBatch(ctx context.Context, batch []*writeOp) {
	if len(batch) == 1 {
		b.alone(ctx, batch[0])
		return
	}
	tx, err := b.s.db.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range batch {
			op.res, op.err = nil, err
		}
		return
	}
	for _, op := range batch {
		if op.unit != nil {
			if !b.member(ctx, tx, op) {
				_ = tx.Rollback()
				b.each(ctx, batch)
				return
			}
			continue
		}
		if st := b.s.preparedInTx(op.query); st != nil {
			op.res, op.err = tx.StmtContext(ctx, st).ExecContext(ctx, op.args...)
		} else {
			op.res, op.err = tx.ExecContext(ctx, b.s.rebind(op.query), op.args...)
		}
		if op.err != nil && !statementOnly(op.err) {
			_ = tx.Rollback()
			b.each(ctx, batch)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		b.each(ctx, batch)
	}
}

// member runs a unit inside the batch's transaction under a savepoint, and undoes it alone
// when it fails on its own terms (unitOnly). It reports false when the batch must end: the
// error may have broken the transaction.
func (b *writeBatcher) member(ctx context.Context, tx *sql.Tx, op *writeOp) bool {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT batch_unit`); err != nil {
		return false
	}
	if op.err = op.unit(ctx, tx); op.err != nil {
		if !unitOnly(op.err) {
			return false
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch_unit`); err != nil {
			return false
		}
	}
	_, err := tx.ExecContext(ctx, `RELEASE batch_unit`)
	return err == nil
}

// alone runs op outside any batch: a statement in autocommit, a unit as its own transaction.
func (b *writeBatcher) alone(ctx context.Context, op *writeOp) {
	if op.unit == nil {
		op.res, op.err = b.s.execPool(ctx, op.query, op.args)
		return
	}
	tx, err := b.s.db.BeginTx(ctx, nil)
	if err != nil {
		op.err = err
		return
	}
	if op.err = op.unit(ctx, tx); op.err != nil {
		_ = tx.Rollback()
		return
	}
	op.err = tx.Commit()
}

// each runs every op of a failed batch on its own.
func (b *writeBatcher) each(ctx context.Context, batch []*writeOp) {
	for _, op := range batch {
		op.res, op.err = nil, nil
		b.alone(ctx, op)
	}
}

// unitOnly reports whether a unit's error concerns only that unit, so the batch around it can
// go on once the unit's savepoint is rolled back: its precondition failed (the sentinels
// applyTx returns) or a statement broke a constraint.
func unitOnly(err error) bool {
	return errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) || statementOnly(err)
}

// statementOnly reports whether err undid only its own statement, leaving the transaction
// open: SQLite's constraint violations (ON CONFLICT ABORT, the default).
func statementOnly(err error) bool {
	var sqErr *sqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
