package profile

import (
	"net"
	"testing"
)

// TestPublicDialerRefusesInside: the dialer of the client that fetches pictures from URLs
// users and upstream providers supply reaches public addresses on 443 only; every
// special-purpose prefix is refused on the address actually dialled, whatever name led there.
func TestPublicDialerRefusesInside(t *testing.T) {
	control := publicDialer().Control
	for _, addr := range []string{
		"127.0.0.1:443", "10.1.2.3:443", "172.16.0.1:443", "192.168.1.1:443", "169.254.169.254:443",
		"100.100.100.200:443", // shared address space (RFC 6598): cloud metadata services live here
		"198.18.0.1:443",      // benchmarking (RFC 2544)
		"0.0.0.0:443", "224.0.0.1:443",
		"[::1]:443", "[fe80::1]:443", "[fc00::1]:443",
		"[::ffff:127.0.0.1]:443", // IPv4-mapped loopback
		"[64:ff9b::7f00:1]:443",  // NAT64 of 127.0.0.1
		"[2002:7f00:1::1]:443",   // 6to4 of 127.0.0.1
		"93.184.215.14:80",       // public, but not https's port
	} {
		network := "tcp4"
		if host, _, _ := net.SplitHostPort(addr); net.ParseIP(host).To4() == nil {
			network = "tcp6"
		}
		if err := control(network, addr, nil); err == nil {
			t.Errorf("dial %s %s allowed", network, addr)
		}
	}
	for _, addr := range []string{"93.184.215.14:443", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443"} {
		network := "tcp4"
		if addr[0] == '[' {
			network = "tcp6"
		}
		if err := control(network, addr, nil); err != nil {
			t.Errorf("dial %s %s refused: %v", network, addr, err)
		}
	}
}
