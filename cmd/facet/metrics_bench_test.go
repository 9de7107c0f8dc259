package main

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkHTTPMetrics measures recording one request's metrics as the middleware does
// ("vectors": each child looked up through its vector), beside a cache of the children keyed
// by their labels ("cached"), serially and from parallel goroutines. Compare the difference
// with BenchmarkUserinfo or BenchmarkIntrospect: a cache is worth its code only if it saves a
// measurable share of a request.
func BenchmarkHTTPMetrics(b *testing.B) {
	m, err := newHTTPMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	type key struct {
		route, method string
		code          int
	}
	var counters, observers sync.Map
	cached := func(route, method string, code int, elapsed time.Duration) {
		c, ok := counters.Load(key{route, method, code})
		if !ok {
			c, _ = counters.LoadOrStore(key{route, method, code}, m.requests.WithLabelValues(route, method, strconv.Itoa(code)))
		}
		c.(prometheus.Counter).Inc()
		o, ok := observers.Load(route)
		if !ok {
			o, _ = observers.LoadOrStore(route, m.duration.WithLabelValues(route))
		}
		o.(prometheus.Observer).Observe(elapsed.Seconds())
	}
	for _, v := range []struct {
		name    string
		observe func(route, method string, code int, elapsed time.Duration)
	}{{"vectors", m.observe}, {"cached", cached}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.observe("/userinfo", "GET", 200, time.Millisecond)
			}
		})
		b.Run(v.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v.observe("/userinfo", "GET", 200, time.Millisecond)
				}
			})
		})
	}
}
