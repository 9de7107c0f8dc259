package sqlstore_test

import (
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/facetid/facet/migrations"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestMigrateUnverifiedEmail upgrades a database at migration 0007 holding a verified and an
// unverified address: after 0008 both read back as before, and the unverified address no
// longer blocks another account from holding it, while the verified one still does.
func TestMigrateUnverifiedEmail(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.NewURL(t)
			driver, dsn, dialect := "postgres", url, goose.DialectPostgres
			if b.Name == sqlstore.DialectSQLite {
				driver, dsn, dialect = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite://"), goose.DialectSQLite3
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fsys, err := fs.Sub(migrations.FS, b.Name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(dialect, db, fsys)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(t.Context(), 7); err != nil {
				t.Fatal(err)
			}
			// Written as 0007 left users: times as each dialect stores them.
			insert, created := `INSERT INTO users (id, email, email_verified, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $4)`, any("2030-03-17T17:46:40Z")
			if driver == "sqlite" {
				insert, created = `INSERT INTO users (id, email, email_verified, created_at, updated_at)
				VALUES (?1, ?2, ?3, ?4, ?4)`, any(int64(1_900_000_000_000_000))
			}
			for _, u := range []struct {
				id, email string
				verified  bool
			}{{"ver", "ver@example.com", true}, {"unver", "unver@example.com", false}} {
				if _, err := db.ExecContext(t.Context(), insert, u.id, u.email, u.verified, created); err != nil {
					t.Fatalf("insert %s: %v", u.id, err)
				}
			}

			s, err := sqlstore.Open(t.Context(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			open := true
			t.Cleanup(func() {
				if open {
					s.Close()
				}
			})
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]struct {
				email    string
				verified bool
			}{"ver": {"ver@example.com", true}, "unver": {"unver@example.com", false}} {
				u, err := s.GetUser(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if u.Email != want.email || u.EmailVerified != want.verified {
					t.Errorf("%s after 0008: %q verified=%v, want %q verified=%v", id, u.Email, u.EmailVerified, want.email, want.verified)
				}
			}
			ctx, now := t.Context(), time.Now()
			if _, err := s.VerifyEmail(ctx, "unver", "ver@example.com", now); !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("verify an address verified before 0008: %v, want ErrAlreadyExists", err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(s.CreateUser(ctx, storage.User{ID: "owner", Email: "unver@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}))
			losers, err := s.VerifyEmail(ctx, "owner", "unver@example.com", now)
			must(err)
			if len(losers) != 1 || losers[0] != "unver" {
				t.Errorf("losers of an address held unverified since before 0008: %v, want [unver]", losers)
			}

			// An account from before 0008 never expires as unverified; one made since does.
			must(s.CreateUser(ctx, storage.User{ID: "fresh", Email: "fresh@example.com", Status: storage.UserActive, CreatedAt: now.Add(-time.Hour), UpdatedAt: now}))
			if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, unverified_email, email_verified, unverified_expires, created_at, updated_at)
				SELECT 'old', NULL, 'old@example.com', email_verified, FALSE, created_at, updated_at FROM users WHERE id = 'ver'`); err != nil {
				t.Fatal(err)
			}
			expired, err := s.DeleteUnverifiedUsers(ctx, now.Add(time.Hour*24*365*10))
			must(err)
			if len(expired) != 1 || expired[0] != "fresh" {
				t.Errorf("DeleteUnverifiedUsers after 0008: %v, want [fresh] (never an account from before it)", expired)
			}
			for _, id := range []string{"old", "unver"} {
				if _, err := s.GetUser(ctx, id); err != nil {
					t.Errorf("unverified account %s from before 0008 after the cleanup: %v", id, err)
				}
			}

			// Down again: of several unverified holders the oldest keeps the address.
			for i, id := range []string{"dup-new", "dup-old"} {
				at := now.Add(-time.Duration(i) * time.Hour)
				must(s.CreateUser(ctx, storage.User{ID: id, Email: "dup@example.com", Status: storage.UserActive, CreatedAt: at, UpdatedAt: at}))
			}
			open = false
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 7); err != nil {
				t.Fatalf("down to 0007: %v", err)
			}
			rows, err := db.QueryContext(ctx, `SELECT id, COALESCE(email, '') FROM users ORDER BY id`)
			must(err)
			defer rows.Close()
			got := map[string]string{}
			for rows.Next() {
				var id, email string
				must(rows.Scan(&id, &email))
				got[id] = email
			}
			must(rows.Err())
			want := map[string]string{"ver": "ver@example.com", "unver": "", "owner": "unver@example.com",
				"dup-old": "dup@example.com", "dup-new": ""}
			for id, email := range want {
				if got[id] != email {
					t.Errorf("%s after down: %q, want %q", id, got[id], email)
				}
			}
		})
	}
}
