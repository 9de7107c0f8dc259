package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/html"
)

// redirectURI is the bench client's redirect URI. Nothing listens there: the driver stops at
// the redirect and reads the code from the Location header.
const redirectURI = "http://127.0.0.1:9/cb"

// Endpoint paths (oauth.Path*; repeated here so the driver links none of the server).
const (
	pathAuth       = "/oauth2/auth"
	pathToken      = "/oauth2/token"
	pathIntrospect = "/oauth2/introspect"
	pathUserinfo   = "/userinfo"
	pathDiscovery  = "/.well-known/openid-configuration"
	pathJWKS       = "/.well-known/jwks.json"
)

// requestTimeout bounds every request: a stuck server cannot hang the driver.
const requestTimeout = 30 * time.Second

// balancer spreads requests over the targets round-robin, like a load balancer in front of
// several nodes. Every node serves the same issuer, so any node may take any step.
type balancer struct {
	targets []string
	next    atomic.Uint64
}

func (b *balancer) url(path string) string {
	n := b.next.Add(1)
	return b.targets[int(n%uint64(len(b.targets)))] + path
}

// sourceIPs hands out loopback source addresses (127.x.y.z). Facet throttles logins and
// registrations per client IP (20 and 10 per 15 minutes); a login load test stands for many
// people on many addresses, so each browser flow dials from its own address. Linux routes
// all of 127.0.0.0/8 to the loopback interface.
type sourceIPs struct{ n atomic.Uint64 }

func newSourceIPs() *sourceIPs {
	s := &sourceIPs{}
	// A random start, so runs against the same server within a throttling window do not
	// reuse the same addresses.
	s.n.Store(rand.Uint64N(200 * 254 * 254))
	return s
}

func (s *sourceIPs) nextIP() net.IP {
	n := s.n.Add(1) % (250 * 254 * 254)
	return net.IPv4(127, byte(2+n/(254*254)), byte(1+(n/254)%254), byte(1+n%254))
}

// newTransport is a keep-alive transport for `conns` concurrent users; a non-nil local
// address binds the source IP.
func newTransport(conns int, local net.IP) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
}

// browser is one person's user agent: a cookie jar, its own source address, and redirects
// followed by hand through the balancer (each hop may land on another node) until one leaves
// the server (the redirect to the client).
type browser struct {
	lb     *balancer
	issuer *url.URL
	client *http.Client
	tr     *http.Transport
}

func newBrowser(lb *balancer, issuer *url.URL, ips *sourceIPs) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	tr := newTransport(1, ips.nextIP())
	return &browser{lb: lb, issuer: issuer, tr: tr, client: &http.Client{
		Jar: jar, Transport: tr, Timeout: requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// close drops the browser's connections.
func (b *browser) close() { b.tr.CloseIdleConnections() }

// page is a response with its body read.
type page struct {
	status   int
	location string // the redirect that left the server, if any
	body     string
}

// get fetches path (or an absolute URL on the issuer) and follows redirects inside the server.
func (b *browser) get(ctx context.Context, target string) (page, error) {
	return b.do(ctx, http.MethodGet, target, nil)
}

// post submits a form and follows redirects inside the server.
func (b *browser) post(ctx context.Context, target string, form url.Values) (page, error) {
	return b.do(ctx, http.MethodPost, target, form)
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values) (page, error) {
	for hop := 0; hop < 10; hop++ {
		path, ok := b.local(target)
		if !ok {
			return page{status: http.StatusFound, location: target}, nil
		}
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		// The request goes to the next node, but the browser believes it talks to the issuer:
		// the cookie jar is keyed by the issuer's URL.
		req, err := http.NewRequestWithContext(ctx, method, b.lb.url(path), body)
		if err != nil {
			return page{}, err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.client.Do(req)
		if err != nil {
			return page{}, err
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return page{}, err
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return page{}, fmt.Errorf("bad Location %q", resp.Header.Get("Location"))
			}
			target = loc.String()
			if resp.StatusCode != http.StatusTemporaryRedirect {
				method, form = http.MethodGet, nil
			}
			continue
		}
		return page{status: resp.StatusCode, body: string(raw)}, nil
	}
	return page{}, errors.New("too many redirects")
}

// local turns target into a path on the server: a path, an absolute URL on the issuer or on
// one of the nodes. Anything else (the client's redirect URI) leaves the server.
func (b *browser) local(target string) (string, bool) {
	if strings.HasPrefix(target, "/") {
		return target, true
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", false
	}
	same := u.Host == b.issuer.Host
	for _, t := range b.lb.targets {
		if tu, err := url.Parse(t); err == nil && tu.Host == u.Host {
			same = true
		}
	}
	if !same || u.Host == "" {
		return "", false
	}
	return u.RequestURI(), true
}

// form is an HTML form: its action and the fields a person would submit unchanged.
type form struct {
	action string
	values url.Values
	button map[string]string // value → name of each submit button
}

// findForm returns the first form whose action starts with action. Hidden inputs are kept,
// checkboxes are ticked (the person allows everything asked), buttons are listed.
func findForm(body, action string) (form, error) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return form{}, err
	}
	var found *form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if found != nil && cur == nil {
			return
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if found == nil && strings.HasPrefix(attr(n, "action"), action) {
					found = &form{action: attr(n, "action"), values: url.Values{}, button: map[string]string{}}
					cur = found
				} else {
					cur = nil
				}
			case "input":
				if cur != nil && attr(n, "name") != "" {
					switch strings.ToLower(attr(n, "type")) {
					case "hidden":
						cur.values.Add(attr(n, "name"), attr(n, "value"))
					case "checkbox":
						v := attr(n, "value")
						if v == "" {
							v = "on"
						}
						cur.values.Add(attr(n, "name"), v)
					}
				}
			case "button":
				if cur != nil && attr(n, "name") != "" {
					cur.button[attr(n, "value")] = attr(n, "name")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	if found == nil {
		return form{}, fmt.Errorf("no form with action %s", action)
	}
	return *found, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
