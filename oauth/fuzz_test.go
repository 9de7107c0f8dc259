package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/oauth/stored"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// Fuzz targets for the parsers of untrusted input: the id_token_hint of
// end_session, registered redirect URIs and the redirect-URI match, and the stored-request
// decoder (whose input is a database row, but one a compromised or corrupted row can shape).
// `go test -fuzz FuzzX ./oauth/` explores; plain `go test` runs the seeds.

// fuzzProvider is a provider on a fresh SQLite database with client "app".
func fuzzProvider(tb testing.TB) (*Provider, storage.Storage) {
	tb.Helper()
	return fuzzProviderOn(tb, sqltest.Backends(tb)[0].Open(tb))
}

// fuzzProviderOn is a provider on db with client "app".
func fuzzProviderOn(tb testing.TB, db storage.Storage) (*Provider, storage.Storage) {
	tb.Helper()
	ctx := context.Background()
	secret := []byte(strings.Repeat("k", 32))
	if err := keys.Ensure(ctx, db, secret); err != nil {
		tb.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		tb.Fatal(err)
	}
	cs, err := consent.NewService(db, nil, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := New(Config{Issuer: testIssuer, Secret: secret}, db, cs, tpl, nil, prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := registration.Create(ctx, db, registration.Spec{ID: "app", Name: "App", Public: true,
		RedirectURIs: []string{"http://127.0.0.1:5555/cb"}}); err != nil {
		tb.Fatal(err)
	}
	return p, db
}

func FuzzIDTokenHint(f *testing.F) {
	p, _ := fuzzProvider(f)
	ctx := context.Background()
	signKID, signKey, err := p.keys.SigningKey(ctx)
	if err != nil {
		f.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: signKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", signKID))
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: testIssuer, Subject: "u1", Audience: jwt.Audience{"app"}}).Serialize()
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		good,
		parts[0] + "." + enc([]byte(`{"iss":"`+testIssuer+`","sub":"admin","aud":"app"}`)) + "." + parts[2],
		enc([]byte(`{"alg":"none","kid":"`+signKID+`"}`)) + "." + parts[1] + ".",
		enc([]byte(`{"alg":"HS256","kid":"`+signKID+`"}`)) + "." + parts[1] + "." + parts[2],
		`{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`,
		"a.b.c", "", "..", strings.Repeat("A", 5000),
	} {
		f.Add(seed)
	}
	pub := &signKey.PublicKey
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := p.parseIDTokenHint(ctx, raw)
		if err != nil {
			return
		}
		// Accepted: it must be a compact RS256 JWS our key verifies, from our issuer, with a
		// subject and an audience.
		tok, perr := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if perr != nil {
			t.Fatalf("accepted a hint go-jose cannot parse: %v", perr)
		}
		var c jwt.Claims
		if err := tok.Claims(pub, &c); err != nil {
			t.Fatalf("accepted a hint our public key does not verify: %v", err)
		}
		if c.Issuer != testIssuer || h.Subject == "" || h.Subject != c.Subject || len(h.Audience) == 0 {
			t.Fatalf("accepted hint claims %+v → %+v", c, h)
		}
	})
}

// FuzzValidateClientSpec: a URI registration accepts is a well-formed https (or loopback
// http) URI, and a request naming exactly it passes the authorization endpoint's match.
func FuzzValidateClientSpec(f *testing.F) {
	for _, seed := range []string{
		"https://app.example.com/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb",
		"http://app.example.com/cb", "https://app.example.com/cb#frag", "https://*.example.com/cb",
		"https://user:pw@app.example.com/", "app://callback", "/relative", "https://", "HTTPS://APP.EXAMPLE.COM/",
		"https://app.example.com/cb?x=1", "http://127.0.0.1.nip.io/cb", "http://0x7f.0.0.1/cb", "https://app.example.com/%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		spec := registration.Spec{Name: "Fuzz", RedirectURIs: []string{uri}, PostLogoutRedirectURIs: []string{uri}}
		if err := registration.Validate(spec); err != nil {
			return
		}
		// Accepted: an absolute URI with a host, no fragment, wildcard or user info, https or
		// http on loopback (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3).
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", uri, err)
		}
		if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
			t.Fatalf("accepted %q: not absolute with a host", uri)
		}
		if strings.ContainsAny(uri, "#*") || u.Fragment != "" || u.User != nil {
			t.Fatalf("accepted %q: fragment, wildcard or user info", uri)
		}
		switch u.Scheme {
		case "https":
		case "http":
			host := u.Hostname()
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Fatalf("accepted %q: http on a host that is not loopback", uri)
			}
		default:
			t.Fatalf("accepted %q: scheme %q", uri, u.Scheme)
		}
		if !redirectURIAllowed(uri, []string{uri}) {
			t.Fatalf("registered %q, but a request with exactly it is refused", uri)
		}
	})
}

