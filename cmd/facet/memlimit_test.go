package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/facetid/facet/profile"
)

func TestParseMemoryLimit(t *testing.T) {
	for raw, want := range map[string]int64{"auto": memoryLimitAuto, "AUTO": memoryLimitAuto, "off": 0, "256MiB": 256 << 20, "1GiB": 1 << 30} {
		if got, err := parseMemoryLimit(raw); err != nil || got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d", raw, got, err, want)
		}
	}
	for _, raw := range []string{"lots", "-5MiB", "1MiB", "0"} {
		if got, err := parseMemoryLimit(raw); err == nil {
			t.Errorf("parseMemoryLimit(%q) = %d, want an error", raw, got)
		}
	}
	if _, err := loadConfig("", envOf(map[string]string{"FACET_MEMORY_LIMIT": "huge"}), serveFlags(t)); err == nil {
		t.Error("FACET_MEMORY_LIMIT=huge was accepted")
	}
}

// TestApplyMemoryLimit: auto is the base plus every hash slot's and every photo decode's
// memory, GOGC is raised under
// the limit, the previous limit and GOGC come back, and a limit already set (GOMEMLIMIT) is left alone. Not parallel: the limit is
// the process's.
func TestApplyMemoryLimit(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Skipf("the test process runs with a memory limit (%d): GOMEMLIMIT is set", got)
	}
	want := int64(memoryBase+profile.PasswordHashMemory()) + profile.PhotoDecodeMemory()
	if profile.PhotoDecodeMemory() < 64<<20 {
		t.Fatalf("PhotoDecodeMemory() = %d, want room for at least one large photo decode", profile.PhotoDecodeMemory())
	}
	if profile.PasswordHashMemory() < 19<<20 {
		t.Fatalf("PasswordHashMemory() = %d, want at least one 19 MiB hash", profile.PasswordHashMemory())
	}
	restore := applyMemoryLimit(memoryLimitAuto, logger)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("auto limit = %d, want %d", got, want)
	}
	if os.Getenv("GOGC") == "" {
		got := debug.SetGCPercent(gcPercentUnderLimit)
		if got != gcPercentUnderLimit {
			t.Errorf("GOGC under the limit = %d, want %d", got, gcPercentUnderLimit)
		}
	}
	// A second call sees a limit in force and keeps it, as with GOMEMLIMIT.
	applyMemoryLimit(512<<20, logger)()
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("limit after a call under an existing limit = %d, want %d kept", got, want)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after restore = %d, want none", got)
	}
	if os.Getenv("GOGC") == "" {
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("GOGC after restore = %d, want 100", got)
		}
	}
	applyMemoryLimit(0, logger)()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("off set a limit: %d", got)
	}
}
