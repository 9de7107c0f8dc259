// Package sqltest opens sqlstore databases for tests: a fresh SQLite file in t.TempDir()
// always, and a fresh PostgreSQL schema per test when FACET_TEST_DATABASE_URL is set. The
// conformance suite (storagetest) takes an opener and knows no implementation; this package
// is where sqlstore's tests, and the tests of packages that need a real store, get one.
package sqltest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/lib/pq"

	"github.com/facetid/facet/storage/sqlstore"
)

// EnvDatabaseURL names the variable holding a PostgreSQL URL for tests, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. Each test gets a fresh schema
// in that database.
const EnvDatabaseURL = "FACET_TEST_DATABASE_URL"

// Backend is a database kind tests run against: "sqlite" or "postgres".
type Backend struct {
	Name string
}

// Backends returns SQLite always, and PostgreSQL when FACET_TEST_DATABASE_URL is set.
func Backends(t testing.TB) []Backend {
	t.Helper()
	b := []Backend{{Name: sqlstore.DialectSQLite}}
	if os.Getenv(EnvDatabaseURL) != "" {
		b = append(b, Backend{Name: sqlstore.DialectPostgres})
	}
	return b
}

// NewURL returns the URL of a fresh, empty database, removed at t's cleanup: a file in
// t.TempDir() for SQLite; for PostgreSQL a new schema in FACET_TEST_DATABASE_URL's database,
// selected with search_path (a schema takes a few milliseconds where CREATE DATABASE takes
// ~150), dropped with CASCADE at cleanup.
func (b Backend) NewURL(t testing.TB) string {
	t.Helper()
	switch b.Name {
	case sqlstore.DialectSQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "facet.db")
	case sqlstore.DialectPostgres:
		base := os.Getenv(EnvDatabaseURL)
		if base == "" {
			t.Skipf("%s is not set", EnvDatabaseURL)
		}
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
		}
		schema := "facet_t_" + randomHex(t, 8)
		admin(t, base, `CREATE SCHEMA `+pq.QuoteIdentifier(schema))
		t.Cleanup(func() { admin(t, base, `DROP SCHEMA `+pq.QuoteIdentifier(schema)+` CASCADE`) })
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	default:
		t.Fatalf("unknown backend %q", b.Name)
		return ""
	}
}

// Open opens a store on NewURL, migrates it and closes it at t's cleanup.
func (b Backend) Open(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), b.NewURL(t), nil)
	if err != nil {
		t.Fatalf("open %s: %v", b.Name, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", b.Name, err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate %s: %v", b.Name, err)
	}
	return s
}

// admin runs one statement on the PostgreSQL server of FACET_TEST_DATABASE_URL.
func admin(t testing.TB, base, stmt string) {
	t.Helper()
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	defer db.Close()
	// Not t.Context(): cleanups run after it is canceled.
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
