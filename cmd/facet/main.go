// Command facet runs the Facet identity provider and administers it: `facet serve` starts a
// node, and `migrate`, `clients`, `users` and `keys` act on the same database, read from the
// same configuration (defaults < YAML file < FACET_* environment < flags).
//
// This package is the only place where Facet's packages are wired together; it
// owns configuration, the HTTP middleware, the machine endpoints (/health, /metrics) and the
// demo relying party at /demo. It owns no protocol or profile logic.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "facet: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// run is the whole program: args is the command line including the program name, getenv
// reads the environment, stdin is read only by commands that say so (--password-stdin).
// Tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	rest := []string{} // never nil: cobra would fall back to os.Args
	if len(args) > 1 {
		rest = append(rest, args[1:]...)
	}
	root.SetArgs(rest)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// cli carries what every command needs from the process.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "facet",
		Short:         "Facet: an OAuth2 / OpenID Connect identity provider where the user owns the profile",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().String("config", "", "YAML configuration file (FACET_CONFIG)")
	config.AddFlags(root.PersistentFlags(), false)

	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run a Facet node (HTTP server)",
		Args:  cobra.NoArgs,
		RunE:  c.serve,
	}
	config.AddFlags(serve.Flags(), true)

	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (serve applies them too)",
		Args:  cobra.NoArgs,
		RunE:  c.migrate,
	}
	root.AddCommand(serve, migrate, c.clientsCommand(), c.usersCommand(), c.keysCommand(), c.accountsCommand(), c.loginMethodsCommand(), c.featuresCommand())
	root.AddCommand(c.inviteCommands()...)
	return root
}

// load reads the configuration for cmd and builds the logger.
func (c *cli) load(cmd *cobra.Command) (config.Config, *slog.Logger, error) {
	path, err := cmd.Flags().GetString("config")
	if err != nil {
		return config.Config{}, nil, err
	}
	if path == "" {
		path = c.getenv("FACET_CONFIG")
	}
	cfg, err := config.Load(path, c.getenv, cmd.Flags())
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, newLogger(cfg, c.stderr), nil
}

// withStore loads the configuration, opens and migrates the database, runs fn and closes it.
func (c *cli) withStore(cmd *cobra.Command, fn func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error) error {
	cfg, logger, err := c.load(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	store, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	err = fn(ctx, cfg, logger, store)
	if cerr := store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

func (c *cli) migrate(cmd *cobra.Command, _ []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		fmt.Fprintf(c.stdout, "database is up to date (%s)\n", store.Dialect())
		return nil
	})
}

// Server timeouts: slow clients cannot hold connections open (Slowloris), and a stuck
// handler cannot keep a shutdown waiting forever.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 20 * time.Second
)

// serve runs a node until ctx ends (SIGINT/SIGTERM in main), then drains requests.
func (c *cli) serve(cmd *cobra.Command, _ []string) error {
	cfg, logger, err := c.load(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	restoreMemory, reserve := applyMemoryLimit(cfg.MemoryLimit, logger)
	defer restoreMemory()
	if reserve != nil {
		cfg.HoldMemory = reserve.Hold
	}
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Error("close database", "err", err)
		}
	}()

	// Maintenance jobs stop before the database closes (defers run last-in, first-out).
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		a.runJobs(jobsCtx)
	}()
	defer func() {
		stopJobs()
		<-jobsDone
	}()

	// The profiling listener is for measuring (docs/performance.md); a bad address does not
	// stop the node, it only goes unprofiled.
	if addr := c.getenv(pprofEnv); addr != "" {
		at, stop, err := startPprof(addr, logger)
		if err != nil {
			logger.Warn("profiling listener not started", "env", pprofEnv, "err", err)
		} else {
			logger.Info("profiling listener", "addr", at)
			defer stop()
		}
	}

	// The metrics get their own listener (like the profiling one, pprof.go), so the public
	// router never serves them; metrics stays nil when metrics_listen is off.
	var metrics *server
	if cfg.MetricsListen != "" {
		if metrics, err = startServer(cfg.MetricsListen, a.MetricsHandler(), logger); err != nil {
			return fmt.Errorf("metrics_listen %s: %w (choose another address, or off)", cfg.MetricsListen, err)
		}
	}
	public, err := startServer(cfg.Listen, a.Handler(), logger)
	if err != nil {
		metrics.close(logger)
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}

	logger.Info("listening", "addr", public.addr, "metrics", metrics.address(), "issuer", cfg.Issuer, "mode", cfg.Mode)
	if cfg.Demo {
		fmt.Fprintf(c.stdout, "Facet is running at %s — demo app: %s/demo\n", cfg.Issuer, cfg.Issuer)
	} else {
		fmt.Fprintf(c.stdout, "Facet is running at %s\n", cfg.Issuer)
	}

	select {
	case err := <-public.served:
		metrics.close(logger)
		return fmt.Errorf("serve: %w", err)
	case err := <-metrics.done():
		public.close(logger)
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	// The public listener drains first; the metrics stay up meanwhile, so the drain shows.
	if err := public.shutdown(shutdownCtx); err != nil {
		metrics.close(logger)
		return err
	}
	if err := metrics.shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// server is one http.Server on its own listener. The methods accept a nil *server (a
// listener that is off): it has no address, never ends, and closes at once.
type server struct {
	srv    *http.Server
	addr   string
	served chan error // Serve's result
}

// startServer listens on addr and serves h there with Facet's timeouts.
func startServer(addr string, h http.Handler, logger *slog.Logger) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{srv: newHTTPServer(h, logger), addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) address() string {
	if s == nil {
		return "off"
	}
	return s.addr
}

// done delivers Serve's error should the server stop by itself; nil (blocks) when off.
func (s *server) done() <-chan error {
	if s == nil {
		return nil
	}
	return s.served
}

// close stops the server at once, after an error elsewhere.
func (s *server) close(logger *slog.Logger) {
	if s == nil {
		return
	}
	if err := s.srv.Close(); err != nil {
		logger.Error("close listener", "addr", s.addr, "err", err)
	}
}

// shutdown drains the requests in flight (until ctx ends) and waits for Serve to return.
func (s *server) shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// newHTTPServer is an http.Server for h with Facet's timeouts and header limit, logging
// through logger.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
