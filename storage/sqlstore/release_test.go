package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/storage/storagetest"
)

// TestConformanceNodes runs storagetest.RunNodes: two stores on one database, as two nodes.
func TestConformanceNodes(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storagetest.RunNodes(t, func(t *testing.T) (storage.Storage, storage.Storage) {
				url := b.NewURL(t)
				return openURL(t, url), openURL(t, url)
			})
		})
	}
}

// openURL opens and migrates a store on url, closed at t's cleanup.
func openURL(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// rawDB opens url with database/sql alone, to read and write what the store does not expose.
func rawDB(t testing.TB, dialect, url string) *sql.DB {
	t.Helper()
	driver, dsn := "postgres", url
	if dialect == sqlstore.DialectSQLite {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite://")+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestReleaseVersion: the triggers of migration 0007 bump users.release_version once per
// changed row of the release's inputs (a users UPDATE bumps once, without recursing), a hit
// returns the kept data, and a user deleted under a kept entry (with its rows, by cascade)
// is ErrNotFound.
func TestReleaseVersion(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := b.NewURL(t)
			s := openURL(t, url)
			db := rawDB(t, b.Name, url)
			version := func() int64 {
				t.Helper()
				var v int64
				if err := db.QueryRowContext(ctx, `SELECT release_version FROM users WHERE id = 'u1'`).Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			now := time.Now()
			must(t, s.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}))
			must(t, s.CreateUser(ctx, storage.User{ID: "u2", Email: "u2@example.com", CreatedAt: now, UpdatedAt: now}))
			must(t, s.CreateClient(ctx, storage.Client{ID: "app", CreatedAt: now, UpdatedAt: now}))
			v := version()
			for _, c := range []struct {
				what   string
				change func() error
				bumps  int64
			}{
				{"UpdateUser", func() error {
					return s.UpdateUser(ctx, storage.User{ID: "u1", Email: "u1@example.org", Status: storage.UserActive, UpdatedAt: now})
				}, 1},
				{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, "u1", "h", now) }, 1},
				{"PutProfileValues of two fields", func() error {
					return s.PutProfileValues(ctx, "u1", map[string]string{"given_name": "Ann", "nickname": "a"}, now)
				}, 2},
				{"SetFieldPrivacy", func() error { return s.SetFieldPrivacy(ctx, "u1", "given_name", "public", now) }, 1},
				{"DeleteProfileField", func() error { return s.DeleteProfileField(ctx, "u1", "nickname") }, 1},
				{"DeleteProfileField of an absent field", func() error { return s.DeleteProfileField(ctx, "u1", "nickname") }, 0},
				{"SetPrivateProfile", func() error { return s.SetPrivateProfile(ctx, "u1", true, now) }, 1},
				{"SetPrivateProfile again", func() error { return s.SetPrivateProfile(ctx, "u1", true, now) }, 1},
				{"PutGrant", func() error {
					return s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now})
				}, 1},
				{"DeleteClient", func() error { return s.DeleteClient(ctx, "app") }, 1},
				{"a change of another user", func() error { return s.PutProfileValues(ctx, "u2", map[string]string{"given_name": "Bob"}, now) }, 0},
			} {
				must(t, c.change())
				if got := version(); got != v+c.bumps {
					t.Errorf("%s: release_version %d → %d, want +%d", c.what, v, got, c.bumps)
				}
				v = version()
			}

			// A hit returns the kept data itself: the same backing array of Fields.
			d1, err := s.GetReleaseData(ctx, "u1", "app")
			must(t, err)
			d2, err := s.GetReleaseData(ctx, "u1", "app")
			must(t, err)
			if len(d1.Fields) == 0 || &d1.Fields[0] != &d2.Fields[0] {
				t.Error("the second GetReleaseData did not return the kept data")
			}
			must(t, s.PutProfileValues(ctx, "u1", map[string]string{"given_name": "Anna"}, now))
			d3, err := s.GetReleaseData(ctx, "u1", "app")
			must(t, err)
			if &d3.Fields[0] == &d1.Fields[0] || d3.Fields[0].Value != "Anna" {
				t.Errorf("after a change GetReleaseData returned the kept data: %+v", d3.Fields)
			}

			// Deleting the user takes its rows by cascade; the triggers find no user to bump.
			if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = 'u1'`); err != nil {
				t.Fatalf("delete a user with fields, switch and grant: %v", err)
			}
			_, err = s.GetReleaseData(ctx, "u1", "app")
			wantErr(t, err, storage.ErrNotFound)
		})
	}
}

// TestReleaseVersionConcurrentWrites (PostgreSQL; SQLite runs one writer at a time): two
// transactions changing different rows of one user do not wait for each other, because the
// version bump locks the users row only at commit. Bumped at each row, the second write would
// wait for the first transaction, and two profile saves with overlapping fields would
// deadlock.
func TestReleaseVersionConcurrentWrites(t *testing.T) {
	b := sqltest.Backend{Name: sqlstore.DialectPostgres}
	if !slices.Contains(sqltest.Backends(t), b) {
		t.Skipf("%s is not set", sqltest.EnvDatabaseURL)
	}
	ctx := t.Context()
	s := openURL(t, b.NewURL(t))
	now := time.Now()
	must(t, s.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}))
	must(t, s.CreateClient(ctx, storage.Client{ID: "app", CreatedAt: now, UpdatedAt: now}))
	writes := []func(ctx context.Context) error{
		func(ctx context.Context) error {
			return s.PutProfileValues(ctx, "u1", map[string]string{"nickname": "b"}, now)
		},
		func(ctx context.Context) error { return s.SetFieldPrivacy(ctx, "u1", "birthdate", "public", now) },
		func(ctx context.Context) error { return s.SetPrivateProfile(ctx, "u1", true, now) },
		func(ctx context.Context) error {
			return s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", CreatedAt: now, UpdatedAt: now})
		},
	}
	for i, write := range writes {
		txA, err := s.BeginTx(ctx)
		must(t, err)
		must(t, s.PutProfileValues(txA, "u1", map[string]string{"given_name": fmt.Sprint("a", i)}, now))
		done := make(chan error, 1)
		go func() { done <- s.InTx(ctx, write) }()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(10 * time.Second):
			must(t, s.Rollback(txA))
			t.Fatalf("write %d waited for another transaction's change of the same user", i)
		}
		must(t, s.Commit(txA))
	}
	// The bumps still happened, at each commit: a changed grant reads back at once.
	d, err := s.GetReleaseData(ctx, "u1", "app")
	must(t, err)
	must(t, s.DeleteGrant(ctx, "u1", "app"))
	if d2, err := s.GetReleaseData(ctx, "u1", "app"); err != nil || d2.Grant.ClientID != "" || d.Grant.ClientID != "app" {
		t.Errorf("grant before and after DeleteGrant: %+v, %+v (%v)", d.Grant, d2.Grant, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}
