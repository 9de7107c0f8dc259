// Package migrations holds Facet's database schema as goose SQL migrations, one folder per
// dialect (sqlite/ and postgres/) with the same file names in both. storage/sqlstore applies
// them; go:embed cannot reach "..", so this package exports the files.
//
// Dialect differences live only here: SQLite stores times as DATETIME columns holding Unix
// microseconds (the driver turns them back into UTC time.Time values) and booleans as
// INTEGER; PostgreSQL uses TIMESTAMPTZ and BOOLEAN.
package migrations

import "embed"

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
