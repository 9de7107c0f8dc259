package profile

import (
	"context"
	"net/http"
	"strings"
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

// withOrigin builds r's Origin once and carries it in the request's context.
func (h *Handler) withOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := h.newOrigin(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), originKey{}, o)))
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
		agent := h.ua.Parse(truncateUTF8(ua, maxUserAgent))
		o.Device = strings.ToLower(agent.Device().String())
		o.Browser = agent.Browser().String()
		if v := agent.BrowserVersionMajor(); o.Browser != "" && v != "" {
			o.Browser += " " + v
		}
		o.OS = agent.OS().String()
	}
	return o
}
