package profile

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/medama-io/go-useragent"
)

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
	iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)

// TestOrigin: the Origin of a request names its device, browser and OS from the User-Agent
// and its address through trusted proxies only; withOrigin builds it once and Origin reads it
// back from the context.
func TestOrigin(t *testing.T) {
	h := &Handler{ua: useragent.NewParser()}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/login", nil)
	req.RemoteAddr = "198.51.100.7:50000"
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("X-Forwarded-For", "203.0.113.9") // from an untrusted peer: ignored
	if got, want := h.Origin(req), (Origin{IP: "198.51.100.7", Device: "desktop", Browser: "Chrome 118", OS: "Windows"}); got != want {
		t.Errorf("Origin = %+v, want %+v", got, want)
	}

	// iPhone Safari, through a trusted proxy that appended the client's address.
	h.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	req = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/logout", nil)
	req.RemoteAddr = "10.1.2.3:443"
	req.Header.Set("User-Agent", iPhoneUA)
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
	want := Origin{IP: "203.0.113.9", Device: "mobile", Browser: "Safari 17", OS: "iOS"}
	var inHandler Origin
	h.withOrigin(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		r.Header.Set("User-Agent", chromeUA) // read once: later changes do not count
		inHandler = h.Origin(r)
	})).ServeHTTP(httptest.NewRecorder(), req)
	if inHandler != want {
		t.Errorf("Origin through withOrigin = %+v, want %+v", inHandler, want)
	}
}

func TestClientAddr(t *testing.T) {
	h := &Handler{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"),
	}}}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "198.51.100.1:1234", nil, "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:1234", []string{"203.0.113.5"}, "198.51.100.1"},
		{"trusted peer", "10.0.0.1:1234", []string{"203.0.113.5"}, "203.0.113.5"},
		{"right-most untrusted", "10.0.0.1:1234", []string{"1.2.3.4, 203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"header lines in order", "10.0.0.1:1234", []string{"1.2.3.4", "203.0.113.5"}, "203.0.113.5"},
		{"all trusted", "10.0.0.1:1234", []string{"10.9.9.9, 10.0.0.2"}, "10.9.9.9"},
		{"garbage stops the walk", "10.0.0.1:1234", []string{"203.0.113.5, nonsense"}, "10.0.0.1"},
		{"trusted without header", "10.0.0.1:1234", nil, "10.0.0.1"},
		{"ipv6 peer", "[2001:db8::1]:443", []string{"2001:db8::2, 2a00:1450::1"}, "2a00:1450::1"},
		{"ipv4-mapped", "[::ffff:10.0.0.1]:443", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"no port", "198.51.100.1", nil, "198.51.100.1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := h.clientAddr(r); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRateKey(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"198.51.100.1", "198.51.100.1"},
		{"::ffff:198.51.100.1", "198.51.100.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-address", "not-an-address"},
	}
	for _, c := range cases {
		if got := RateKey(c.addr); got != c.want {
			t.Errorf("RateKey(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}
