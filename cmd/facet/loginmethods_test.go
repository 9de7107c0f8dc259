package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestCLILoginMethods: create with a preset prints the id and the callback URL; list, get
// and update keep the --json shape; the secret is read from stdin, stored encrypted and
// never printed; delete removes the method.
func TestCLILoginMethods(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cli := newFacetCLI(t, b)
			cli.env["FACET_SECRET"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
			cli.env["FACET_ISSUER"] = "https://id.example.com"
			cli.env["FACET_MODE"] = "production"
			cli.stdin = strings.NewReader("gh-client-secret\n")
			var m loginMethodJSON
			cli.mustJSON(&m, "login-methods", "create", "--preset", "github", "--client-id", "Iv1.abc",
				"--client-secret-stdin", "--public", "--login-page", "--json")
			if m.ID == "" || m.CallbackURL != "https://id.example.com/login/methods/"+m.ID+"/callback" {
				t.Fatalf("create --json = %+v", m)
			}
			if m.Name != "GitHub" || m.Type != "oauth2" || m.TokenURL != "https://github.com/login/oauth/access_token" ||
				m.ClaimMap["sub"] != "id" || !m.Public || !m.LoginPage {
				t.Errorf("the github preset was not applied: %+v", m)
			}
			var got loginMethodJSON
			cli.mustJSON(&got, "login-methods", "get", m.ID, "--json")
			if got.ID != m.ID || got.ClientID != "Iv1.abc" {
				t.Errorf("get --json = %+v", got)
			}
			out := cli.must("login-methods", "list")
			if !strings.Contains(out, m.ID) || strings.Contains(out, "gh-client-secret") {
				t.Errorf("list = %q", out)
			}
			cli.mustJSON(&got, "login-methods", "update", m.ID, "--name", "GitHub.com", "--map", "email_verified=verified", "--json")
			if got.Name != "GitHub.com" || got.ClaimMap["sub"] != "id" || got.ClaimMap["email_verified"] != "verified" || !got.Public {
				t.Errorf("update changed more than its flags: %+v", got)
			}
			// The secret is stored sealed.
			store, err := sqlstore.Open(t.Context(), cli.env["FACET_DATABASE_URL"], nil)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := store.GetLoginMethod(t.Context(), m.ID)
			store.Close()
			if err != nil || len(stored.ClientSecret) == 0 || bytes.Contains(stored.ClientSecret, []byte("gh-client-secret")) {
				t.Errorf("stored secret = %q, %v; want it sealed", stored.ClientSecret, err)
			}
			// Refusals a person can act on.
			cli.stdin = strings.NewReader("s\n")
			if _, err := cli.run("login-methods", "create", "--type", "oauth2", "--name", "X", "--client-id", "x", "--client-secret-stdin"); err == nil {
				t.Error("an oauth2 method without URLs was created")
			}
			if _, err := cli.run("login-methods", "create", "--preset", "github", "--client-id", "x"); err == nil {
				t.Error("a method without a secret was created")
			}
			cli.stdin = strings.NewReader("s\n")
			if _, err := cli.run("login-methods", "create", "--preset", "microsoft", "--client-id", "x", "--client-secret-stdin"); err == nil {
				t.Error("the microsoft preset without a tenant issuer was accepted")
			}
			cli.must("login-methods", "delete", m.ID)
			if _, err := cli.run("login-methods", "get", m.ID); err == nil {
				t.Error("get after delete succeeded")
			}
		})
	}
}
