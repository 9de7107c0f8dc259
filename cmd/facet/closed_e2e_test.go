package main

import (
	stdhtml "html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// closeApp registers r's app as closed (invite-only) before anything asked for it, so no
// node's client cache holds it open.
func closeApp(t testing.TB, r *rp) {
	t.Helper()
	ctx := t.Context()
	c, err := r.f.app.store.GetClient(ctx, r.clientID)
	if err != nil {
		t.Fatal(err)
	}
	c.Closed = true
	if err := r.f.app.store.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// adminCLI runs `facet args...` against f's database, as an operator beside the server.
func adminCLI(t *testing.T, f *facet) *facetCLI {
	return &facetCLI{t: t, env: map[string]string{"FACET_DATABASE_URL": f.dbURL, "FACET_LOG_LEVEL": "warn",
		"FACET_ISSUER": f.issuer}}
}

// verifyEmail marks addr verified for the account holding it, as confirming its code does.
func verifyEmail(t testing.TB, f *facet, addr string) storage.User {
	t.Helper()
	u, err := f.app.store.GetUserByEmail(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.store.VerifyEmail(t.Context(), u.ID, addr, time.Now()); err != nil {
		t.Fatal(err)
	}
	u.EmailVerified = true
	return u
}

// closedRefusal checks p is the invitation-only page and that its way back is the app's
// access_denied response (state and iss included).
func closedRefusal(t testing.TB, p page, ar authRequest, issuer string) {
	t.Helper()
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "invitation-only") {
		t.Fatalf("want the invitation-only page (403), got %d at %s:\n%s", p.status, p.url, p.body)
	}
	i := strings.Index(p.body, `href="`+rpRedirect)
	if i < 0 {
		t.Fatalf("the invitation-only page has no way back to the app:\n%s", p.body)
	}
	rest := p.body[i+len(`href="`):]
	back, err := url.Parse(stdhtml.UnescapeString(rest[:strings.IndexByte(rest, '"')]))
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != ar.state || q.Get("iss") != issuer || q.Get("code") != "" {
		t.Fatalf("way back = %s, want error=access_denied with state and iss, no code", back)
	}
}

// TestClosedApp: a closed app refuses a user without access, signed in already or signing in
// at its request, with the invitation-only page, and prompt=none gets access_denied; after
// `clients grant-access` the user signs in; `clients revoke-access` ends the user's tokens
// for the app and the app refuses them again. An open app is not affected.
func TestClosedApp(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "ann@example.com", "Ann Example")
			f, b := s.f, s.b
			closed := newRP(t, f)
			closeApp(t, closed)

			// Ann is signed in (to the open app) already.
			ar := closed.start()
			closedRefusal(t, b.get(ar.url), ar, f.issuer)
			ar = closed.start()
			none := b.get(ar.url + "&prompt=none")
			if q := callback(t, none, ar, f.issuer); q.Get("error") != "access_denied" {
				t.Fatalf("prompt=none without access: %v, want access_denied", q)
			}

			// Signing in at the closed app's request ends on the same page.
			other := newAgent(t, f.issuer)
			ar = closed.start()
			p := other.get(ar.url)
			if !strings.Contains(p.url.Path, "/login") {
				t.Fatalf("authorize without a session should land on /login, got %s", p.url)
			}
			p = other.submit(p, p.formWith(t, "/login"), url.Values{"email": {"ann@example.com"}, "password": {"correct horse battery"}}, "")
			closedRefusal(t, p, ar, f.issuer)
			if n := f.countTokensWhere(t, "client_id = '"+closed.clientID+"'"); n != 0 {
				t.Fatalf("%d tokens of the closed app, want none", n)
			}

			// The open app still signs Ann in without a question.
			ar = s.r.start()
			exchange(t, s.r, ar, approve(t, b, b.get(ar.url), ar, f.issuer))

			cli := adminCLI(t, f)
			if _, err := cli.run("clients", "grant-access", closed.clientID, "--email", "ann@example.com"); err == nil {
				t.Fatal("grant-access to an unverified email succeeded")
			}
			ann := verifyEmail(t, f, "ann@example.com")
			if _, err := cli.run("clients", "grant-access", closed.clientID, "--email", "nobody@example.com"); err == nil {
				t.Fatal("grant-access to an unknown email succeeded")
			}
			cli.must("clients", "grant-access", closed.clientID, "--email", "ann@example.com")
			ar = closed.start()
			tok := exchange(t, closed, ar, approve(t, b, b.get(ar.url), ar, f.issuer))
			if !active(t, closed, tok.AccessToken) {
				t.Fatal("the access token of an admitted user is not active")
			}

			rec := newLogoutReceiver(t)
			registerBackchannel(t, f, closed, rec)
			out := cli.must("clients", "revoke-access", closed.clientID, "--email", "ann@example.com")
			if n, err := f.app.logouts.RunOnce(t.Context()); err != nil || n != 1 {
				t.Fatalf("back-channel deliveries after revoke-access: %d, %v; want 1", n, err)
			}
			if got := rec.take(); len(got) != 1 || logoutClaims(t, f, got[0])["sub"] != ann.ID {
				t.Fatalf("logout tokens after revoke-access: %v, want one for ann", got)
			}
			if !strings.Contains(out, "tokens revoked") {
				t.Errorf("revoke-access printed %q", out)
			}
			if active(t, closed, tok.AccessToken) {
				t.Error("the access token is active after revoke-access")
			}
			if !refreshFails(t, closed, tok.RefreshToken) {
				t.Error("the refresh token works after revoke-access")
			}
			ar = closed.start()
			closedRefusal(t, b.get(ar.url), ar, f.issuer)
			// The open app's tokens are untouched.
			if !active(t, s.r, s.tok.AccessToken) {
				t.Error("revoke-access ended another app's token")
			}
		})
	}
}

// TestCLIClientAccessFlags: --closed, --in-catalog and --type are stored by create, changed
// only when given by update, and shown by get --json.
func TestCLIClientAccessFlags(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			cli := newFacetCLI(t, be)
			var got struct {
				ClientID  string `json:"client_id"`
				Closed    bool   `json:"closed"`
				InCatalog bool   `json:"in_catalog"`
				Type      string `json:"type"`
			}
			cli.mustJSON(&got, "clients", "create", "--name", "Notes", "--redirect-uri", "https://notes.example/cb",
				"--closed", "--in-catalog", "--type", "Productivity", "--json")
			if !got.Closed || !got.InCatalog || got.Type != "Productivity" {
				t.Fatalf("create: %+v", got)
			}
			id := got.ClientID
			cli.must("clients", "update", id, "--closed=false")
			cli.mustJSON(&got, "clients", "get", id, "--json")
			if got.Closed || !got.InCatalog || got.Type != "Productivity" {
				t.Fatalf("after update --closed=false: %+v, want open, still in the catalog as Productivity", got)
			}
			cli.must("clients", "update", id, "--in-catalog=false", "--type", "")
			cli.mustJSON(&got, "clients", "get", id, "--json")
			if got.Closed || got.InCatalog || got.Type != "" {
				t.Fatalf("after update --in-catalog=false --type '': %+v", got)
			}
		})
	}
}
