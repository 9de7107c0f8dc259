package main

import (
	"log/slog"
	"testing"
)

// TestStartPprofLoopbackOnly: the profiling listener refuses any address that is not a
// loopback IP, and a malformed one.
func TestStartPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "localhost:0", "192.0.2.1:0", "127.0.0.1"} {
		if _, stop, err := startPprof(addr, slog.New(slog.DiscardHandler)); err == nil {
			stop()
			t.Errorf("startPprof(%q) started", addr)
		}
	}
}