func FuzzRedirectURIAllowed(f *testing.F) {
	for _, seed := range [][2]string{
		{"http://127.0.0.1:5555/cb", "http://127.0.0.1:6666/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:1/cb?x"},
		{"https://app.example.com/cb", "https://app.example.com/cb/"},
		{"http://[::1]:80/cb", "http://[::1]:81/cb"},
		{"http://localhost:1/cb", "http://localhost:2/cb"},
		{"http://127.0.0.1:5555/cb", "http://127.0.0.1:5555/cb#x"},
		{"http://127.0.0.1:5555/a%2Fb", "http://127.0.0.1:1/a/b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if !redirectURIAllowed(requested, []string{registered}) || requested == registered {
			return
		}
		// Only the port of an http loopback IP literal may differ (RFC 8252 §7.3).
		req, err1 := url.Parse(requested)
		reg, err2 := url.Parse(registered)
		if err1 != nil || err2 != nil {
			t.Fatalf("allowed %q for %q, which do not parse", requested, registered)
		}
		ip := net.ParseIP(req.Hostname())
		if req.Scheme != "http" || reg.Scheme != "http" || ip == nil || !ip.IsLoopback() {
			t.Fatalf("allowed %q for %q: not an http loopback IP literal", requested, registered)
		}
		if req.Hostname() != reg.Hostname() || req.EscapedPath() != reg.EscapedPath() || req.RawQuery != reg.RawQuery ||
			req.Fragment != "" || req.User != nil || reg.User != nil {
			t.Fatalf("allowed %q for %q: more than the port differs", requested, registered)
		}
	})
}

// fuzzStore is the oauth store of a fuzzProvider (client "app").
func fuzzStore(tb testing.TB) *store {
	p, db := fuzzProvider(tb)
	return &store{db: db, clients: p.clients, codeSignature: func(_ context.Context, c string) string { return c },
		codeLifespan: time.Minute, now: time.Now}
}

func FuzzDecodeRequest(f *testing.F) {
	st := fuzzStore(f)
	ctx := context.Background()
	r := codecRequest(f, st)
	seed, err := encodeRequest(r)
	if err != nil {
		f.Fatal(err)
	}
	head := []any{"r", 1, "app", nil, nil, nil, nil}
	for _, b := range [][]byte{seed, v1Row(f),
		cborRow(f, append(head, nil, nil)),
		cborRow(f, append(head, []string{"nonce", "\x00"}, []any{"u", -1, 0, "", nil, []byte(`{"n":1e400,"m":[1,2.5,{"x":1e3}]}`), nil, 0, ""})),
		cborRow(f, append(head, []string{"a"}, []any{"u", 0, 0, "", nil, []byte("null"), []any{[]any{"access_token", -1}}, 0, `{"userinfo":{}}`})),
		cborRow(f, []any{"r", 1, "nobody", nil, nil, nil, nil, nil, nil}),
		{stored.VersionCBOR}, {stored.VersionBinary}, {stored.VersionCBOR, 0x80}, {}, []byte(`{"client_id":"app"}`)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := st.decodeRequest(ctx, data)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and come back the same: a stored request is
		// read by several steps (code exchange, refresh, introspection).
		b, err := encodeRequest(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		r2, err := st.decodeRequest(ctx, b)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, b)
		}
		b2, err := encodeRequest(r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("the stored form is not stable:\n%q\n%q", b, b2)
		}
		if r2.GetID() != r.GetID() || r2.GetClient().GetID() != r.GetClient().GetID() || r2.GetSession().GetSubject() != r.GetSession().GetSubject() {
			t.Fatalf("round trip changed the request: %+v → %+v", r, r2)
		}
	})
}
