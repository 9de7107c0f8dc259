package main

import (
	"runtime/debug"
	"testing"

	"golang.org/x/mod/semver"
)

// TestDependencyMinimums asserts the security minimums of our dependencies from the versions linked
// into this binary: go-jose v3 ≥ 3.0.5 and v4 ≥ 4.0.5 (CVE-2025-27144, unbounded memory when
// parsing compact JWS/JWE), x/oauth2 ≥ 0.27 (CVE-2025-22868, unbounded memory in jws
// parsing), and x/net and x/crypto linked at releases no older than their last security
// fixes we know of (x/net v0.38.0: CVE-2025-22872, HTML tokenizer; x/crypto v0.35.0:
// CVE-2025-22869, ssh key exchange). "Current" is kept by updating; this test keeps the floor.
func TestDependencyMinimums(t *testing.T) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	linked := map[string]string{}
	for _, m := range info.Deps {
		v := m.Version
		if m.Replace != nil {
			v = m.Replace.Version
		}
		linked[m.Path] = v
	}
	for _, want := range []struct{ path, min string }{
		{"github.com/go-jose/go-jose/v3", "v3.0.5"},
		{"github.com/go-jose/go-jose/v4", "v4.0.5"},
		{"golang.org/x/oauth2", "v0.27.0"},
		{"golang.org/x/net", "v0.38.0"},
		{"golang.org/x/crypto", "v0.35.0"},
	} {
		got, ok := linked[want.path]
		switch {
		case !ok:
			t.Errorf("%s is not linked into the binary", want.path)
		case !semver.IsValid(got):
			t.Errorf("%s has no valid version (%q)", want.path, got)
		case semver.Compare(got, want.min) < 0:
			t.Errorf("%s is %s, want at least %s (a known vulnerability below it)", want.path, got, want.min)
		default:
			t.Logf("%s %s (minimum %s)", want.path, got, want.min)
		}
	}
}
