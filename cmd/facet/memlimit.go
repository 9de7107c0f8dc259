package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/password"
)

// memoryBase is what a node holds besides password hashes: a live heap of ≈ 10–15 MB after
// start (templates, catalogs, user-agent tables, caches), request garbage and the GC's
// headroom. Measured with /debug/pprof/heap under facet-bench (docs/performance.md).
const memoryBase = 48 << 20

// autoMemoryLimit is the soft limit "auto" gives the Go runtime. argon2id allocates 19 MiB
// per hash and drops it 40 ms later: at 30 logins per second that is ≈ 600 MB/s of garbage
// without pointers. With the default GOGC the heap grows to twice the live heap between
// collections, and the live heap at a collection includes the hashes in flight, so logins
// pushed a node's RSS to ≈ 190 MB. The limit makes the collector run before that; the
// collections are cheap because argon2id's memory holds no pointers to scan.
//
// Photo decodes are not in it: each holds up to its budget (≈ 34 MiB for a 12-megapixel
// photo, at most photo.DecodeMemory at once) for a fraction of a second, and a limit
// that counted them all the time would let the heap of a node that decodes nothing grow by
// as much (under GOGC 400 it does: peak RSS 120 → 215 MB under protocol load). serve raises
// the limit by a decode's memory while it runs instead (memoryReserve): left out entirely,
// two decodes pushed the heap past the limit, so the collector ran back to back and logins
// waited on it.
func autoMemoryLimit() int64 {
	return memoryBase + int64(password.HashMemory())
}

// memoryReserve moves the process's soft memory limit by the memory held for work known to
// need it (photo decodes): limit = base + held.
type memoryReserve struct {
	mu         sync.Mutex
	base, held int64
}

// Hold raises the limit by n bytes until release is called (once).
func (m *memoryReserve) Hold(n int64) (release func()) {
	m.add(n)
	var once sync.Once
	return func() { once.Do(func() { m.add(-n) }) }
}

func (m *memoryReserve) add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held += n
	debug.SetMemoryLimit(m.base + m.held)
}

// gcPercentUnderLimit is the GOGC serve runs with once a memory limit is set. With the default
// of 100 the collector runs each time the heap doubles a live heap of only 10–20 MB under
// protocol traffic: 12–15 % of discovery's CPU was the collector. The limit now bounds the
// heap, so the collector may wait longer: 400 cut CPU per request by 20–30 % (discovery,
// introspect, userinfo; docs/performance.md) for ≈ 20 MB more RSS.
const gcPercentUnderLimit = 400

// applyMemoryLimit sets the Go runtime's soft memory limit for serve, and GOGC to
// gcPercentUnderLimit unless a GOGC variable is set, and returns a function restoring both
// (tests run serve inside their own process). Under "auto" it also returns the reserve that
// raises the limit while photo decodes run; nil otherwise (a fixed size is the operator's
// whole budget). A GOMEMLIMIT in the environment wins: the runtime has already applied it,
// and serve leaves GOGC alone too.
func applyMemoryLimit(limit int64, logger *slog.Logger) (restore func(), reserve *memoryReserve) {
	prev := debug.SetMemoryLimit(-1)
	if prev != math.MaxInt64 {
		logger.Info("memory limit from GOMEMLIMIT", "bytes", prev)
		return func() {}, nil
	}
	if limit == config.MemoryLimitAuto {
		limit = autoMemoryLimit()
		reserve = &memoryReserve{base: limit}
	}
	if limit <= 0 {
		return func() {}, nil
	}
	debug.SetMemoryLimit(limit)
	gogc := os.Getenv("GOGC")
	setGC := gogc == ""
	var prevGC int
	if setGC {
		prevGC = debug.SetGCPercent(gcPercentUnderLimit)
		gogc = strconv.Itoa(gcPercentUnderLimit)
	}
	logger.Info("memory limit", "MiB", limit>>20, "gogc", gogc)
	return func() {
		debug.SetMemoryLimit(prev)
		if setGC {
			debug.SetGCPercent(prevGC)
		}
	}, reserve
}
