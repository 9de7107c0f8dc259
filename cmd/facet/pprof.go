package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofEnv names the environment variable that turns on the profiling listener: a loopback
// address such as 127.0.0.1:6060. It is for measuring (docs/performance.md), never for
// production: unset, nothing is started. serve starts it (startPprof); the profiles are
// served on their own listener, never on the public router, and only on a loopback address.
const pprofEnv = "FACET_PPROF_LISTEN"

// startPprof serves net/http/pprof on addr, which must be a loopback IP and port, on its own
// listener. It returns the address it listens on and stop, which closes the listener.
func startPprof(addr string, logger *slog.Logger) (string, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", nil, fmt.Errorf("%q is not a loopback IP address", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace streams for as long as its seconds parameter.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("profiling listener stopped", "env", pprofEnv, "err", err)
		}
	}()
	stop := func() {
		if err := srv.Close(); err != nil {
			logger.Warn("close profiling listener", "env", pprofEnv, "err", err)
		}
	}
	return ln.Addr().String(), stop, nil
}
