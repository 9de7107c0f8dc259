package storage

import (
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s is text every backend stores the same way: valid UTF-8 without
// NUL. PostgreSQL's TEXT holds neither (it refuses them with SQLSTATE 22021, which would
// surface as a server error) while SQLite stores both, so input is checked against this at
// the edge and refused as a bad request on every backend alike.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
