package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// cluster is the facet serve processes started with --start: N nodes, one issuer, one
// database, one system secret.
type cluster struct {
	bin         string
	databaseURL string
	secret      string
	urls        []string
	pids        []int
	nodes       []*node
	tmp         string
}

// node is one child process; done closes when it has exited (one goroutine waits for it).
type node struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// readyTimeout bounds how long a node may take to migrate and start.
const readyTimeout = 90 * time.Second

func startCluster(ctx context.Context, o options, log io.Writer) (*cluster, error) {
	tmp, err := os.MkdirTemp("", "facet-bench-")
	if err != nil {
		return nil, err
	}
	c := &cluster{tmp: tmp, databaseURL: o.databaseURL, bin: o.facetBin}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()
	if c.bin == "" {
		c.bin = filepath.Join(tmp, "facet")
		args := []string{"build", "-o", c.bin}
		if o.race {
			args = append(args, "-race")
		}
		args = append(args, "github.com/facetid/facet/cmd/facet")
		fmt.Fprintf(log, "building the server: go %v\n", args)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/facet (run inside the Facet module, or give --facet-bin): %w", err)
		}
	}
	if c.databaseURL == "" {
		c.databaseURL = "sqlite://" + filepath.Join(tmp, "facet.db")
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	c.secret = base64.StdEncoding.EncodeToString(secret)

	// The first node's URL is the issuer of every node: nodes behind one load balancer share
	// the public URL.
	var issuer string
	for i := range o.nodes {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if i == 0 {
			issuer = "http://" + addr
		}
		cmd := exec.Command(c.bin, "serve", "--listen", addr, "--issuer", issuer, "--demo=false", "--log-level", "warn")
		cmd.Env = append(os.Environ(), c.env()...)
		if o.keepLogs {
			cmd.Stdout, cmd.Stderr = log, log
		}
		// Its own process group: a Ctrl-C reaches the driver, which then stops the node.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", c.bin, err)
		}
		n := &node{cmd: cmd, done: make(chan struct{})}
		go func() {
			_ = cmd.Wait()
			close(n.done)
		}()
		c.nodes = append(c.nodes, n)
		c.pids = append(c.pids, cmd.Process.Pid)
		c.urls = append(c.urls, "http://"+addr)
	}
	for i, u := range c.urls {
		if err := waitReady(ctx, u, c.nodes[i].done); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "started %d node(s) %v (pids %v), database %s\n", len(c.urls), c.urls, c.pids, redactURL(c.databaseURL))
	ok = true
	return c, nil
}

// env is the configuration every node and every CLI call shares.
func (c *cluster) env() []string {
	return []string{
		"FACET_DATABASE_URL=" + c.databaseURL,
		"FACET_SECRET=" + c.secret,
		"FACET_MODE=development",
		"FACET_CONFIG=",
		// Several nodes run on this machine; one fixed metrics port would let only the first
		// start, and the driver reads no metrics.
		"FACET_METRICS_LISTEN=off",
	}
}

// stop sends SIGTERM to every node, waits for it (SIGKILL after 20 s) and removes the
// temporary directory.
func (c *cluster) stop() {
	for _, n := range c.nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
	c.nodes = nil
	if c.tmp != "" {
		_ = os.RemoveAll(c.tmp)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /health/ready until the node answers 200.
func waitReady(ctx context.Context, base string, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("node %s exited during start (run with --server-logs to see why)", base)
		default:
		}
		resp, err := client.Get(base + "/health/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("node " + base + " not ready within " + readyTimeout.String())
}

// redactURL drops a password from a database URL before it is printed.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = nil
			return u.String() + " (credentials hidden)"
		}
	}
	return s
}
