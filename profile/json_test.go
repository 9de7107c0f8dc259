package profile

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// TestWriteJSON: a value is answered as JSON with its status; a value that does not encode
// is logged and answered 500 server_error with a reference id, never a status with half a
// body.
func TestWriteJSON(t *testing.T) {
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h, err := newHandler(Config{Issuer: "http://facet.test", Secret: bytes.Repeat([]byte("s"), 32)},
		sqltest.Backends(t)[0].Open(t), tpl, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	h.WriteJSON(rec, httptest.NewRequest(http.MethodGet, "/api/account", nil), http.StatusAccepted, map[string]any{"status": "code_sent"})
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusAccepted || body["status"] != "code_sent" ||
		rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("WriteJSON: %d %v %s (%v)", rec.Code, rec.Header(), rec.Body, err)
	}
	if logs.Len() != 0 {
		t.Errorf("a JSON answer that went out was logged: %s", logs.String())
	}

	rec = httptest.NewRecorder()
	h.WriteJSON(rec, httptest.NewRequest(http.MethodGet, "/api/account", nil), http.StatusOK, map[string]any{"ratio": math.NaN()})
	body = nil
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusInternalServerError || body["error"] != "server_error" {
		t.Fatalf("a value that does not encode: %d %s (%v), want 500 server_error", rec.Code, rec.Body, err)
	}
	if !strings.Contains(logs.String(), "encode JSON response") || !strings.Contains(logs.String(), "NaN") {
		t.Errorf("the encode error was not logged: %s", logs.String())
	}
}
