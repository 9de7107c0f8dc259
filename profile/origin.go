package profile

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/facetid/facet/templates"
)

// Origin is where an action comes from, as the activity log shows it: the client's address
// and the device, browser and operating system its User-Agent names. It is built once per
// request (withOrigin), so services take an Origin rather than the request, and callers
// without one (the command line, jobs) say who they are.
type Origin struct {
	IP      string
	Device  string
	Browser string
	OS      string
}

// CommandLine is the Origin of an action taken with the facet command on the server.
func CommandLine() Origin { return Origin{Device: "cli"} }

type originKey struct{}

// withOrigin builds r's Origin once and carries it in the request's context, with the
// page frame the signed-in check fills in (the header's account menu).
func (h *Handler) withOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := h.newOrigin(r)
		ctx := templates.WithFrameSlot(context.WithValue(r.Context(), originKey{}, o))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Origin returns the Origin withOrigin put in r's context; for a request that did not pass
// through it (an oauth route ending the browser session) it is built from r.
func (h *Handler) Origin(r *http.Request) Origin {
	if o, ok := r.Context().Value(originKey{}).(Origin); ok {
		return o
	}
	return h.newOrigin(r)
}

// newOrigin reads the client's address (clientAddr) and parses its User-Agent.
func (h *Handler) newOrigin(r *http.Request) Origin {
	o := Origin{IP: h.clientAddr(r)}
	if ua := r.UserAgent(); ua != "" && h.ua != nil {
		agent := h.ua.Parse(TruncateUTF8(ua, maxUserAgent))
		o.Device = strings.ToLower(agent.Device().String())
		o.Browser = agent.Browser().String()
		if v := agent.BrowserVersionMajor(); o.Browser != "" && v != "" {
			o.Browser += " " + v
		}
		o.OS = agent.OS().String()
	}
	return o
}

// ipv6Prefix is how many leading bits of an IPv6 address per-IP counters key on: a /64 is
// the smallest subnet, and a single host or subscriber routinely has one to itself, picking
// addresses in it at will (privacy addresses, RFC 8981; end sites get a /64 or more, RFC
// 6177). Counting each of its 2^64 addresses apart would let one client multiply any
// per-IP limit.
const ipv6Prefix = 64

// RateKey is the per-IP counter key of clientAddr's result: an IPv4 address as is (an
// IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address as its /64. Every
// per-IP rate limit keys on it (OWASP ASVS 5.0 V2.4 anti-automation).
func RateKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, ipv6Prefix).Masked().String()
}

// clientAddr is the address of the client that sent r. Every use of a client address in
// profile goes through it: the login and registration throttles, the session row and the
// activity log. It is RemoteAddr's host, or, when RemoteAddr is one of cfg.TrustedProxies, the
// right-most X-Forwarded-For address that is not a trusted proxy (the left part of the header
// is whatever the client wrote, so only the hops our own proxies appended are believed). An
// unparsable hop stops the walk at the last trusted peer.
func (h *Handler) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return TruncateUTF8(host, 64)
	}
	peer = peer.Unmap().WithZone("")
	if !h.trusted(peer) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return peer.String()
			}
			hop = hop.Unmap().WithZone("")
			if !h.trusted(hop) {
				return hop.String()
			}
			peer = hop
		}
	}
	return peer.String()
}

// trusted reports whether addr is one of the configured trusted proxies.
func (h *Handler) trusted(addr netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
