// Package sqlstore is Facet's one storage.Storage implementation, on sqlx, for two dialects:
// "sqlite" (modernc.org/sqlite, pure Go, the embedded default) and "postgres" (lib/pq, the
// scale-out path).
//
// It owns connection setup, the transaction carried in ctx, the mapping of driver errors onto
// storage's sentinel errors and applying the embedded migrations. It does not own the schema's
// meaning (storage) nor any protocol rule (oauth).
//
// Every query is written once with "?" placeholders and rebound for the dialect; every query
// runs through exec, row, rows or queryPrepared, which use the transaction carried by ctx when
// there is one, so nothing bypasses an open transaction (on SQLite, where the writer pool has
// one connection, a write outside it would wait for the transaction to end).
//
// Conventions beyond storage.go's doc comments:
//   - Times are stored in UTC with microsecond precision and read back in UTC.
//   - Empty lists (client redirect URIs, session AMR, grant scopes, ...) read back as nil.
//   - Update* and Touch* return storage.ErrNotFound when no row matches; DeleteClient too.
//     DeleteToken, DeleteSession, DeleteGrant and DeleteProfileField are idempotent: deleting
//     an absent row is not an error (logout and token flows race with expiry and purges).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/facetid/facet/storage"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

var _ storage.Storage = (*Store)(nil)

// bindOnce registers modernc's driver name with sqlx: sqlx knows "sqlite3" (mattn) but not
// "sqlite", and would otherwise treat it as an unknown bind type.
var bindOnce sync.Once

// Store is a storage.Storage on a SQL database. It is safe for concurrent use.
type Store struct {
	// db runs every write and every transaction. On SQLite it holds one connection: SQLite
	// takes one writer at a time anyway, and concurrent writers on several connections queue
	// on busy_timeout polling and drop one another's page caches (every commit invalidates the
	// other connections' caches), which cost more CPU than the writes themselves. Writers now
	// queue in database/sql instead, and the one writer keeps its cache warm.
	db *sqlx.DB
	// rdb runs single statements that only read (SELECT) outside a transaction. On SQLite it
	// is a separate pool of connections (WAL lets them read beside the writer); on PostgreSQL
	// it is db.
	rdb     *sqlx.DB
	dialect string
	path    string // SQLite: the database file
	logger  *slog.Logger

	// rebound caches queries rebound for PostgreSQL ("?" → "$n"), keyed by the "?" text, so a
	// hot path does not rebuild its query on every call.
	rebound sync.Map
	// stmts and rstmts hold statements prepared on db and rdb, keyed by the "?" text (see
	// prepared); pending marks queries whose preparation on db was started in the background.
	stmts, rstmts, pending sync.Map
	// batch groups concurrent writes into one commit (SQLite only; see writeBatcher).
	batch *writeBatcher
	// release caches release data checked by its version (see releaseCache).
	release releaseCache
}

// Open connects to the database named by rawURL and checks it answers:
//
//	sqlite://./facet-data/facet.db   a path relative to the working directory
//	sqlite:///var/lib/facet/facet.db an absolute path
//	postgres://... or postgresql://...
//
// For SQLite it creates the file's folder. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, logger *slog.Logger) (*Store, error) {
	bindOnce.Do(func() { sqlx.BindDriver("sqlite", sqlx.QUESTION) })
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: logger}
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("open database: sqlite URL needs a file path without query or fragment: %q", rawURL)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open database: create folder: %w", err)
		}
		db, err := sqlx.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open database %q: %w", path, err)
		}
		rdb, err := sqlx.Open("sqlite", sqliteDSN(path))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open database %q: %w", path, err)
		}
		// One writer connection (see Store.db); WAL lets the readers run beside it, so a
		// handful of them is plenty. Connections live long: each new one runs the pragmas
		// again. Other processes (the CLI, another node's migration) still meet this one on
		// the database lock and busy_timeout.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		rdb.SetMaxOpenConns(sqliteReaders)
		rdb.SetMaxIdleConns(sqliteReaders)
		s.db, s.rdb, s.dialect, s.path = db, rdb, DialectSQLite, path
		s.batch = &writeBatcher{s: s}
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err := sqlx.Open("postgres", rawURL)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		db.SetMaxOpenConns(25)
		db.SetMaxIdleConns(25)
		db.SetConnMaxIdleTime(5 * time.Minute)
		db.SetConnMaxLifetime(time.Hour)
		s.db, s.rdb, s.dialect = db, db, DialectPostgres
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme in %q (want sqlite:// or postgres://)", redact(rawURL))
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.closePools()
		return nil, fmt.Errorf("open database: ping: %w", err)
	}
	return s, nil
}

