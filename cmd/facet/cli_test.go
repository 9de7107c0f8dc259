package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// facetCLI runs the program against one database, as an operator would.
type facetCLI struct {
	t     *testing.T
	env   map[string]string
	stdin io.Reader // what the next command reads as standard input
}

func newFacetCLI(t *testing.T, b sqltest.Backend) *facetCLI {
	t.Helper()
	return &facetCLI{t: t, env: map[string]string{
		"FACET_DATABASE_URL": b.NewURL(t),
		"FACET_LOG_LEVEL":    "warn",
	}}
}

// run runs `facet args...` and returns stdout; a failure is returned for the test to check.
func (c *facetCLI) run(args ...string) (string, error) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(c.t.Context(), append([]string{"facet"}, args...), envOf(c.env), c.stdin, &stdout, &stderr)
	if err != nil {
		c.t.Logf("facet %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), err
}

// must runs `facet args...` and fails the test on an error.
func (c *facetCLI) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("facet %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c *facetCLI) mustJSON(v any, args ...string) {
	c.t.Helper()
	out := c.must(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("facet %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestCLIMigrate(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			out := cli.must("migrate")
			if !strings.Contains(out, b.Name) {
				t.Errorf("migrate output %q does not name the dialect %s", out, b.Name)
			}
			cli.must("migrate") // twice is fine
		})
	}
}

func TestCLIClients(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)

			var created clientJSON
			cli.mustJSON(&created, "clients", "create", "--name", "Web app",
				"--redirect-uri", "https://app.example.com/callback",
				"--redirect-uri", "http://127.0.0.1:3000/callback",
				"--post-logout-redirect-uri", "https://app.example.com/",
				"--json")
			if created.ClientID == "" || len(created.ClientSecret) < 43 {
				t.Fatalf("create: client_id %q, secret of %d characters; want an id and a 256-bit secret", created.ClientID, len(created.ClientSecret))
			}
			if created.Public || created.TokenEndpointAuthMethod != "client_secret_basic" {
				t.Errorf("create: public=%v method=%q, want a confidential client_secret_basic client", created.Public, created.TokenEndpointAuthMethod)
			}
			if strings.Join(created.GrantTypes, ",") != "authorization_code,refresh_token" {
				t.Errorf("create: default grant types %v", created.GrantTypes)
			}
			if len(created.RedirectURIs) != 2 || created.PostLogoutRedirectURIs[0] != "https://app.example.com/" {
				t.Errorf("create: redirect URIs %v, post-logout %v", created.RedirectURIs, created.PostLogoutRedirectURIs)
			}

			var spa clientJSON
			cli.mustJSON(&spa, "clients", "create", "--name", "SPA", "--public", "--id", "spa",
				"--redirect-uri", "https://spa.example.com/cb", "--scope", "openid email", "--json")
			if spa.ClientID != "spa" || spa.ClientSecret != "" || !spa.Public || spa.TokenEndpointAuthMethod != "none" || spa.Scope != "openid email" {
				t.Errorf("public create: %+v", spa)
			}

			// Registration rules come from registration.Validate.
			if _, err := cli.run("clients", "create", "--name", "Bad", "--redirect-uri", "http://app.example.com/cb"); err == nil {
				t.Error("an http redirect URI on a public host was accepted")
			}
			if _, err := cli.run("clients", "create", "--name", "Dup", "--id", "spa", "--public", "--redirect-uri", "https://x.example.com/cb"); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("duplicate id: err = %v", err)
			}

			var list []clientJSON
			cli.mustJSON(&list, "clients", "list", "--json")
			if len(list) != 2 {
				t.Fatalf("list: %d clients, want 2", len(list))
			}
			for _, cl := range list {
				if cl.ClientSecret != "" {
					t.Errorf("list shows a secret for %s", cl.ClientID)
				}
			}
			if text := cli.must("clients", "list"); !strings.Contains(text, "Web app") || !strings.Contains(text, "spa") {
				t.Errorf("list text:\n%s", text)
			}

			var updated clientJSON
			cli.mustJSON(&updated, "clients", "update", created.ClientID, "--name", "Web app 2", "--json")
			if updated.Name != "Web app 2" || len(updated.RedirectURIs) != 2 || updated.ClientSecret != "" {
				t.Errorf("update name: %+v (other fields must stay, no new secret)", updated)
			}
			var rotated clientJSON
			cli.mustJSON(&rotated, "clients", "update", created.ClientID, "--rotate-secret", "--json")
			if rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret {
				t.Errorf("rotate-secret: got %q", rotated.ClientSecret)
			}

			var got clientJSON
			cli.mustJSON(&got, "clients", "get", created.ClientID, "--json")
			if got.Name != "Web app 2" || got.ClientSecret != "" {
				t.Errorf("get: %+v", got)
			}
			if text := cli.must("clients", "get", "spa"); !strings.Contains(text, "public") {
				t.Errorf("get text:\n%s", text)
			}

			cli.must("clients", "delete", "spa")
			if _, err := cli.run("clients", "get", "spa"); err == nil {
				t.Error("get after delete succeeded")
			}
			if _, err := cli.run("clients", "delete", "spa"); err == nil {
				t.Error("deleting a missing client succeeded")
			}
			cli.mustJSON(&list, "clients", "list", "--json")
			if len(list) != 1 || list[0].ClientID != created.ClientID {
				t.Errorf("list after delete: %+v", list)
			}
		})
	}
}

