package signin

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// chromeUA is a desktop Chrome's User-Agent, parsed for each login's Origin.
const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"

// benchHandler is a handler on a fresh database of backend b, with the login throttle out of
// the way (every iteration logs in from one IP).
func benchHandler(b *testing.B, backend sqltest.Backend) *Handler {
	b.Helper()
	store := backend.Open(b)
	tpl, err := templates.New()
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	rec := &storeRecorder{store: store, now: time.Now, t: b}
	core, err := profile.New(profile.Config{Issuer: "http://facet.test", Secret: secret},
		profile.Deps{Store: store, Templates: tpl, Logger: slog.New(slog.DiscardHandler), Events: rec})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Deps{Kit: core, Store: store, Events: rec})
	if err != nil {
		b.Fatal(err)
	}
	h.limits.PerIP = 1 << 30
	return h
}

// BenchmarkLogin posts the login form through the handler (argon2id check, counters, session
// row, cookie) twice per iteration, once with the event recorded and once with the event's
// INSERT dropped, interleaved so that load on the machine hits both alike. It reports the
// median of each and their difference (ns/op is the pair).
func BenchmarkLogin(b *testing.B) {
	for _, backend := range sqltest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			h := benchHandler(b, backend)
			if _, err := h.Register(b.Context(), profile.CommandLine(), "bench@example.com", goodPassword, "", false); err != nil {
				b.Fatal(err)
			}
			events := h.events
			form := url.Values{"email": {"bench@example.com"}, "password": {goodPassword}}.Encode()
			login := func() time.Duration {
				r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("User-Agent", chromeUA)
				r.RemoteAddr = "198.51.100.7:50000"
				w := httptest.NewRecorder()
				start := time.Now()
				h.login(w, r)
				d := time.Since(start)
				if w.Code != http.StatusSeeOther {
					b.Fatalf("login: %d", w.Code)
				}
				return d
			}
			var recorded, plain []time.Duration
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				// Which one goes first alternates too: the first of a pair tends to pay for
				// the garbage collection of the previous pair's 2×19 MiB of argon2 memory.
				for i := range 2 {
					if (n+i)%2 == 0 {
						h.events = events
						recorded = append(recorded, login())
					} else {
						h.events = noEvents{}
						plain = append(plain, login())
					}
				}
				n++
			}
			// Medians: a shared machine stalls single logins by tens of milliseconds, which
			// would swamp a mean.
			rec, pl := median(recorded), median(plain)
			b.ReportMetric(float64(rec.Nanoseconds()), "ns/login-recorded")
			b.ReportMetric(float64(pl.Nanoseconds()), "ns/login-plain")
			b.ReportMetric(float64((rec - pl).Nanoseconds()), "ns/recording")
		})
	}
}

// noEvents records nothing: the login path without the activity log's write.
type noEvents struct{}

func (noEvents) Record(context.Context, profile.Origin, string, profile.Event) {}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
