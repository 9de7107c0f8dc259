// Command facet-bench is Facet's load driver. It starts `facet serve` on loopback (--start) or
// targets running nodes (--target), prepares its own client, users and tokens, runs each
// scenario for a fixed duration at a fixed concurrency, and reports requests, req/s, latency
// percentiles, errors, the CPU time per request of the server processes (and of PostgreSQL's
// processes when the database is PostgreSQL) read from /proc, and the servers' peak RSS — as
// a table and, with --json, as JSON.
//
// It only ever talks to loopback addresses, and every run is bounded in time (--duration,
// at most 5 minutes per scenario) and in count (--max-requests per scenario).
//
// Scenarios: client_credentials, refresh, introspect, userinfo, authcode, discovery, jwks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "facet-bench: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// Bounds of a run.
const (
	maxDuration    = 5 * time.Minute
	maxConcurrency = 1024
	maxNodes       = 8
)

// allScenarios in the order they run.
var allScenarios = []string{"discovery", "jwks", "client_credentials", "introspect", "refresh", "userinfo", "authcode"}

// options are the parsed flags.
type options struct {
	targets      []string // base URLs of running nodes (round-robin)
	start        bool
	nodes        int
	facetBin     string
	databaseURL  string
	serverPIDs   []int
	scenarios    []string
	duration     time.Duration
	concurrency  int
	maxRequests  int
	json         bool
	clientID     string
	clientSecret string
	authcodeUser string // existing | new
	users        int    // existing users the user scenarios share
	race         bool   // build the server with -race (tests under -race share the build cache)
	keepLogs     bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("facet-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var targets, scenarios, pids string
	fs.StringVar(&targets, "target", "", "base URL(s) of running Facet node(s), comma-separated; loopback only (requests are spread round-robin)")
	fs.BoolVar(&o.start, "start", false, "build and start `facet serve` as child process(es) on free loopback ports")
	fs.IntVar(&o.nodes, "nodes", 1, "with --start: number of nodes sharing the database (more than 1 needs PostgreSQL)")
	fs.StringVar(&o.facetBin, "facet-bin", "", "path of the facet binary (default: go build ./cmd/facet into a temporary directory)")
	fs.StringVar(&o.databaseURL, "database-url", "", "database of the server(s): with --start default a temporary SQLite file; with --target used to register the bench client via `facet clients create`")
	fs.StringVar(&pids, "server-pid", "", "with --target: pid(s) of the server process(es), comma-separated, for CPU and RSS figures")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ", "))
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario runs (at most 5m)")
	fs.IntVar(&o.concurrency, "concurrency", 32, "concurrent workers per scenario")
	fs.IntVar(&o.maxRequests, "max-requests", 2_000_000, "stop a scenario after this many requests")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.clientID, "client-id", "", "with --target and no --database-url: an existing confidential client (grants authorization_code, refresh_token, client_credentials; redirect URI "+redirectURI+")")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the secret of --client-id")
	fs.StringVar(&o.authcodeUser, "authcode-user", "existing", "authcode: log in an existing user (existing) or register a new one (new) each iteration")
	fs.IntVar(&o.users, "users", 8, "existing users (each registered once, argon2id) shared by the refresh, introspect and authcode workers")
	fs.BoolVar(&o.race, "race", false, "build the server with the race detector (CI smoke test only; figures are meaningless)")
	fs.BoolVar(&o.keepLogs, "server-logs", false, "with --start: pass the servers' logs through to stderr")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.start == (targets != "") {
		return options{}, errors.New("give exactly one of --start and --target")
	}
	for _, t := range splitList(targets) {
		u, err := checkLoopback(t)
		if err != nil {
			return options{}, err
		}
		o.targets = append(o.targets, u)
	}
	if len(o.targets) > maxNodes {
		return options{}, fmt.Errorf("at most %d targets", maxNodes)
	}
	if o.start && (o.nodes < 1 || o.nodes > maxNodes) {
		return options{}, fmt.Errorf("--nodes must be 1..%d", maxNodes)
	}
	if o.start && o.nodes > 1 && !isPostgres(o.databaseURL) {
		return options{}, errors.New("--nodes > 1 needs a PostgreSQL --database-url (nodes share one database)")
	}
	for _, p := range splitList(pids) {
		var pid int
		if _, err := fmt.Sscanf(p, "%d", &pid); err != nil || pid <= 0 {
			return options{}, fmt.Errorf("--server-pid: %q is not a pid", p)
		}
		o.serverPIDs = append(o.serverPIDs, pid)
	}
	o.scenarios = splitList(scenarios)
	if len(o.scenarios) == 0 {
		return options{}, errors.New("--scenarios is empty")
	}
	for _, s := range o.scenarios {
		if !slices.Contains(allScenarios, s) {
			return options{}, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ", "))
		}
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return options{}, fmt.Errorf("--duration must be in (0, %s]", maxDuration)
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		return options{}, fmt.Errorf("--concurrency must be 1..%d", maxConcurrency)
	}
	if o.maxRequests < 1 {
		return options{}, errors.New("--max-requests must be positive")
	}
	if o.users < 1 || o.users > 64 {
		return options{}, errors.New("--users must be 1..64")
	}
	if o.authcodeUser != "existing" && o.authcodeUser != "new" {
		return options{}, errors.New("--authcode-user must be existing or new")
	}
	if !o.start && o.databaseURL == "" && (o.clientID == "" || o.clientSecret == "") {
		return options{}, errors.New("with --target give --database-url (to register a client) or --client-id and --client-secret")
	}
	return o, nil
}