// TestCLIClientsBackchannel: the back-channel logout registration parameters are set by
// create, changed by update, shown by get --json, and follow the redirect URI rules.
func TestCLIClientsBackchannel(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var created clientJSON
			cli.mustJSON(&created, "clients", "create", "--name", "RP", "--id", "rp",
				"--redirect-uri", "https://rp.example.com/cb",
				"--backchannel-logout-uri", "https://rp.example.com/bcl",
				"--backchannel-logout-session-required", "--json")
			if created.BackchannelLogoutURI != "https://rp.example.com/bcl" || !created.BackchannelLogoutSessionRequired {
				t.Errorf("create: %+v", created)
			}
			var got clientJSON
			cli.mustJSON(&got, "clients", "get", "rp", "--json")
			if got.BackchannelLogoutURI != "https://rp.example.com/bcl" || !got.BackchannelLogoutSessionRequired {
				t.Errorf("get: %+v", got)
			}
			cli.mustJSON(&got, "clients", "update", "rp", "--backchannel-logout-uri", "http://127.0.0.1:9999/bcl", "--json")
			if got.BackchannelLogoutURI != "http://127.0.0.1:9999/bcl" || !got.BackchannelLogoutSessionRequired {
				t.Errorf("update URI: %+v (session_required must stay)", got)
			}
			cli.mustJSON(&got, "clients", "update", "rp", "--backchannel-logout-session-required=false", "--json")
			if got.BackchannelLogoutSessionRequired || got.BackchannelLogoutURI == "" {
				t.Errorf("update session required: %+v", got)
			}
			if _, err := cli.run("clients", "update", "rp", "--backchannel-logout-uri", "http://rp.example.com/bcl"); err == nil {
				t.Error("an http back-channel logout URI on a public host was accepted")
			}
			var raw map[string]any
			cli.mustJSON(&raw, "clients", "get", "rp", "--json")
			if raw["backchannel_logout_uri"] != "http://127.0.0.1:9999/bcl" {
				t.Errorf("get --json names: %v", raw)
			}
		})
	}
}

// TestCLIClientIDStartsWithLetterOrDigit: an id chosen with --id obeys the rule generated ids
// follow, however it is written on the command line; a client registered before the rule
// can still be named (after "--") and updated.
func TestCLIClientIDStartsWithLetterOrDigit(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			create := []string{"clients", "create", "--name", "Dash", "--public", "--redirect-uri", "https://dash.example.com/cb"}
			for _, id := range [][]string{{"--id=-dash"}, {"--id", "-dash"}, {"--id=_under"}, {"--id", "_under"}, {"--id=.dot"}, {"--id=~tilde"}} {
				_, err := cli.run(append(create, id...)...)
				if err == nil || !strings.Contains(err.Error(), "start with a letter or digit") {
					t.Errorf("create %v: err = %v, want a refusal naming the rule", id, err)
				}
			}
			var list []clientJSON
			cli.mustJSON(&list, "clients", "list", "--json")
			if len(list) != 0 {
				t.Fatalf("refused ids were registered: %+v", list)
			}
			var ok clientJSON
			cli.mustJSON(&ok, append(create, "--id=d-ash_1", "--json")...)
			if ok.ClientID != "d-ash_1" {
				t.Errorf("create --id=d-ash_1: %+v", ok)
			}

			store, err := sqlstore.Open(t.Context(), cli.env["FACET_DATABASE_URL"], nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			now := time.Now().UTC()
			legacy := storage.Client{
				ID: "-legacy", Name: "Legacy", Public: true, TokenEndpointAuthMethod: "none",
				RedirectURIs: []string{"https://legacy.example.com/cb"}, GrantTypes: []string{"authorization_code"},
				ResponseTypes: []string{"code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now,
			}
			if err := store.CreateClient(t.Context(), legacy); err != nil {
				t.Fatal(err)
			}
			var updated clientJSON
			cli.mustJSON(&updated, "clients", "update", "--name", "Legacy 2", "--json", "--", "-legacy")
			if updated.ClientID != "-legacy" || updated.Name != "Legacy 2" {
				t.Errorf("update of a client registered before the rule: %+v", updated)
			}
		})
	}
}

