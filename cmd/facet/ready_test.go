package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/facetid/facet/storage/sqltest"
)

// getReady polls /health/ready and returns its status and body.
func getReady(t *testing.T, f *facet) (int, map[string]string) {
	t.Helper()
	resp, err := f.client().Get(f.issuer + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := jsonDecode(resp, &body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// markSQLiteReadOnly makes the SQLite file at path read-only for every connection that opens
// it, root's included (root ignores file modes): SQLite treats a file whose header carries a
// write version above 2 as read-only (file format, "File format version numbers", offset 18).
func markSQLiteReadOnly(t *testing.T, path string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt([]byte{3}, 18); err != nil {
		t.Fatal(err)
	}
}

// reconnected polls readiness, the clock moved past readyTTL each time, until the node's
// pool has dropped the connections the test terminated (each fails its first use) and the
// database answers again.
func reconnected(t *testing.T, f *facet, c *clock) (int, map[string]string) {
	t.Helper()
	for range 40 {
		c.advance(readyTTL)
		if status, body := getReady(t, f); body["database"] == "up" {
			return status, body
		}
	}
	t.Fatal("the node did not reconnect to the database")
	return 0, nil
}

// TestReadyReadOnlyDatabase: a database that answers but cannot write makes the node not
// ready, and the answer names the check that failed. Within readyTTL a poll gets the cached
// verdict; once the database writes again, the node is ready again.
func TestReadyReadOnlyDatabase(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			db := newOutageDB(t, be)
			c := newClock()
			f, _ := startFacetLogged(t, db.url, c)
			if status, body := getReady(t, f); status != http.StatusOK || body["write"] != "ok" {
				t.Fatalf("ready on a writable database: %d %v", status, body)
			}
			if db.name == "" {
				// SQLite: the node restarts on the file made read-only.
				f.stop(t)
				markSQLiteReadOnly(t, strings.TrimPrefix(db.url, "sqlite://"))
				f, _ = startFacetLogged(t, db.url, c)
			} else {
				name := pq.QuoteIdentifier(db.name)
				pgAdmin(t, `ALTER DATABASE `+name+` SET default_transaction_read_only = on`)
				pgAdmin(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+db.name+`'`)
				if status, _ := getReady(t, f); status != http.StatusOK {
					t.Errorf("within %s of the last probe: %d, want the cached 200", readyTTL, status)
				}
			}
			status, body := getReady(t, f)
			if db.name != "" {
				status, body = reconnected(t, f, c)
			}
			if status != http.StatusServiceUnavailable || body["status"] != "unavailable" ||
				body["database"] != "up" || body["write"] != "failed" {
				t.Errorf("ready on a read-only database: %d %v, want 503 with database up and write failed", status, body)
			}
			if db.name == "" {
				return
			}
			pgAdmin(t, `ALTER DATABASE `+pq.QuoteIdentifier(db.name)+` RESET default_transaction_read_only`)
			pgAdmin(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+db.name+`'`)
			if status, body := reconnected(t, f, c); status != http.StatusOK {
				t.Errorf("ready once the database writes again: %d %v", status, body)
			}
		})
	}
}