// checkLoopback accepts only http(s) URLs whose host is localhost or a loopback IP literal:
// the driver never loads anything but this machine.
func checkLoopback(raw string) (string, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--target %q: want an http(s) base URL", raw)
	}
	host := u.Hostname()
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("--target %q: only loopback hosts (127.0.0.0/8, ::1, localhost) are allowed", raw)
		}
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--target %q: give the base URL only", raw)
	}
	return u.String(), nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func isPostgres(dbURL string) bool {
	return strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")
}

// run is the whole program; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args[1:], stderr)
	if err != nil {
		return err
	}
	rep, err := bench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return rep.writeJSON(stdout)
	}
	rep.writeTable(stdout)
	return nil
}

// bench prepares the servers and the fixtures, then runs every scenario.
func bench(ctx context.Context, o options, log io.Writer) (*report, error) {
	var cluster *cluster
	if o.start {
		c, err := startCluster(ctx, o, log)
		if err != nil {
			return nil, err
		}
		defer c.stop()
		cluster = c
		o.targets = c.urls
		o.serverPIDs = c.pids
		o.databaseURL = c.databaseURL
	}
	env := newEnv(o)
	if cluster != nil {
		env.clusterEnv, env.facetBin = cluster.env(), cluster.bin
	}
	if err := env.prepare(ctx, o, log); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	rep := &report{
		Targets: o.targets, Concurrency: o.concurrency, Duration: o.duration.String(),
		Database: databaseKind(o.databaseURL), Nodes: len(o.targets), Started: time.Now().UTC(),
		ProfileSource: env.profileSource, ProfileFields: env.profileFields,
		ArgonCPUMillis: argonCPU(),
	}
	if cluster != nil {
		rep.Binary = cluster.bin
	}
	for _, name := range o.scenarios {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fmt.Fprintf(log, "running %s for %s at concurrency %d\n", name, o.duration, o.concurrency)
		res, err := env.runScenario(ctx, name, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rep.Scenarios = append(rep.Scenarios, res)
	}
	return rep, nil
}

func databaseKind(dbURL string) string {
	switch {
	case isPostgres(dbURL):
		return "postgres"
	case dbURL == "":
		return "unknown"
	}
	return "sqlite"
}
