package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/facetid/facet/cmd/facet/config"
)

// envOf is a getenv over a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// serveFlags is the flag set `facet serve` parses: global and serve flags.
func serveFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.AddFlags(fs, false)
	config.AddFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %v: %v", args, err)
	}
	return fs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeProductionNeedsSecret: serve in production without a system secret refuses to
// start, before touching any database.
func TestServeProductionNeedsSecret(t *testing.T) {
	var stdout, stderr strings.Builder
	dbPath := filepath.Join(t.TempDir(), "never.db")
	err := run(t.Context(), []string{"facet", "serve"}, envOf(map[string]string{
		"FACET_MODE": "production", "FACET_ISSUER": "https://id.example.com", "FACET_DATABASE_URL": "sqlite://" + dbPath,
	}), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "FACET_SECRET") {
		t.Fatalf("serve in production without secret: err = %v", err)
	}
	if _, statErr := os.Stat(dbPath); !os.IsNotExist(statErr) {
		t.Errorf("the database was created although the configuration is invalid")
	}
}
