package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"github.com/facetid/facet/migrations"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/storage/storagetest"
)

func TestConformance(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storagetest.Run(t, func(t *testing.T) storage.Storage { return b.Open(t) })
		})
	}
}

func TestMigrationFoldersMatch(t *testing.T) {
	names := func(dir string) []string {
		entries, err := fs.ReadDir(migrations.FS, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, postgres := names("sqlite"), names("postgres")
	if len(sqlite) == 0 {
		t.Fatal("no migrations")
	}
	if !slices.Equal(sqlite, postgres) {
		t.Errorf("migration files differ:\nsqlite:   %v\npostgres: %v", sqlite, postgres)
	}
	for _, name := range sqlite {
		for _, dir := range []string{"sqlite", "postgres"} {
			b, err := fs.ReadFile(migrations.FS, dir+"/"+name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "-- +goose Up") || !strings.Contains(string(b), "-- +goose Down") {
				t.Errorf("%s/%s lacks a goose Up or Down section", dir, name)
			}
		}
	}
}

func TestSQLiteBindType(t *testing.T) {
	sqltest.Backend{Name: sqlstore.DialectSQLite}.Open(t)
	if got := sqlx.BindType("sqlite"); got != sqlx.QUESTION {
		t.Errorf(`sqlx.BindType("sqlite") = %d, want sqlx.QUESTION (%d)`, got, sqlx.QUESTION)
	}
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	nested := filepath.Join(dir, "a", "b", "facet.db")
	s, err := sqlstore.Open(t.Context(), "sqlite://"+nested, nil)
	if err != nil {
		t.Fatalf("Open with a missing folder: %v", err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.DialectSQLite {
		t.Errorf("Dialect = %q", s.Dialect())
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Error(err)
	}
	t.Chdir(dir)
	rel, err := sqlstore.Open(t.Context(), "sqlite://./data/facet.db", nil)
	if err != nil {
		t.Fatalf("Open with a relative path: %v", err)
	}
	defer rel.Close()
	if err := rel.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{nested, filepath.Join(dir, "data", "facet.db")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("database file not where the URL says: %v", err)
		}
	}
	if slices.Contains(sqltest.Backends(t), sqltest.Backend{Name: sqlstore.DialectPostgres}) {
		u := sqltest.Backend{Name: sqlstore.DialectPostgres}.NewURL(t)
		pg, err := sqlstore.Open(t.Context(), "postgresql://"+strings.TrimPrefix(u, "postgres://"), nil)
		if err != nil {
			t.Fatalf("Open postgresql://: %v", err)
		}
		defer pg.Close()
		if pg.Dialect() != sqlstore.DialectPostgres {
			t.Errorf("Dialect = %q", pg.Dialect())
		}
	}
	for _, bad := range []string{"mysql://x", "sqlite://", "sqlite://x.db?mode=memory", ""} {
		if s, err := sqlstore.Open(t.Context(), bad, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
}

// TestMigrateConcurrently starts three stores on one database at once, as several nodes
// would after an upgrade: every Migrate succeeds and each migration is applied once. goose's
// version table is created beforehand: goose retries its own creation after a second, which
// would hide a missing lock around the migrations themselves.
func TestMigrateConcurrently(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			url := b.NewURL(t)
			createVersionTable(t, b.Name, url)
			const n = 3
			stores := make([]*sqlstore.Store, n)
			for i := range stores {
				s, err := sqlstore.Open(t.Context(), url, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, s := range stores {
				wg.Go(func() {
					<-start
					errs[i] = s.Migrate(t.Context())
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent Migrate: %v", err)
			}
			// Applied once, usable from every store, and a later Migrate is a no-op.
			for i, s := range stores {
				if err := s.CreateUser(t.Context(), storage.User{ID: fmt.Sprint(i), Email: fmt.Sprint(i, "@x"), Status: storage.UserActive}); err != nil {
					t.Errorf("store %d after Migrate: %v", i, err)
				}
				if err := s.Migrate(t.Context()); err != nil {
					t.Errorf("second Migrate on store %d: %v", i, err)
				}
			}
		})
	}
}

// createVersionTable creates goose's version table, at version 0, in the database at url.
func createVersionTable(t *testing.T, dialect, url string) {
	t.Helper()
	driver, dsn, gooseDialect := "postgres", url, goose.DialectPostgres
	if dialect == sqlstore.DialectSQLite {
		driver, dsn, gooseDialect = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite://"), goose.DialectSQLite3
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrations.FS, dialect)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetDBVersion(t.Context()); err != nil || v != 0 {
		t.Fatalf("create goose version table: version %d, %v", v, err)
	}
}

func benchToken(i int) storage.Token {
	now := time.Now()
	return storage.Token{
		Kind: storage.KindAccessToken, Signature: fmt.Sprintf("sig-%09d", i), RequestID: fmt.Sprintf("req-%09d", i),
		ClientID: "app", Subject: "user-1", Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour),
		Data: make([]byte, 1024),
	}
}

func BenchmarkCreateToken(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			toks := make([]storage.Token, b.N)
			for i := range toks {
				toks[i] = benchToken(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := s.CreateToken(b.Context(), toks[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetToken(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			const n = 1000
			sigs := make([]string, n)
			for i := range n {
				tok := benchToken(i)
				if err := s.CreateToken(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
				sigs[i] = tok.Signature
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.GetToken(b.Context(), storage.KindAccessToken, sigs[i%n]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
