package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchSmoke builds the server, starts it through the driver on a temporary SQLite
// database and runs every scenario briefly: the driver works end to end and every request
// succeeds. Figures are not checked (under -race they mean nothing).
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	bin := filepath.Join(t.TempDir(), "facet")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		// The same build flags as the test binary, so the dependencies come from the cache.
		args = append(args, "-race")
	}
	args = append(args, "github.com/facetid/facet/cmd/facet")
	if out, err := exec.CommandContext(t.Context(), "go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"facet-bench", "--start", "--facet-bin", bin, "--json",
		"--duration", "1s", "--concurrency", "4", "--users", "2"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("facet-bench: %v\n%s", err, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if len(rep.Scenarios) != len(allScenarios) {
		t.Fatalf("%d scenarios ran, want %d", len(rep.Scenarios), len(allScenarios))
	}
	for _, s := range rep.Scenarios {
		if s.Requests == 0 || s.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors %v", s.Name, s.Requests, s.Errors, s.ErrorSamples)
		}
		if s.ServerCPUMs == nil || s.PeakRSSMB == nil {
			t.Errorf("%s: no CPU or RSS figures", s.Name)
		}
	}
	if rep.ProfileFields < 14 {
		t.Errorf("userinfo user has %d profile fields (%s)", rep.ProfileFields, rep.ProfileSource)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.9.9.9:1/", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"https://id.example.com", false},
		{"http://10.0.0.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"ftp://127.0.0.1", false},
		{"http://127.0.0.1:8080/path", false},
	} {
		_, err := checkLoopback(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParseOptionsBounds(t *testing.T) {
	for _, args := range [][]string{
		{"--start", "--duration", "6m"},
		{"--start", "--concurrency", "0"},
		{"--target", "http://192.168.1.1:8080", "--client-id", "a", "--client-secret", "b"},
		{"--start", "--target", "http://127.0.0.1:1"},
		{"--start", "--nodes", "3"},
		{"--start", "--scenarios", "password"},
	} {
		if _, err := parseOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseOptions(%s) accepted", strings.Join(args, " "))
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	line := []byte("1234 (facet serve) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 0 0")
	d, err := parseStatCPU(line)
	if err != nil || d.Milliseconds() != 3000 {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", d, err)
	}
}
