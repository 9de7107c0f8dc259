package profile

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnTo(t *testing.T) {
	cases := map[string]string{
		"":                                 "/",
		"/":                                "/",
		"/profile":                         "/profile",
		"/oauth2/auth?client_id=a&state=b": "/oauth2/auth?client_id=a&state=b",
		"/a/b?x=%2F%2Fevil.com#frag":       "/a/b?x=%2F%2Fevil.com#frag",
		"//evil.com":                       "/",
		"///evil.com":                      "/",
		"https://evil.com":                 "/",
		"http:/evil.com":                   "/",
		"javascript:alert(1)":              "/",
		"/\\evil.com":                      "/",
		"\\\\evil.com":                     "/",
		"/a\\b":                            "/",
		"/\t/evil.com":                     "/",
		"/\n/evil.com":                     "/",
		"/ /evil.com":                      "/",
		"evil.com":                         "/",
		"./x":                              "/",
		"/%zz":                             "/",
		"/" + strings.Repeat("a", 5000):    "/",
	}
	for in, want := range cases {
		if got := SafeReturnTo(in); got != want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.com", "/\\evil.com", "https://evil.com", "/\t/x", "/%2F%2Fx", "/.//x"} {
		f.Add(s)
	}
	base, err := url.Parse("https://facet.example/login")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeReturnTo(s)
		if got != "/" && got != s {
			t.Fatalf("SafeReturnTo(%q) = %q: neither the input nor /", s, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("SafeReturnTo(%q) = %q", s, got)
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("result %q does not parse: %v", got, err)
		}
		if u := base.ResolveReference(ref); u.Host != base.Host || u.Scheme != base.Scheme || u.User != nil {
			t.Fatalf("SafeReturnTo(%q) = %q resolves to %v", s, got, u)
		}
	})
}
