package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is a cookie-keeping HTTP client that stops at redirects leaving the server under
// test, so a test can read the authorization response a relying party would receive.
type agent struct {
	t      testing.TB
	client *http.Client
	base   string
	// header is added to every request the agent sends (e.g. Accept-Language).
	header http.Header
}

func newAgent(t testing.TB, base string) *agent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &agent{t: t, base: base}
	b.client = &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), base) {
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return fmt.Errorf("too many redirects")
			}
			return nil
		},
	}
	return b
}

// page is a fetched response with its body read.
type page struct {
	status   int
	url      *url.URL // the final URL (after redirects inside the server)
	location string   // Location header when the server redirected away
	body     string
	header   http.Header
}

func (b *agent) do(req *http.Request) page {
	b.t.Helper()
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *agent) get(u string) page {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.base + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *agent) post(u string, form url.Values) page {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.base + u
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

// form is an HTML form found on a page: where it posts and its pre-filled values.
type form struct {
	action  string
	method  string
	values  url.Values
	buttons map[string]string // submit buttons: value → name
}

// forms parses every <form> of p outside the site header.
func (p page) forms(t testing.TB) []form {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	var out []form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "header":
				// The site header's account menu (Log out) is on every page; the flows under
				// test press the page's own buttons.
				if strings.Contains(attr("class"), "site-header") {
					return
				}
			case "form":
				out = append(out, form{action: attr("action"), method: strings.ToUpper(attr("method")), values: url.Values{}, buttons: map[string]string{}})
				cur = &out[len(out)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attr("name") != "" {
					switch attr("type") {
					case "submit":
						cur.buttons[attr("value")] = attr("name")
					case "checkbox", "radio":
						if _, checked := attrOK(n, "checked"); checked {
							cur.values.Add(attr("name"), valueOr(attr("value"), "on"))
						}
					default:
						cur.values.Set(attr("name"), attr("value"))
					}
				}
			case "button":
				if cur != nil && attr("name") != "" {
					cur.buttons[attr("value")] = attr("name")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func attrOK(n *html.Node, k string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val, true
		}
	}
	return "", false
}

func valueOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// formWith returns the first form of p whose action contains action.
func (p page) formWith(t testing.TB, action string) form {
	t.Helper()
	for _, f := range p.forms(t) {
		if strings.Contains(f.action, action) {
			return f
		}
	}
	t.Fatalf("no form posting to %q on %s (status %d):\n%s", action, p.url, p.status, p.body)
	return form{}
}

// submit posts f, resolved against the page's URL, with extra values set and the named
// button pressed (if any).
func (b *agent) submit(p page, f form, set url.Values, button string) page {
	b.t.Helper()
	vals := url.Values{}
	for k, v := range f.values {
		vals[k] = append([]string(nil), v...)
	}
	for k, v := range set {
		vals[k] = v
	}
	if button != "" {
		name, ok := f.buttons[button]
		if !ok {
			b.t.Fatalf("form %s has no button with value %q (has %v)", f.action, button, f.buttons)
		}
		vals.Set(name, button)
	}
	target, err := p.url.Parse(f.action)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.post(target.String(), vals)
}
