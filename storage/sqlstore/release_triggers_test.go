package sqlstore_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// notClaims names every table with a foreign key to users that GetReleaseData does not read,
// and why no claim comes from it. A new table that references users is neither here nor read
// by the release, so releaseTriggerProblems reports it until someone decides: it feeds claims
// (then it needs triggers that bump users.release_version, or the per-node release cache
// keeps serving claims the user has since made private) or it is listed here with a reason.
var notClaims = map[string]string{
	"sessions":      "browser sign-in state; an app learns nothing of it through claims",
	"verifications": "pending email and phone codes; a value becomes a claim only once verified, when it is written to users or profile_fields",
	"photos":        "image bytes; the picture claim is the URL held in profile_fields, and serving a photo checks its level at each request",
	"events":        "the user's activity log, written after releases and never released",
	"disclosures":   "the record of what releases gave out, written by them and not read by them",
	"claim_declines": "the on-request claims a user declined on a consent page; no claim comes from a decline " +
		"(only grants.claims releases one), and consent removes a declined claim from grants.claims in the same transaction",
	"mfa_totp":           "the encrypted authenticator secret; the second factor proves a sign-in and is never a claim",
	"login_challenges":   "a sign-in waiting for its second factor; it proves who signs in and is never a claim",
	"mfa_recovery_codes": "hashes of single-use sign-in codes; never a claim",
	"identifiers":        "the upstream accounts linked for signing in; the field catalog has no claim made from them, so no release reads them",
	"cards": "the business card's identifier and Activity switch; the card page reads the profile directly (its documented " +
		"exception to privacy levels), never through a release, and no claim comes from the card",
	"client_access": "which closed apps admit the user; the authorization endpoint reads it before any release, and no claim comes from it",
	"favorites":     "the apps the user starred in the catalog; only the account pages and the export read them, and no claim comes from them",
}

// TestReleaseTriggers: every table the release reads has triggers that bump its user's
// release_version on INSERT, UPDATE (also one that moves the row to another user) and DELETE,
// and every other table referencing users is a decided non-claim table. The tables come from
// each database's own catalog and from what GetReleaseData fails without, not from a list
// kept beside the migrations.
func TestReleaseTriggers(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			url := b.NewURL(t)
			for _, p := range releaseTriggerProblems(t, b.Name, url, notClaims) {
				t.Error(p)
			}
		})
	}
}

