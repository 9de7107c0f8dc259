package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofEnv names the environment variable that turns on the profiling listener: a loopback
// address such as 127.0.0.1:6060. It is for measuring (docs/performance.md), never for
// production: unset, nothing is started. The profiles are served on their own listener,
// never on the public router, and only on a loopback address.
const pprofEnv = "FACET_PPROF_LISTEN"

func init() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	if err := startPprof(addr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (profiling listener not started)\n", pprofEnv, err)
	}
}

// startPprof serves net/http/pprof on addr, which must be a loopback IP and port.
func startPprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback IP address", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v (profiling listener stopped)\n", pprofEnv, err)
		}
	}()
	return nil
}
