package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/facetid/facet/migrations"
)

// Migrate applies the embedded migrations of the store's dialect that are not applied yet.
// Several processes may call it at once on one database: PostgreSQL serializes them with a
// session advisory lock (one per database and schema), SQLite with a lock file beside the
// database (see sqliteLocker).
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations.FS, s.dialect)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var (
		dialect goose.Dialect
		opt     goose.ProviderOption
	)
	switch s.dialect {
	case DialectPostgres:
		id, err := s.migrationLockID(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// Probe every second, for up to ten minutes (a slow migration on another node).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 600))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		dialect, opt = goose.DialectPostgres, goose.WithSessionLocker(locker)
	case DialectSQLite:
		dialect, opt = goose.DialectSQLite3, goose.WithLocker(&sqliteLocker{path: s.path + ".migrate-lock"})
	default:
		return fmt.Errorf("migrate: unknown dialect %q", s.dialect)
	}
	// The read pool: on SQLite the writer pool has a single connection, and goose may want a
	// second one beside its transaction. Nothing else runs before the store is migrated.
	p, err := goose.NewProvider(dialect, s.rdb.DB, fsys, opt)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Not p.Close: it would close our pool.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		s.logger.InfoContext(ctx, "migration applied", "dialect", s.dialect,
			"file", path.Base(r.Source.Path), "duration", r.Duration)
	}
	return nil
}

// migrationLockID derives the advisory lock id from the database and schema the store
// migrates, so stores on different schemas of one server (tests, tenants) do not wait on
// each other.
func (s *Store) migrationLockID(ctx context.Context) (int64, error) {
	var db, schema sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&db, &schema); err != nil {
		return 0, fmt.Errorf("read current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("facet-migrate\x00" + db.String + "\x00" + schema.String))
	return int64(h.Sum64() >> 1), nil
}

// sqliteLocker is goose's lock.Locker for SQLite. goose reads the applied versions before it
// opens each migration's transaction, so two processes could both decide to apply the same
// file; the lock makes the whole read-and-apply exclusive. It holds a write transaction
// (BEGIN IMMEDIATE) on a separate, empty lock file: the database itself cannot be locked this
// way (goose needs to write it), and unlike a lease row, the operating system drops the lock
// when a process dies mid-migration.
type sqliteLocker struct {
	path string
	db   *sql.DB
	tx   *sql.Tx
}

var _ lock.Locker = (*sqliteLocker)(nil)

func (l *sqliteLocker) Lock(ctx context.Context, _ *sql.DB) error {
	db, err := sql.Open("sqlite", sqliteLockDSN(l.path))
	if err != nil {
		return fmt.Errorf("open migration lock %q: %w", l.path, err)
	}
	db.SetMaxOpenConns(1)
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err == nil {
			l.db, l.tx = db, tx
			return nil
		}
		var sqErr *sqlite.Error
		if !errors.As(err, &sqErr) || sqErr.Code()&0xff != sqlite3.SQLITE_BUSY || ctx.Err() != nil {
			db.Close()
			return fmt.Errorf("take migration lock %q: %w", l.path, err)
		}
		// busy_timeout already waited; try again until ctx ends.
		select {
		case <-ctx.Done():
			db.Close()
			return fmt.Errorf("take migration lock %q: %w", l.path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (l *sqliteLocker) Unlock(context.Context, *sql.DB) error {
	if l.db == nil {
		return nil
	}
	err := errors.Join(l.tx.Rollback(), l.db.Close())
	l.db, l.tx = nil, nil
	if err != nil {
		return fmt.Errorf("release migration lock %q: %w", l.path, err)
	}
	return nil
}

func sqliteLockDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?_txlock=immediate&_pragma=busy_timeout(5000)"
}
