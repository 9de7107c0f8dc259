package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/storage/sqltest"
)

// crossSiteEndpoints are the routes other sites send requests to by design: only these may
// answer an unsafe cross-origin request with anything but the 403 page.
var crossSiteEndpoints = []string{
	"/oauth2/auth", "/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/userinfo",
	"/oauth2/sessions/logout", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
	"/.well-known/jwks.json",
}

// routeVar matches a mux path variable ({id}, {field:[a-z_]+}).
var routeVar = regexp.MustCompile(`\{[^}]*\}`)

// TestRouteGroups walks every route of the public router and checks that the group it was
// registered in gives it the protections it needs: a cross-origin POST, PUT or DELETE to
// any route but the cross-site endpoints is refused with the 403 page (so a page or account
// API route added later is protected without being listed anywhere), and the cross-site
// endpoints let it through to their own answer. A 405 follows the same rule as its route.
func TestRouteGroups(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	crossSite := http.Header{
		"Sec-Fetch-Site": {"cross-site"},
		"Origin":         {"https://evil.example"},
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Accept":         {"text/html"},
	}
	seen := map[string]bool{}
	err := s.app.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // a group, not a route
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		path := routeVar.ReplaceAllString(tmpl, "x")
		if strings.HasSuffix(path, "/") && len(path) > 1 {
			path += "facet.css" // a path prefix (static files)
		}
		crossSiteOK := slices.Contains(crossSiteEndpoints, tmpl)
		seen[tmpl] = true
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			resp, body := s.do(t, m, path, crossSite, strings.NewReader("x=1"))
			refused := resp.StatusCode == http.StatusForbidden && strings.Contains(body, "another site")
			switch {
			case crossSiteOK && refused:
				t.Errorf("cross-origin %s %s (methods %v): refused, but other sites call it by design", m, tmpl, methods)
			case !crossSiteOK && !refused && !isMachineEndpoint(tmpl):
				t.Errorf("cross-origin %s %s (methods %v): %d, want the 403 page\n%s", m, tmpl, methods, resp.StatusCode, body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(slices.Clone(crossSiteEndpoints), "/oauth2/consent", "/login", "/api/account/profile", "/health/alive") {
		if !seen[want] {
			t.Errorf("the walk did not reach %s", want)
		}
	}
}

// isMachineEndpoint: health and static files are in the protocol group (no cookies) and
// answer only GET and HEAD, so their unsafe methods are 405 without a cross-origin check.
func isMachineEndpoint(tmpl string) bool {
	return strings.HasPrefix(tmpl, "/health/") || strings.HasPrefix(tmpl, "/static/")
}

// TestRouteGroupsUnknownPath: an unknown path is answered as a page (404 with the page
// headers; a cross-origin POST to it is refused), and the route template of a route inside
// a group reaches the access log.
func TestRouteGroupsUnknownPath(t *testing.T) {
	s := newTestServer(t, sqltest.Backends(t)[0], nil)
	resp, _ := s.do(t, http.MethodGet, "/no/such/page", http.Header{"Accept": {"text/html"}}, nil)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("unknown page: %d, X-Frame-Options %q", resp.StatusCode, resp.Header.Get("X-Frame-Options"))
	}
	resp, _ = s.do(t, http.MethodPost, "/no/such/page", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST to an unknown path: %d, want 403", resp.StatusCode)
	}
	// 405 on a protocol endpoint: no cross-origin refusal, no page CSP on its JSON.
	resp, body := s.do(t, http.MethodGet, "/oauth2/token", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("GET /oauth2/token: %d, CSP %q\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
	}
	// 405 on a page: the page headers.
	resp, _ = s.do(t, http.MethodPut, "/login", http.Header{"Sec-Fetch-Site": {"same-origin"}}, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("PUT /login: %d, X-Frame-Options %q", resp.StatusCode, resp.Header.Get("X-Frame-Options"))
	}
	s.do(t, http.MethodGet, "/.well-known/jwks.json", nil, nil)
	s.do(t, http.MethodGet, "/profile/events/abc", nil, nil)
	logs := s.logs.String()
	for _, route := range []string{"route=/.well-known/jwks.json", "route=/profile/events/{id}"} {
		if !strings.Contains(logs, route) {
			t.Errorf("access log lacks %s:\n%s", route, logs)
		}
	}
}