func TestCLIUsers(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var u userJSON
			cli.mustJSON(&u, "users", "create", "--email", " Ada@Example.com ", "--password", "correct horse battery", "--name", "Ada Lovelace", "--admin", "--json")
			if u.ID == "" || u.Email != "ada@example.com" || !u.Admin || u.Status != "active" {
				t.Errorf("create: %+v", u)
			}
			if _, err := cli.run("users", "create", "--email", "ada@example.com", "--password", "another good one"); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("duplicate email: err = %v", err)
			}
			if _, err := cli.run("users", "create", "--email", "bob@example.com", "--password", "short"); err == nil {
				t.Error("a 5-character password was accepted")
			}
			if _, err := cli.run("users", "create", "--email", "bob@example.com"); err == nil {
				t.Error("users create without --password succeeded")
			}
			cli.must("users", "create", "--email", "bob@example.com", "--password", "another good one")

			// --password-stdin: the first line of standard input, spaces kept, line ending not.
			cli.stdin = strings.NewReader(" stdin pass phrase \r\nignored second line\n")
			cli.must("users", "create", "--email", "carol@example.com", "--password-stdin")
			cli.stdin = strings.NewReader("whatever\n")
			if _, err := cli.run("users", "create", "--email", "dave@example.com", "--password", "another good one", "--password-stdin"); err == nil {
				t.Error("--password together with --password-stdin was accepted")
			}
			cli.stdin = strings.NewReader("\n")
			if _, err := cli.run("users", "create", "--email", "dave@example.com", "--password-stdin"); err == nil {
				t.Error("an empty --password-stdin was accepted")
			}
			cli.stdin = nil
			store, err := sqlstore.Open(t.Context(), cli.env["FACET_DATABASE_URL"], nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			carol, err := store.GetUserByEmail(t.Context(), "carol@example.com")
			if err != nil {
				t.Fatalf("the --password-stdin account: %v", err)
			}
			if ok, err := password.Check(carol.PasswordHash, " stdin pass phrase "); err != nil || !ok {
				t.Errorf("the --password-stdin account's password is not the first input line (ok=%v, err=%v)", ok, err)
			}

			var users []userJSON
			cli.mustJSON(&users, "users", "list", "--json")
			if len(users) != 3 {
				t.Fatalf("list: %+v", users)
			}
			if text := cli.must("users", "list"); !strings.Contains(text, "ada@example.com") || !strings.Contains(text, "bob@example.com") {
				t.Errorf("list text:\n%s", text)
			}
		})
	}
}

// TestCLIUsersCreateRecorded: an account the command line creates has its registration in
// its activity log, coming from the command line rather than from a browser.
func TestCLIUsersCreateRecorded(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var u userJSON
			cli.mustJSON(&u, "users", "create", "--email", "eve@example.com", "--password", "correct horse battery", "--json")
			store, err := sqlstore.Open(t.Context(), cli.env["FACET_DATABASE_URL"], nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			evs, err := store.ListEvents(t.Context(), u.ID, storage.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Category != profile.CategoryRegistration || evs[0].Device != "cli" || evs[0].IP != "" {
				t.Fatalf("events of a CLI-created account: %+v", evs)
			}
		})
	}
}

func TestCLIKeys(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var keys []keyJSON
			cli.mustJSON(&keys, "keys", "list", "--json")
			if len(keys) != 0 {
				t.Fatalf("a fresh database has keys: %+v", keys)
			}

			out := cli.must("keys", "rotate")
			cli.mustJSON(&keys, "keys", "list", "--json")
			if len(keys) != 1 || !keys[0].Active || keys[0].Algorithm != "RS256" || !strings.Contains(out, keys[0].ID) {
				t.Fatalf("after the first rotate: %+v (output %q)", keys, out)
			}
			first := keys[0].ID

			cli.must("keys", "rotate", "--publish-retired-for", "2h")
			cli.mustJSON(&keys, "keys", "list", "--json")
			if len(keys) != 2 {
				t.Fatalf("after the second rotate: %+v", keys)
			}
			active := 0
			for _, k := range keys {
				if k.Active {
					active++
					if k.ID == first {
						t.Error("the first key is still the active one")
					}
					continue
				}
				if k.ID != first || k.PublishUntil == nil || k.RetiredAt == nil {
					t.Errorf("retired key: %+v", k)
				} else if d := k.PublishUntil.Sub(*k.RetiredAt); d < 2*3600e9-60e9 || d > 2*3600e9+60e9 {
					t.Errorf("retired key published for %s, want 2h", d)
				}
			}
			if active != 1 {
				t.Errorf("%d active keys, want 1", active)
			}
			if text := cli.must("keys", "list"); !strings.Contains(text, "retired") || !strings.Contains(text, "active") {
				t.Errorf("list text:\n%s", text)
			}
		})
	}
}

