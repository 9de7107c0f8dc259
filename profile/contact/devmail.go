package contact

import (
	"net"
	"net/http"
	"net/netip"
	"regexp"

	"github.com/facetid/facet/storage"
)

// devMailShown is how many messages /dev/mail lists.
const devMailShown = 50

// devMailPage is dev_mail.html's data.
type devMailPage struct {
	Messages []devMailView
}

// devMailView is one message with its body cut into text and links, so a confirmation link
// can be clicked.
type devMailView struct {
	storage.DevMail
	Parts []textPart
}

// textPart is plain text, or a link when URL is set.
type textPart struct {
	Text string
	URL  string
}

// linkPattern finds the web addresses in a message body.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// splitLinks cuts body into text and links (http and https only).
func splitLinks(body string) []textPart {
	var parts []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(body, -1) {
		if m[0] > last {
			parts = append(parts, textPart{Text: body[last:m[0]]})
		}
		u := body[m[0]:m[1]]
		parts = append(parts, textPart{Text: u, URL: u})
		last = m[1]
	}
	if last < len(body) {
		parts = append(parts, textPart{Text: body[last:]})
	}
	return parts
}

// devMail lists the newest messages of the development mailer and SMS/voice sender, so a
// newcomer running Facet locally can read a verification code without any mail server. The
// route exists only when Config.Development is set (see Routes), and answers only a
// caller on this machine (loopbackPeer): the page holds every user's codes. The messages live
// in the database, so every node shows them.
func (h *Handler) devMail(w http.ResponseWriter, r *http.Request) {
	if !loopbackPeer(r) {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	msgs, err := h.store.ListDevMail(r.Context(), devMailShown)
	if err != nil {
		h.kit.ServerError(w, r, "list dev mail", err)
		return
	}
	page := devMailPage{Messages: make([]devMailView, len(msgs))}
	for i, m := range msgs {
		page.Messages[i] = devMailView{DevMail: m, Parts: splitLinks(m.Body)}
	}
	h.kit.Render(w, r, http.StatusOK, "dev_mail", page)
}

// loopbackPeer reports whether r came straight from this machine: its TCP peer is a loopback
// address and no proxy forwarded it. The client address that trusted_proxies resolves
// (clientAddr) is not used: a reverse proxy on the same host connects from loopback for every
// outside caller, and the forwarded address is only as good as that proxy's configuration. A
// caller cannot remove a header the proxy adds, so any forwarding header means "not local".
func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Unmap().IsLoopback() {
		return false
	}
	// The headers a proxy adds to what it forwards: RFC 7239 Forwarded, RFC 9110 §7.6.3 Via,
	// and the common X-Forwarded-* and X-Real-IP (net/http canonicalises the names).
	for name := range r.Header {
		switch name {
		case "Forwarded", "Via", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip":
			return false
		}
	}
	return true
}
