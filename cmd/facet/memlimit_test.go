package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/profile/photo"
)

// TestApplyMemoryLimit: auto is the base plus every hash slot's memory, raised by what photo
// decodes hold while they hold it; GOGC is raised under the limit; the previous limit and
// GOGC come back; a limit already set (GOMEMLIMIT) is left alone. Not parallel: the limit is
// the process's.
func TestApplyMemoryLimit(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Skipf("the test process runs with a memory limit (%d): GOMEMLIMIT is set", got)
	}
	want := int64(memoryBase + password.HashMemory())
	if password.HashMemory() < 19<<20 {
		t.Fatalf("password.HashMemory() = %d, want at least one 19 MiB hash", password.HashMemory())
	}
	restore, reserve := applyMemoryLimit(config.MemoryLimitAuto, logger)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("auto limit = %d, want %d", got, want)
	}
	if reserve == nil {
		t.Fatal("auto gave no reserve for photo decodes")
	}
	decode := photo.DecodeMemory()
	first, second := reserve.Hold(decode), reserve.Hold(1<<20)
	if got := debug.SetMemoryLimit(-1); got != want+decode+1<<20 {
		t.Errorf("limit while two decodes hold memory = %d, want %d", got, want+decode+1<<20)
	}
	first()
	first() // a second call releases nothing more
	if got := debug.SetMemoryLimit(-1); got != want+1<<20 {
		t.Errorf("limit after one decode = %d, want %d", got, want+1<<20)
	}
	second()
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("limit after both decodes = %d, want %d", got, want)
	}
	if os.Getenv("GOGC") == "" {
		got := debug.SetGCPercent(gcPercentUnderLimit)
		if got != gcPercentUnderLimit {
			t.Errorf("GOGC under the limit = %d, want %d", got, gcPercentUnderLimit)
		}
	}
	// A second call sees a limit in force and keeps it, as with GOMEMLIMIT.
	restoreFixed, fixedReserve := applyMemoryLimit(512<<20, logger)
	restoreFixed()
	if fixedReserve != nil {
		t.Error("a limit already in force gave a reserve")
	}
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
	restoreOff, offReserve := applyMemoryLimit(0, logger)
	restoreOff()
	if offReserve != nil {
		t.Error("memory_limit off gave a reserve")
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("off set a limit: %d", got)
	}
}
