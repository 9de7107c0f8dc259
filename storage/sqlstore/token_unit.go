package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/facetid/facet/storage"
)

// ApplyTokenWrites applies writes as one unit (see storage.TokenStore): inside a transaction
// carried by ctx, under a savepoint; on SQLite, as one member of the group commit (a unit's
// own transaction when no other write is waiting); on PostgreSQL, as one statement when the
// unit has a one-statement form (pgOneStatement), else as one transaction.
func (s *Store) ApplyTokenWrites(ctx context.Context, writes []storage.TokenWrite) error {
	if err := s.applyTokenWrites(ctx, writes); err != nil {
		return fmt.Errorf("apply token writes: %w", err)
	}
	return nil
}

func (s *Store) applyTokenWrites(ctx context.Context, writes []storage.TokenWrite) error {
	if len(writes) == 0 {
		return nil
	}
	for _, w := range writes {
		if w.Op < storage.TokenCreate || w.Op > storage.TokenRotate || w.Token.Kind == "" {
			return fmt.Errorf("invalid token write: op %d, kind %q", w.Op, w.Token.Kind)
		}
	}
	var err error
	if tx, ok := s.txFrom(ctx); ok {
		err = s.applyInSavepoint(ctx, tx.Tx, writes)
	} else if s.batch != nil {
		err = s.batch.execUnit(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return s.applyTx(ctx, tx, writes)
		})
	} else {
		err = s.applyPostgres(ctx, writes)
	}
	return mapErr(err)
}

// applyTx runs writes one by one on tx, which the caller commits or rolls back (to a
// savepoint) as a whole. It returns the driver's errors unmapped, and storage.ErrConflict or
// storage.ErrNotFound only for a failed TokenDeactivate (the batch tells the two apart: see
// unitOnly).
func (s *Store) applyTx(ctx context.Context, tx *sql.Tx, writes []storage.TokenWrite) error {
	for _, w := range writes {
		t := w.Token
		var err error
		switch w.Op {
		case storage.TokenCreate:
			_, err = s.txExec(ctx, tx, insertToken, tokenArgs(t)...)
		case storage.TokenDeactivate, storage.TokenRotate:
			var res sql.Result
			var n int64
			query, args := deactivation(w, make([]any, 0, 3))
			if res, err = s.txExec(ctx, tx, query, args...); err != nil {
				break
			}
			if n, err = res.RowsAffected(); err == nil && n == 0 {
				err = s.notActive(tx.QueryRowContext(ctx, s.rebind(tokenExists), string(t.Kind), t.Signature))
			}
		case storage.TokenDelete:
			_, err = s.txExec(ctx, tx, deleteToken, string(t.Kind), t.Signature)
		case storage.TokenRevokeRequest:
			_, err = s.txExec(ctx, tx, revokeRequest(t.Kind), string(t.Kind), t.RequestID)
		default:
			err = fmt.Errorf("invalid token write: op %d", w.Op)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// deactivation is the statement of a TokenDeactivate or TokenRotate, and args with its
// arguments appended.
func deactivation(w storage.TokenWrite, args []any) (string, []any) {
	t := w.Token
	if w.Op == storage.TokenRotate {
		return rotateToken, append(args, ts(t.RotatedAt), string(t.Kind), t.Signature)
	}
	return deactivateToken, append(args, string(t.Kind), t.Signature)
}

// txExec runs query on tx through the writer's prepared statement when there is one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.preparedInTx(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.rebind(query), args...)
}

// notActive tells why a deactivation matched no row, from tokenExists's answer: the token is
// there but inactive (ErrConflict: a concurrent request won) or absent (ErrNotFound).
func (s *Store) notActive(exists *sql.Row) error {
	var one int
	switch err := exists.Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case err != nil:
		return err
	}
	return storage.ErrConflict
}

// applyInSavepoint runs the unit inside the transaction carried by ctx: a failed unit is
// undone alone, and the transaction (PostgreSQL aborts it on a failed statement) goes on.
func (s *Store) applyInSavepoint(ctx context.Context, tx *sql.Tx, writes []storage.TokenWrite) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT token_unit`); err != nil {
		return err
	}
	err := s.applyTx(ctx, tx, writes)
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT token_unit`); rbErr != nil {
			return errors.Join(err, rbErr)
		}
	}
	if _, relErr := tx.ExecContext(ctx, `RELEASE SAVEPOINT token_unit`); relErr != nil {
		return errors.Join(err, relErr)
	}
	return err
}

