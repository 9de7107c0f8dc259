package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/facetid/facet/storage"
)

// unavailable wraps err with storage.ErrUnavailable when it says the database cannot work
// right now rather than anything about the data: callers then answer 503 instead of passing
// a lost connection off as "not found" or "invalid".
func unavailable(err error) error {
	if err == nil || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// closedMessages are database/sql's errors for a pool or statement used after Close; it
// exports no sentinel for them.
var closedMessages = map[string]bool{"sql: database is closed": true, "sql: statement is closed": true}

func isUnavailable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if pqErr.Severity == pqerror.SeverityFatal || pqErr.Severity == pqerror.SeverityPanic {
			// The server ended the session: shut down, terminated, or it refuses connections
			// to the database (ALLOW_CONNECTIONS false, too many connections).
			return true
		}
		switch pqErr.Code {
		case "25006": // read_only_sql_transaction
			return true
		}
		switch pqErr.Code.Class() {
		case "08", "53", "57", "58": // connection exception, insufficient resources (disk full, out of memory), operator intervention, system error
			return true
		}
		return false
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) ||
		closedMessages[err.Error()]
}