// TestReleaseTriggersCheckFails shows the check above can fail: in a database of its own it
// drops the trigger that bumps on a deleted grant, adds a table that references users, and
// lists a claim table as a non-claim one; the checker reports each.
func TestReleaseTriggersCheckFails(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := b.NewURL(t)
			openURL(t, url)
			db := rawDB(t, b.Name, url)
			drop := `DROP TRIGGER grants_release_delete`
			if b.Name == sqlstore.DialectPostgres {
				// One trigger covers the three operations there.
				drop = `DROP TRIGGER grants_release_version ON grants`
			}
			for _, stmt := range []string{
				drop,
				`CREATE TABLE nicknames (user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, nickname TEXT NOT NULL)`,
			} {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			excluded := map[string]string{"profile_fields": "wrongly listed"}
			for k, v := range notClaims {
				excluded[k] = v
			}
			problems := releaseTriggerProblems(t, b.Name, url, excluded)
			t.Logf("reported:\n%s", strings.Join(problems, "\n"))
			for _, want := range []string{
				"grants: a DELETE left",
				"nicknames references users but",
				"profile_fields is listed in notClaims",
			} {
				if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
					t.Errorf("no problem starting %q among:\n%s", want, strings.Join(problems, "\n"))
				}
			}
			if b.Name == sqlstore.DialectPostgres && !slices.ContainsFunc(problems, func(p string) bool {
				return strings.HasPrefix(p, "grants has no trigger")
			}) {
				t.Errorf("the trigger-less grants table is not reported:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
}

// releaseTriggerProblems migrates the empty database at url and describes each way a change
// of release data could leave users.release_version unchanged there, given the tables that
// excluded says feed no claim.
//
// The release's tables are found by hiding each table in turn (a rename) and calling
// GetReleaseData on a fresh store: the tables it cannot do without are the ones it reads, on
// this dialect's own code path. The tables that reference users come from the catalog. Each
// release table other than users must reference users, carry a trigger, and bump its user's
// version on an INSERT of a row built from its columns, an UPDATE of that row, an UPDATE that
// moves it to another user (both bump) and a DELETE; an UPDATE of a users row bumps that user.
func releaseTriggerProblems(t *testing.T, dialect, url string, excluded map[string]string) []string {
	t.Helper()
	ctx := t.Context()
	s := openURL(t, url)
	db := rawDB(t, dialect, url)
	c := catalog{db: db, dialect: dialect}
	now := time.Now()
	for _, id := range []string{"u1", "u2"} {
		must(t, s.CreateUser(ctx, storage.User{ID: id, Email: id + "@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}))
	}
	must(t, s.CreateClient(ctx, storage.Client{ID: "app", CreatedAt: now, UpdatedAt: now}))

	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	read := map[string]bool{"users": true}
	for _, table := range c.tables(t) {
		if table == "users" || strings.HasPrefix(table, "goose_") {
			continue
		}
		read[table] = releaseNeeds(t, db, url, table)
	}
	var released []string
	for _, table := range sortedKeys(read) {
		if read[table] {
			released = append(released, table)
		}
	}
	t.Logf("%s: GetReleaseData reads %v", dialect, released)
	referencing := map[string]string{} // table → its column referencing users(id)
	for table := range read {
		for _, fk := range c.foreignKeys(t, table) {
			if fk.table == "users" {
				referencing[table] = fk.column
			}
		}
	}
	for table := range referencing {
		if _, ok := excluded[table]; !ok && !read[table] {
			report("%s references users but GetReleaseData does not read it and notClaims does not list it: "+
				"give it triggers that bump users.release_version if claims come from it, else say in notClaims why none do", table)
		}
	}
	for table := range excluded {
		isRead, exists := read[table]
		switch {
		case !exists:
			report("%s is listed in notClaims but the schema holds no such table", table)
		case isRead:
			report("%s is listed in notClaims but GetReleaseData reads it", table)
		}
	}

	version := func(id string) int64 {
		t.Helper()
		var v int64
		if err := db.QueryRowContext(ctx, c.bind(`SELECT release_version FROM users WHERE id = ?`), id).Scan(&v); err != nil {
			t.Fatalf("release_version of %s: %v", id, err)
		}
		return v
	}
	// bumps runs stmt and reports each of ids whose version it did not raise.
	bumps := func(table, what, stmt string, args []any, ids ...string) {
		t.Helper()
		before := make([]int64, len(ids))
		for i, id := range ids {
			before[i] = version(id)
		}
		if _, err := db.ExecContext(ctx, c.bind(stmt), args...); err != nil {
			t.Fatalf("%s: %s: %v", table, stmt, err)
		}
		for i, id := range ids {
			if after := version(id); after <= before[i] {
				report("%s: %s left release_version of %s at %d", table, what, id, after)
			}
		}
	}
	for _, table := range sortedKeys(read) {
		if !read[table] && table != "users" {
			continue
		}
		if len(c.triggers(t, table)) == 0 {
			report("%s has no trigger, yet GetReleaseData reads it", table)
		}
		if table == "users" {
			bumps(table, "an UPDATE", `UPDATE users SET email = email WHERE id = ?`, []any{"u1"}, "u1")
			continue
		}
		col, ok := referencing[table]
		if !ok {
			report("%s is read by GetReleaseData but has no foreign key to users: no trigger can tell which user's release_version to bump", table)
			continue
		}
		q := quoteIdent(table)
		cols, args := c.sampleRow(t, table, col, "u1")
		bumps(table, "an INSERT", `INSERT INTO `+q+` (`+strings.Join(cols, ", ")+`) VALUES (?`+strings.Repeat(", ?", len(cols)-1)+`)`, args, "u1")
		bumps(table, "an UPDATE", `UPDATE `+q+` SET `+quoteIdent(col)+` = `+quoteIdent(col)+` WHERE `+quoteIdent(col)+` = ?`, []any{"u1"}, "u1")
		bumps(table, "an UPDATE to another user", `UPDATE `+q+` SET `+quoteIdent(col)+` = ? WHERE `+quoteIdent(col)+` = ?`, []any{"u2", "u1"}, "u1", "u2")
		bumps(table, "a DELETE", `DELETE FROM `+q+` WHERE `+quoteIdent(col)+` = ?`, []any{"u2"}, "u2")
	}
	return problems
}

// releaseNeeds reports whether GetReleaseData fails while table is renamed away, on a store
// opened afterwards (a store opened before could hold statements prepared on the table, which
// PostgreSQL follows through a rename). The table gets its name back before it returns.
func releaseNeeds(t *testing.T, db *sql.DB, url, table string) bool {
	t.Helper()
	ctx := t.Context()
	hidden := "hidden_" + table
	rename := func(from, to string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, `ALTER TABLE `+quoteIdent(from)+` RENAME TO `+quoteIdent(to)); err != nil {
			t.Fatalf("rename %s to %s: %v", from, to, err)
		}
	}
	rename(table, hidden)
	defer rename(hidden, table)
	s, err := sqlstore.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.GetReleaseData(ctx, "u1", "app")
	return err != nil
}

// catalog reads a database's schema: SQLite's pragma functions, PostgreSQL's system catalogs
// (the current schema, which search_path selects).
type catalog struct {
	db      *sql.DB
	dialect string
}

type foreignKey struct {
	column, table, refColumn string
}

type column struct {
	name, typ        string
	required, hasDef bool
	primaryKey       bool
}

func (c catalog) bind(q string) string {
	if c.dialect == sqlstore.DialectPostgres {
		return sqlx.Rebind(sqlx.DOLLAR, q)
	}
	return q
}

func (c catalog) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := c.db.QueryContext(t.Context(), c.bind(q), args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (c catalog) tables(t *testing.T) []string {
	t.Helper()
	if c.dialect == sqlstore.DialectPostgres {
		return c.strings(t, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
	}
	return c.strings(t, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY 1`)
}

func (c catalog) triggers(t *testing.T, table string) []string {
	t.Helper()
	if c.dialect == sqlstore.DialectPostgres {
		// Not the internal triggers PostgreSQL makes for foreign keys.
		return c.strings(t, `SELECT tgname FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal ORDER BY 1`, table)
	}
	return c.strings(t, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY 1`, table)
}

// foreignKeys lists table's single-column foreign keys.
func (c catalog) foreignKeys(t *testing.T, table string) []foreignKey {
	t.Helper()
	q := `SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)`
	if c.dialect == sqlstore.DialectPostgres {
		q = `SELECT a.attname, r.relname, ra.attname
		       FROM pg_constraint k
		       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
		       JOIN pg_class r ON r.oid = k.confrelid
		       JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
		      WHERE k.contype = 'f' AND k.conrelid = ?::regclass`
	}
	rows, err := c.db.QueryContext(t.Context(), c.bind(q), table)
	if err != nil {
		t.Fatalf("foreign keys of %s: %v", table, err)
	}
	defer rows.Close()
	var out []foreignKey
	for rows.Next() {
		var fk foreignKey
		if err := rows.Scan(&fk.column, &fk.table, &fk.refColumn); err != nil {
			t.Fatal(err)
		}
		out = append(out, fk)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (c catalog) columns(t *testing.T, table string) []column {
	t.Helper()
	q := `SELECT name, type, "notnull" = 1, dflt_value IS NOT NULL, pk > 0 FROM pragma_table_info(?) ORDER BY cid`
	if c.dialect == sqlstore.DialectPostgres {
		q = `SELECT c.column_name, c.data_type, c.is_nullable = 'NO', c.column_default IS NOT NULL,
		            EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		                     WHERE i.indrelid = c.table_name::text::regclass AND i.indisprimary AND a.attname = c.column_name)
		       FROM information_schema.columns c
		      WHERE c.table_schema = current_schema() AND c.table_name = ?
		      ORDER BY c.ordinal_position`
	}
	rows, err := c.db.QueryContext(t.Context(), c.bind(q), table)
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var col column
		if err := rows.Scan(&col.name, &col.typ, &col.required, &col.hasDef, &col.primaryKey); err != nil {
			t.Fatal(err)
		}
		out = append(out, col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleRow returns the columns and values of a new row of table whose column userCol holds
// userID: every column without a default or that is part of the primary key gets a value of
// its type, and a column referencing another table gets the key of a row made there the same
// way (a grant needs its client), so a table added later needs no code here.
func (c catalog) sampleRow(t *testing.T, table, userCol, userID string) ([]string, []any) {
	t.Helper()
	refs := map[string]foreignKey{}
	for _, fk := range c.foreignKeys(t, table) {
		refs[fk.column] = fk
	}
	var (
		cols []string
		args []any
	)
	for i, col := range c.columns(t, table) {
		fk, isRef := refs[col.name]
		if !col.primaryKey && !isRef && (col.hasDef || !col.required) {
			continue
		}
		cols = append(cols, quoteIdent(col.name))
		switch {
		case col.name == userCol:
			args = append(args, userID)
		case isRef && fk.table == "users":
			args = append(args, userID)
		case isRef:
			args = append(args, c.ensureRow(t, fk))
		default:
			args = append(args, sampleValue(col.typ, fmt.Sprintf("%s-%d", table, i)))
		}
	}
	return cols, args
}

// ensureRow makes a row of fk's table with a key of its own and returns the key.
func (c catalog) ensureRow(t *testing.T, fk foreignKey) string {
	t.Helper()
	key := "sample-" + fk.table
	var cols []string
	var args []any
	for i, col := range c.columns(t, fk.table) {
		if col.name != fk.refColumn && !col.primaryKey && (col.hasDef || !col.required) {
			continue
		}
		cols = append(cols, quoteIdent(col.name))
		if col.name == fk.refColumn {
			args = append(args, key)
		} else {
			args = append(args, sampleValue(col.typ, fmt.Sprintf("%s-%d", fk.table, i)))
		}
	}
	q := `INSERT INTO ` + quoteIdent(fk.table) + ` (` + strings.Join(cols, ", ") + `) VALUES (?` +
		strings.Repeat(", ?", len(cols)-1) + `) ON CONFLICT DO NOTHING`
	if _, err := c.db.ExecContext(t.Context(), c.bind(q), args...); err != nil {
		t.Fatalf("a row of %s: %v", fk.table, err)
	}
	return key
}

// sampleValue is a value of a column of SQL type typ (SQLite's declared type or PostgreSQL's
// data_type); text columns get text, unique to the column.
func sampleValue(typ, text string) any {
	switch typ = strings.ToUpper(typ); {
	case strings.Contains(typ, "BOOL"):
		return false
	case strings.Contains(typ, "INT"):
		return 1
	case strings.Contains(typ, "TIME"), strings.Contains(typ, "DATE"):
		return time.Now()
	case strings.Contains(typ, "BLOB"), strings.Contains(typ, "BYTEA"):
		return []byte{0}
	default:
		return text
	}
}

// quoteIdent quotes a name from the catalog as an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