// applyPostgres runs the unit as one statement, so one round trip in PostgreSQL's implicit
// transaction: its writes are data-modifying CTEs, every one but the precondition gated on the
// precondition having matched its row, e.g. for a refresh rotation
//
//	WITH w0 AS (UPDATE tokens SET active = FALSE WHERE kind = $1 AND signature = $2 AND active RETURNING 1),
//	     w1 AS (DELETE FROM tokens WHERE kind = $3 AND request_id = $4 AND EXISTS (SELECT 1 FROM w0)),
//	     w2 AS (INSERT INTO tokens (...) SELECT * FROM (VALUES (...), (...)) v WHERE EXISTS (SELECT 1 FROM w0))
//	SELECT count(*) FROM w0
//
// A taken signature fails the statement, so nothing applies. Of concurrent rotations of one
// token, the second UPDATE waits for the first's row lock, then finds the row inactive and
// matches nothing: no write of its unit applies, and a read tells ErrConflict from ErrNotFound.
// There are few unit shapes, so few statement texts, each prepared once.
func (s *Store) applyPostgres(ctx context.Context, writes []storage.TokenWrite) error {
	pre, ok := pgOneStatement(writes)
	if !ok {
		return s.InTx(ctx, func(ctx context.Context) error {
			tx, _ := s.txFrom(ctx)
			return s.applyTx(ctx, tx.Tx, writes)
		})
	}
	query, args := pgUnitStatement(writes, pre)
	var matched int64
	if err := s.row(ctx, query, args...).Scan(&matched); err != nil {
		return err
	}
	if pre >= 0 && matched == 0 {
		t := writes[pre].Token
		return s.notActive(s.row(ctx, tokenExists, string(t.Kind), t.Signature))
	}
	return nil
}

// pgOneStatement reports whether the unit's one-statement form does what applying its writes
// in order does, and which write is its precondition (-1: none). The parts of one statement
// all see the database as it was before it, so the form needs at most one precondition, and
// no write that changes existing rows may meet a row another write of the unit touches: none
// of its kind written earlier in the unit (a row created earlier, or changed twice: PostgreSQL
// would apply only one of two changes to a row), nor a row of the same signature created
// later. The unit's random signatures do not meet the rows a TokenRevokeRequest ends (a
// collision would fail with ErrAlreadyExists, writing nothing). Other units (reuse revocation:
// delete a refresh token and deactivate its request's) run as a transaction.
func pgOneStatement(writes []storage.TokenWrite) (pre int, ok bool) {
	pre = -1
	for i, w := range writes {
		switch w.Op {
		case storage.TokenCreate:
			continue
		case storage.TokenDeactivate, storage.TokenRotate:
			if pre >= 0 {
				return -1, false
			}
			pre = i
		}
		for _, v := range writes[:i] {
			if v.Token.Kind == w.Token.Kind {
				return -1, false
			}
		}
		if w.Op == storage.TokenRevokeRequest {
			continue
		}
		for _, v := range writes[i+1:] {
			if v.Op == storage.TokenCreate && v.Token.Kind == w.Token.Kind && v.Token.Signature == w.Token.Signature {
				return -1, false
			}
		}
	}
	return pre, true
}

// pgTokenRow is one row of the unit's INSERT: a VALUES list types its columns from its
// expressions, not from the table, so each parameter is cast to its column's type.
const pgTokenRow = `(?::text, ?::text, ?::text, ?::text, ?::text, ?::boolean, ?::text, ?::timestamptz, ?::timestamptz, ?::bytea)`

// pgUnitStatement builds the one statement of a unit (see applyPostgres) and its arguments.
// The text depends only on the unit's shape (its ops, and which kinds a TokenRevokeRequest
// deactivates instead of deleting); kinds, signatures and rows are parameters.
func pgUnitStatement(writes []storage.TokenWrite, pre int) (string, []any) {
	var q strings.Builder
	args := make([]any, 0, 10*len(writes))
	ctes := 0
	cte := func() {
		if ctes == 0 {
			q.WriteString("WITH ")
		} else {
			q.WriteString(", ")
		}
		q.WriteString("w")
		q.WriteString(strconv.Itoa(ctes))
		q.WriteString(" AS (")
		ctes++
	}
	gate := ""
	if pre >= 0 {
		var query string
		query, args = deactivation(writes[pre], args)
		cte() // w0
		q.WriteString(query + " RETURNING 1)")
		gate = " AND EXISTS (SELECT 1 FROM w0)"
	}
	creates := 0
	for i, w := range writes {
		t := w.Token
		switch {
		case i == pre:
		case w.Op == storage.TokenCreate:
			creates++
		case w.Op == storage.TokenDelete:
			cte()
			q.WriteString(deleteToken + gate + ")")
			args = append(args, string(t.Kind), t.Signature)
		case w.Op == storage.TokenRevokeRequest:
			cte()
			q.WriteString(revokeRequest(t.Kind) + gate + ")")
			args = append(args, string(t.Kind), t.RequestID)
		}
	}
	if creates > 0 {
		cte()
		q.WriteString("INSERT INTO tokens (" + tokenCols + ") SELECT * FROM (VALUES ")
		n := 0
		for _, w := range writes {
			if w.Op != storage.TokenCreate {
				continue
			}
			if n > 0 {
				q.WriteString(", ")
			}
			q.WriteString(pgTokenRow)
			args = append(args, tokenArgs(w.Token)...)
			n++
		}
		q.WriteString(") v")
		if pre >= 0 {
			q.WriteString(" WHERE EXISTS (SELECT 1 FROM w0)")
		}
		q.WriteString(")")
	}
	if pre >= 0 {
		q.WriteString(" SELECT count(*) FROM w0")
	} else {
		q.WriteString(" SELECT 1")
	}
	return q.String(), args
}
