package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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
type writeBatcher struct {
	s *Store

	mu      sync.Mutex
	queue   []*writeOp
	leading bool
}

type writeOp struct {
	query string
	args  []any
	res   sql.Result
	err   error
	lead  bool          // set instead of a result: the waiter leads the next batch
	wake  chan struct{} // one send: the result is in, or lead is set
}

// maxBatch bounds one transaction, so a leader's own request is not held up for long.
const maxBatch = 64

func (b *writeBatcher) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	op := &writeOp{query: query, args: args, wake: make(chan struct{}, 1)}
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
			return op.res, op.err
		}
	}
	b.run(context.WithoutCancel(ctx))
	return op.res, op.err
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
		batch[0].res, batch[0].err = b.s.execPool(ctx, batch[0].query, batch[0].args)
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

// each runs every op of a failed batch on its own.
func (b *writeBatcher) each(ctx context.Context, batch []*writeOp) {
	for _, op := range batch {
		op.res, op.err = b.s.execPool(ctx, op.query, op.args)
	}
}

// statementOnly reports whether err undid only its own statement, leaving the transaction
// open: SQLite's constraint violations (ON CONFLICT ABORT, the default).
func statementOnly(err error) bool {
	var sqErr *sqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
