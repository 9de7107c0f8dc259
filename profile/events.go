package profile

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// Event categories: the "event header" of the activity log (spec, "Activity Log and Login
// History"). Each has a message "events.category.<name>" in templates/messages_events.go.
const (
	CategoryLogin           = "login"
	CategoryLoginFailed     = "login_failed"
	CategoryLogout          = "logout"
	CategoryRegistration    = "registration"
	CategoryProfileUpdated  = "profile_updated"
	CategoryPhotoChanged    = "photo_changed"
	CategoryPhotoDeleted    = "photo_deleted"
	CategoryEmailChanged    = "email_changed"
	CategoryEmailDeleted    = "email_deleted"
	CategoryPhoneChanged    = "phone_changed"
	CategoryPhoneDeleted    = "phone_deleted"
	CategoryPasswordChanged = "password_changed"
	CategoryPrivacyChanged  = "privacy_changed"
	CategoryConsentGranted  = "consent_granted"
	CategoryConsentRevoked  = "consent_revoked"
	CategorySessionsEnded   = "sessions_ended"
)

// Event is what a caller tells the activity log about an action; Record adds the user, the
// time, the device and the IP address. Details are a few non-secret strings, e.g.
// {"fields": "given_name,birthdate"} or {"method": "password"}: names of what changed, never
// values, and never passwords, codes or tokens.
type Event struct {
	Category string
	ClientID string
	Details  map[string]string
}

// Bounds on what one event stores, so a caller's mistake cannot bloat the log.
const (
	maxEventCategory = 64
	maxEventClientID = 255
	maxEventDetails  = 16
	maxDetailKey     = 64
	maxDetailValue   = 256
	// recordTimeout bounds the INSERT; it is detached from the request's cancellation so a
	// client hanging up right after logging in does not erase the trace of that login.
	recordTimeout = 5 * time.Second
)

// Record adds an event to userID's activity log: one INSERT, nothing else. It never fails the
// caller: a write error is logged (error level) and the action goes on. r gives the device
// (User-Agent) and the IP address (see clientAddr); it may be nil for actions without a
// request (CLI, jobs). When ctx carries a transaction, the event commits or rolls back with it.
func (h *Handler) Record(ctx context.Context, r *http.Request, userID string, e Event) {
	ev := h.newEvent(r, userID, e)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := h.Store.AddEvent(ctx, ev); err != nil {
		h.Logger.ErrorContext(ctx, "record event", "category", ev.Category, "user_id", userID, "err", err)
	}
}

// newEvent builds the stored event: a random id, the time in UTC, the parsed User-Agent and
// the client's address, with every caller-supplied string bounded.
func (h *Handler) newEvent(r *http.Request, userID string, e Event) storage.Event {
	ev := storage.Event{
		ID:       newID(),
		UserID:   userID,
		Category: truncateUTF8(e.Category, maxEventCategory),
		At:       h.Now().UTC(),
		ClientID: truncateUTF8(e.ClientID, maxEventClientID),
		Details:  cleanDetails(e.Details),
	}
	if r != nil {
		if ua := r.UserAgent(); ua != "" && h.ua != nil {
			agent := h.ua.Parse(truncateUTF8(ua, maxUserAgent))
			ev.Device = strings.ToLower(agent.Device().String())
			ev.Browser = agent.Browser().String()
			if v := agent.BrowserVersionMajor(); ev.Browser != "" && v != "" {
				ev.Browser += " " + v
			}
			ev.OS = agent.OS().String()
		}
		ev.IP = h.clientAddr(r)
	}
	return ev
}

// flowClientID is the app whose authorization request waits in a flow page's returnTo, when
// the page found that app (appName is its name): the login or registration then happened for
// that app. No query: the page already looked the client up.
func flowClientID(returnTo, appName string) string {
	if appName == "" {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil {
		return ""
	}
	return u.Query().Get("client_id")
}

// secretDetail reports whether a detail key names something that must never be stored.
// Callers are told not to pass secrets; this catches the obvious slips.
func secretDetail(key string) bool {
	k := strings.ToLower(key)
	return k == "code" || strings.Contains(k, "password") || strings.Contains(k, "token") ||
		strings.Contains(k, "secret") || (strings.HasSuffix(k, "_code") && k != "country_code")
}

// cleanDetails bounds the details map and drops keys that name secrets.
func cleanDetails(d map[string]string) map[string]string {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(d), maxEventDetails))
	for k, v := range d {
		if len(out) == maxEventDetails {
			break
		}
		if k == "" || secretDetail(k) {
			continue
		}
		out[truncateUTF8(k, maxDetailKey)] = truncateUTF8(v, maxDetailValue)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ipv6Prefix is how many leading bits of an IPv6 address per-IP counters key on: a /64 is
// the smallest subnet, and a single host or subscriber routinely has one to itself, picking
// addresses in it at will (privacy addresses, RFC 8981; end sites get a /64 or more, RFC
// 6177). Counting each of its 2^64 addresses apart would let one client multiply any
// per-IP limit.
const ipv6Prefix = 64

// rateKey is the per-IP counter key of clientAddr's result: an IPv4 address as is (an
// IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address as its /64. Every
// per-IP rate limit keys on it (OWASP ASVS 5.0 V2.4 anti-automation).
func rateKey(addr string) string {
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
		return truncateUTF8(host, 64)
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