// TestCLISharedSecret: in development mode the generated system secret is stored once, so a
// key rotated by the CLI can be opened by serve (and by every other node).
func TestCLISharedSecret(t *testing.T) {
	b := sqltest.Backends(t)[0]
	cli := newFacetCLI(t, b)
	cli.must("keys", "rotate")
	cfg, err := config.Load("", envOf(cli.env), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Demo = false
	a, err := newApp(t.Context(), cfg, newLogger(cfg, &bytes.Buffer{}))
	if err != nil {
		t.Fatalf("serve after the CLI generated the secret: %v", err)
	}
	defer a.Close()
	stored, err := a.store.GetSetting(t.Context(), systemSecretSetting)
	if err != nil || stored == "" {
		t.Fatalf("stored secret: %q, %v", stored, err)
	}
}

func TestCLIHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"facet", "--help"}, envOf(nil), nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate", "clients", "users", "keys"} {
		if !strings.Contains(stdout.String(), cmd) {
			t.Errorf("help does not list %s:\n%s", cmd, stdout.String())
		}
	}
	if err := run(t.Context(), []string{"facet", "nonsense"}, envOf(nil), nil, &stdout, &stderr); err == nil {
		t.Error("an unknown command succeeded")
	}
}

// TestCLIClientsPKCE: --pkce sets the client's PKCE policy (required by default), a public
// client cannot have it optional, get --json shows "pkce"; --audience is stored and shown.
func TestCLIClientsPKCE(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var got clientJSON
			cli.mustJSON(&got, "clients", "create", "--name", "Web", "--id", "web",
				"--redirect-uri", "https://rp.example.com/cb", "--json")
			if got.PKCE != "required" {
				t.Errorf("default pkce = %q, want required", got.PKCE)
			}
			cli.mustJSON(&got, "clients", "update", "web", "--pkce", "optional", "--audience", "api", "--json")
			if got.PKCE != "optional" || len(got.Audience) != 1 || got.Audience[0] != "api" {
				t.Errorf("update: %+v", got)
			}
			var raw map[string]any
			cli.mustJSON(&raw, "clients", "get", "web", "--json")
			if raw["pkce"] != "optional" {
				t.Errorf("get --json pkce = %v, want optional", raw["pkce"])
			}
			if text := cli.must("clients", "get", "web"); !strings.Contains(text, "optional") || !strings.Contains(text, "api") {
				t.Errorf("get text:\n%s", text)
			}
			_, err := cli.run("clients", "create", "--name", "SPA", "--public", "--pkce", "optional",
				"--redirect-uri", "https://spa.example.com/cb")
			if err == nil || !strings.Contains(err.Error(), "public client always needs PKCE") {
				t.Errorf("--public --pkce optional: err = %v, want the public-client message", err)
			}
			if _, err := cli.run("clients", "update", "web", "--pkce", "maybe"); err == nil {
				t.Error("--pkce maybe was accepted")
			}
			// Becoming public drops the optional policy.
			cli.mustJSON(&got, "clients", "update", "web", "--public", "--json")
			if got.PKCE != "required" {
				t.Errorf("after --public pkce = %q, want required", got.PKCE)
			}
		})
	}
}

// TestCLIClientsRequireMFA: --require-mfa is stored, shown by get --json as "require_mfa",
// and switched off again with --require-mfa=false; update leaves it alone when not given.
func TestCLIClientsRequireMFA(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			var got clientJSON
			cli.mustJSON(&got, "clients", "create", "--name", "Bank", "--id", "bank", "--require-mfa",
				"--redirect-uri", "https://bank.example.com/cb", "--json")
			if !got.RequireMFA {
				t.Fatalf("create --require-mfa: %+v", got)
			}
			cli.mustJSON(&got, "clients", "update", "bank", "--name", "Bank 2", "--json")
			if !got.RequireMFA {
				t.Fatal("update without the flag dropped require_mfa")
			}
			var raw map[string]any
			cli.mustJSON(&raw, "clients", "get", "bank", "--json")
			if raw["require_mfa"] != true {
				t.Errorf("get --json require_mfa = %v", raw["require_mfa"])
			}
			cli.mustJSON(&got, "clients", "update", "bank", "--require-mfa=false", "--json")
			if got.RequireMFA {
				t.Error("--require-mfa=false kept it")
			}
		})
	}
}
