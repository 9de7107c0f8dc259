package sqlstore

import (
	"errors"
	"io"
	"net"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/facetid/facet/storage"
)

// TestUnavailableClassification: which driver errors mean "the database cannot work now".
func TestUnavailableClassification(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"terminated by the administrator", &pq.Error{Severity: pqerror.SeverityFatal, Code: "57P01"}, true},
		{"database not accepting connections", &pq.Error{Severity: pqerror.SeverityFatal, Code: "55000"}, true},
		{"read-only transaction", &pq.Error{Severity: "ERROR", Code: "25006"}, true},
		{"disk full", &pq.Error{Severity: "ERROR", Code: "53100"}, true},
		{"connection failure", &pq.Error{Severity: "ERROR", Code: "08006"}, true},
		{"io error", &pq.Error{Severity: "ERROR", Code: "58030"}, true},
		{"invalid byte sequence", &pq.Error{Severity: "ERROR", Code: "22021"}, false},
		{"undefined table", &pq.Error{Severity: "ERROR", Code: "42P01"}, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"connection closed", io.ErrUnexpectedEOF, true},
		{"anything else", errors.New("boom"), false},
	}
	for _, c := range cases {
		if got := errors.Is(mapErr(c.err), storage.ErrUnavailable); got != c.want {
			t.Errorf("%s: unavailable = %v, want %v", c.name, got, c.want)
		}
	}
}
