package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/facetid/facet/profile/password"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: the kernel reports them in
// USER_HZ, which is 100 on every Linux architecture Go supports (proc(5)).
const userHZ = 100

// procCPU returns utime+stime of pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads fields 14 and 15 of a /proc/<pid>/stat line. The command name (field 2)
// is in parentheses and may contain spaces, so counting starts after the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat line")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime")
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// postgresCPU returns utime+stime of every process whose comm is "postgres", by pid.
func postgresCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range dirs {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte("(postgres)")) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		if d, err := parseStatCPU(b); err == nil {
			out[pid] = d
		}
	}
	return out
}

// cpuDelta sums the CPU the processes spent between two postgresCPU snapshots; a process that
// appeared in between counts from zero (a backend of a new connection). A backend that exited
// in between is lost; Facet's pool keeps its connections, so that is rare under load.
func cpuDelta(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, a := range after {
		d += a - before[pid]
	}
	return d
}

// peakRSS returns VmHWM of pid in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// serverCPU sums procCPU over the server pids (0 when none are known).
func serverCPU(pids []int) (time.Duration, bool) {
	var d time.Duration
	for _, pid := range pids {
		c, err := procCPU(pid)
		if err != nil {
			return 0, false
		}
		d += c
	}
	return d, len(pids) > 0
}

// argonCPU measures the CPU time of one argon2id password hash with Facet's parameters in
// this process (password.Hash; a login verifies with the same cost): the yardstick of
// the authcode target (≤ 1.2 × one hash).
func argonCPU() float64 {
	const n = 4
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		return 0
	}
	for range n {
		if _, err := password.Hash(rand.Text()); err != nil {
			return 0
		}
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		return 0
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / n
	return float64(cpu) / float64(time.Millisecond)
}

func jsonHas(body []byte, s string) bool { return bytes.Contains(body, []byte(s)) }

func randomLabel() string { return strings.ToLower(rand.Text()[:10]) }