// sqliteReaders is the size of SQLite's read pool.
const sqliteReaders = 4

func (s *Store) closePools() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// sqliteDSN is modernc's DSN for path. _txlock=immediate makes BEGIN take the write lock at
// once, so concurrent transactions queue on busy_timeout instead of failing with "database is
// locked" when a reader upgrades. temp_store(MEMORY) keeps savepoint sub-journals in memory:
// a token write unit runs under a savepoint inside the group commit, and on disk its
// sub-journal cost a pwrite per changed page (11 % of refresh's CPU in the profile, 7 % after).
// Times are bound as Unix microseconds and integers in DATETIME columns scanned back as UTC
// time.Time.
func sqliteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)" +
		"&_time_integer_format=unix_micro&_inttotime=1"
}

// redact drops the password from a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close releases the prepared statements and the connection pool.
func (s *Store) Close() error {
	var errs []error
	for _, m := range []*sync.Map{&s.stmts, &s.rstmts} {
		m.Range(func(k, v any) bool {
			errs = append(errs, v.(*sql.Stmt).Close())
			m.Delete(k)
			return true
		})
	}
	return errors.Join(append(errs, s.closePools())...)
}

type txKey struct{}

type txState struct {
	store *Store
	tx    *sqlx.Tx
}

func (s *Store) txFrom(ctx context.Context) (*sqlx.Tx, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok || st.store != s {
		return nil, false
	}
	return st.tx, true
}

// rebind turns a "?" query into the dialect's placeholders, once per query text.
func (s *Store) rebind(query string) string {
	if s.dialect == DialectSQLite {
		return query
	}
	if q, ok := s.rebound.Load(query); ok {
		return q.(string)
	}
	q := sqlx.Rebind(sqlx.DOLLAR, query)
	s.rebound.Store(query, q)
	return q
}

// exec, execN and row run a single-row statement through a prepared statement: on
// PostgreSQL that saves a round trip per query (lib/pq otherwise parses an unnamed statement
// each time), on SQLite the parse. Outside a transaction the statement is prepared once on its
// pool (database/sql prepares it again on each connection that runs it); reads (SELECT) go to
// the read pool. Inside a transaction the pool's statement runs on the transaction's
// connection (Tx.StmtContext reuses it when that connection already prepared it).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if tx, ok := s.txFrom(ctx); ok {
		if st := s.preparedInTx(query); st != nil {
			return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
		return tx.ExecContext(ctx, s.rebind(query), args...)
	}
	if s.batch != nil {
		return s.batch.exec(ctx, query, args)
	}
	return s.execPool(ctx, query, args)
}

// execPool runs a write on the writer pool, in autocommit.
func (s *Store) execPool(ctx context.Context, query string, args []any) (sql.Result, error) {
	if st := s.prepared(ctx, s.db, &s.stmts, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.rebind(query), args...)
}

