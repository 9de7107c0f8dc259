package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// report is the whole run.
type report struct {
	Started        time.Time `json:"started"`
	Targets        []string  `json:"targets"`
	Nodes          int       `json:"nodes"`
	Database       string    `json:"database"`
	Concurrency    int       `json:"concurrency"`
	Duration       string    `json:"duration"`
	Binary         string    `json:"binary,omitempty"`
	ProfileSource  string    `json:"profile_source,omitempty"`
	ProfileFields  int       `json:"profile_fields,omitempty"`
	ArgonCPUMillis float64   `json:"argon2id_cpu_ms"`
	Scenarios      []result  `json:"scenarios"`
}

// result is one scenario's figures. CPU figures are per operation (one authcode operation is
// the whole flow, six HTTP requests); they are absent when the pids are unknown.
type result struct {
	Name           string   `json:"name"`
	Requests       int      `json:"requests"`
	HTTPPerOp      int      `json:"http_requests_per_op"`
	PerSecond      float64  `json:"req_per_s"`
	P50Millis      float64  `json:"p50_ms"`
	P95Millis      float64  `json:"p95_ms"`
	P99Millis      float64  `json:"p99_ms"`
	Errors         int64    `json:"errors"`
	ErrorSamples   []string `json:"error_samples,omitempty"`
	ServerCPUMs    *float64 `json:"server_cpu_ms_per_op,omitempty"`
	DatabaseCPUMs  *float64 `json:"database_cpu_ms_per_op,omitempty"`
	TotalCPUMs     *float64 `json:"total_cpu_ms_per_op,omitempty"`
	PeakRSSMB      *float64 `json:"peak_rss_mb,omitempty"`
	UserinfoClaims int      `json:"userinfo_claims,omitempty"`
}

func (e *env) runScenario(ctx context.Context, name string, o options) (result, error) {
	sc := scenarios[name]
	ops, err := sc.setup(ctx, e, o.concurrency, o)
	if err != nil {
		return result{}, fmt.Errorf("prepare: %w", err)
	}
	pgBefore := map[int]time.Duration{}
	pg := databaseKind(o.databaseURL) == "postgres"
	if pg {
		pgBefore = postgresCPU()
	}
	srvBefore, haveSrv := serverCPU(o.serverPIDs)
	run := measure(ctx, ops, o.duration, o.maxRequests)
	srvAfter, haveSrv2 := serverCPU(o.serverPIDs)
	var dbCPU time.Duration
	if pg {
		dbCPU = cpuDelta(pgBefore, postgresCPU())
	}
	var all []time.Duration
	for _, l := range run.latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	n := len(all)
	res := result{
		Name: name, Requests: n, HTTPPerOp: sc.httpPerOp, Errors: run.errors.Load(), ErrorSamples: run.samples,
		PerSecond: float64(n) / run.elapsed.Seconds(),
		P50Millis: ms(pct(all, 0.50)), P95Millis: ms(pct(all, 0.95)), P99Millis: ms(pct(all, 0.99)),
	}
	if name == "userinfo" {
		res.UserinfoClaims = e.userinfoKeys
	}
	if haveSrv && haveSrv2 && n > 0 {
		s := ms(srvAfter-srvBefore) / float64(n)
		res.ServerCPUMs = &s
		total := s
		if pg {
			d := ms(dbCPU) / float64(n)
			res.DatabaseCPUMs = &d
			total += d
		}
		res.TotalCPUMs = &total
		var rss int64
		for _, pid := range o.serverPIDs {
			rss = max(rss, peakRSS(pid))
		}
		mb := float64(rss) / (1 << 20)
		res.PeakRSSMB = &mb
	}
	return res, nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "database %s, %d node(s), concurrency %d, %s per scenario; argon2id hash %.1f ms CPU\n",
		r.Database, r.Nodes, r.Concurrency, r.Duration, r.ArgonCPUMillis)
	if r.ProfileSource != "" {
		fmt.Fprintf(w, "userinfo profile: %d fields via %s\n", r.ProfileFields, r.ProfileSource)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trequests\treq/s\tp50 ms\tp95 ms\tp99 ms\terrors\tserver CPU ms/op\tdb CPU ms/op\ttotal CPU ms/op\tpeak RSS MB\t")
	opt := func(v *float64, prec int) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, *v)
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%s\t\n", s.Name, s.Requests, s.PerSecond,
			s.P50Millis, s.P95Millis, s.P99Millis, s.Errors, opt(s.ServerCPUMs, 3), opt(s.DatabaseCPUMs, 3), opt(s.TotalCPUMs, 3), opt(s.PeakRSSMB, 0))
	}
	tw.Flush()
	for _, s := range r.Scenarios {
		for _, e := range s.ErrorSamples {
			fmt.Fprintf(w, "%s error: %s\n", s.Name, e)
		}
	}
}
