package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/facetid/facet/storage/sqltest"
)

// TestRequestIDHandlerConformance: the wrapper keeps the slog.Handler contract of the
// handler it wraps (attributes, groups, levels, WithAttrs/WithGroup).
func TestRequestIDHandlerConformance(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return requestIDHandler{slog.NewJSONHandler(&buf, nil)}
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, buf.String())
		}
		return m
	})
}

// TestRequestIDHandler: a record logged with a request's context carries its id once, also
// through a logger derived with With; one without a request carries none.
func TestRequestIDHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestIDHandler{slog.NewJSONHandler(&buf, nil)}).With("module", "x")
	ctx := context.WithValue(t.Context(), requestInfoKey, &requestInfo{id: "abc123"})

	logger.InfoContext(ctx, "in a request")
	if got := strings.Count(buf.String(), `"request_id":"abc123"`); got != 1 {
		t.Errorf("request_id %d times in %s", got, buf.String())
	}
	buf.Reset()
	logger.InfoContext(t.Context(), "outside a request")
	logger.Info("no context")
	if strings.Contains(buf.String(), "request_id") {
		t.Errorf("a record outside a request carries a request id: %s", buf.String())
	}
}

// TestRequestLogCarriesID: a module's log line written while serving a request (profile's
// "registered") carries the id the response names in X-Request-Id, exactly once, although
// the module does not add it.
func TestRequestLogCarriesID(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	form := url.Values{"email": {"log@example.com"}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}, "name": {"Log Test"}}
	resp, body := s.do(t, http.MethodPost, "/register", http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Sec-Fetch-Site": {"same-origin"},
	}, strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Request-Id")
	var line string
	for l := range strings.SplitSeq(s.logs.String(), "\n") {
		if strings.Contains(l, "msg=registered ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no registered line in\n%s", s.logs.String())
	}
	if id == "" || strings.Count(line, "request_id=") != 1 || !strings.Contains(line, "request_id="+id) {
		t.Errorf("want request_id=%s once in %q", id, line)
	}
}