// execN runs query and returns how many rows it changed.
func (s *Store) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *Store) row(ctx context.Context, query string, args ...any) *sql.Row {
	if tx, ok := s.txFrom(ctx); ok {
		if st := s.preparedInTx(query); st != nil {
			return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		}
		return tx.QueryRowContext(ctx, s.rebind(query), args...)
	}
	db, stmts := s.pool(query)
	if st := s.prepared(ctx, db, stmts, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.QueryRowContext(ctx, s.rebind(query), args...)
}

// pool returns the pool (and its statement cache) a statement outside a transaction runs on:
// the read pool for a SELECT, else the writer.
func (s *Store) pool(query string) (*sqlx.DB, *sync.Map) {
	if s.rdb != s.db && isRead(query) {
		return s.rdb, &s.rstmts
	}
	return s.db, &s.stmts
}

// isRead reports whether query is a plain SELECT (writes with RETURNING start otherwise).
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// prepared returns query prepared on db (cached in stmts), or nil when it cannot be
// prepared: the caller then runs the text and gets the error from the database. Queries are
// constants, so the caches stay small.
func (s *Store) prepared(ctx context.Context, db *sqlx.DB, stmts *sync.Map, query string) *sql.Stmt {
	if st, ok := stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	st, err := db.PrepareContext(ctx, s.rebind(query))
	if err != nil {
		return nil
	}
	if prev, loaded := stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

// preparedInTx returns the writer's statement for query when it is prepared already. When it
// is not, it starts preparing it in the background and returns nil (the caller runs the text
// this once): preparing on the pool needs a connection of its own, which a transaction must
// not wait for — on SQLite the transaction holds the only writer connection.
func (s *Store) preparedInTx(query string) *sql.Stmt {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if _, started := s.pending.LoadOrStore(query, true); !started {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if s.prepared(ctx, s.db, &s.stmts, query) == nil {
				s.pending.Delete(query) // try again on a later call
			}
		}()
	}
	return nil
}

func (s *Store) rows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if tx, ok := s.txFrom(ctx); ok {
		return tx.QueryContext(ctx, s.rebind(query), args...)
	}
	db, _ := s.pool(query)
	return db.QueryContext(ctx, s.rebind(query), args...)
}

// queryPrepared is rows through a prepared statement (as row does), for hot multi-row
// queries: an unprepared query with arguments costs PostgreSQL an extra round trip.
func (s *Store) queryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if tx, ok := s.txFrom(ctx); ok {
		if st := s.preparedInTx(query); st != nil {
			return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
		return tx.QueryContext(ctx, s.rebind(query), args...)
	}
	db, stmts := s.pool(query)
	if st := s.prepared(ctx, db, stmts, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.QueryContext(ctx, s.rebind(query), args...)
}

// BeginTx starts a transaction and returns a ctx carrying it. Beginning a transaction in a ctx
// that already carries one of this store is an error; use InTx to nest.
func (s *Store) BeginTx(ctx context.Context) (context.Context, error) {
	if _, ok := s.txFrom(ctx); ok {
		return ctx, errors.New("begin transaction: ctx already carries a transaction")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return ctx, fmt.Errorf("begin transaction: %w", mapErr(err))
	}
	return context.WithValue(ctx, txKey{}, &txState{store: s, tx: tx}), nil
}

// Commit commits the transaction carried by ctx.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := s.txFrom(ctx)
	if !ok {
		return errors.New("commit: no transaction in ctx")
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// Rollback rolls back the transaction carried by ctx.
func (s *Store) Rollback(ctx context.Context) error {
	tx, ok := s.txFrom(ctx)
	if !ok {
		return errors.New("rollback: no transaction in ctx")
	}
	if err := tx.Rollback(); err != nil {
		return fmt.Errorf("rollback: %w", mapErr(err))
	}
	return nil
}

// InTx runs fn in a transaction and commits when fn returns nil. Inside a transaction already
// carried by ctx, it just runs fn, which then commits or rolls back with the outer one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if _, ok := s.txFrom(ctx); ok {
		return fn(ctx)
	}
	txCtx, err := s.BeginTx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			if rbErr := s.Rollback(txCtx); rbErr != nil {
				s.logger.WarnContext(ctx, "rollback after panic", "err", rbErr)
			}
			panic(p)
		}
	}()
	if err := fn(txCtx); err != nil {
		if rbErr := s.Rollback(txCtx); rbErr != nil {
			s.logger.WarnContext(ctx, "rollback after error", "err", rbErr)
		}
		return err
	}
	return s.Commit(txCtx)
}

// mapErr maps driver errors onto storage's sentinels (storage.ErrUnavailable included),
// keeping the driver's error in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", storage.ErrAlreadyExists, err)
		case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return fmt.Errorf("%w: %w", storage.ErrConflict, err)
		}
		return unavailable(err)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", storage.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			// The one trigger that aborts is users_not_tombstone (migration 0014): an id
			// taken by a purged account, which is a unique key like any other.
			return fmt.Errorf("%w: %w", storage.ErrAlreadyExists, err)
		}
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", storage.ErrConflict, err)
		}
	}
	return unavailable(err)
}

// ts normalizes a time before writing: UTC, microseconds (what PostgreSQL keeps; SQLite would
// truncate while PostgreSQL rounds, so both truncate here first).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsPtr is ts for nullable times.
func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
