package registration

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestValidateRegisteredURI(t *testing.T) {
	for _, c := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:3000/cb", true},
		{"http://app.example/cb", false},
		{"https://app.example/cb#frag", false},
		{"https://*.example/cb", false},
		{"https://app.example/*", false},
		{"/relative", false},
		{"com.example.app:/cb", false},
		{"https://user:pw@app.example/cb", false},
		{"javascript:alert(1)", false},
	} {
		if err := validateRegisteredURI(c.uri); (err == nil) != c.ok {
			t.Errorf("validateRegisteredURI(%q) = %v, want ok=%v", c.uri, err, c.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Spec{Name: "App", RedirectURIs: []string{"https://app.example/cb"}}
	if err := Validate(good); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []Spec{
		{Name: "App", RedirectURIs: []string{"https://app.example/cb"}, PKCE: "optional", Audience: []string{"api", "https://api.example/"}},
		{Name: "App", Public: true, RedirectURIs: []string{"https://app.example/cb"}, PKCE: "required"},
	} {
		if err := Validate(spec); err != nil {
			t.Errorf("Validate(%+v): %v", spec, err)
		}
	}
	for _, uri := range []string{"https://app.example/bcl", "http://127.0.0.1:8080/bcl", "http://localhost/bcl"} {
		spec := good
		spec.BackchannelLogoutURI, spec.BackchannelLogoutSessionRequired = uri, true
		if err := Validate(spec); err != nil {
			t.Errorf("back-channel logout URI %q: %v", uri, err)
		}
	}
	for name, spec := range map[string]Spec{
		"no name":                   {RedirectURIs: []string{"https://app.example/cb"}},
		"no redirect":               {Name: "App"},
		"http redirect":             {Name: "App", RedirectURIs: []string{"http://app.example/cb"}},
		"none for confidential":     {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, TokenEndpointAuthMethod: "none"},
		"secret for public":         {Name: "App", Public: true, RedirectURIs: []string{"https://app.example/cb"}, TokenEndpointAuthMethod: "client_secret_basic"},
		"implicit":                  {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"implicit"}},
		"password":                  {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"password"}},
		"public client credentials": {Name: "App", Public: true, GrantTypes: []string{"client_credentials"}},
		"bad post-logout":           {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/#x"}},
		"bad scope":                 {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{`a"b`}},
		"bad id":                    {ID: "a b", Name: "App", RedirectURIs: []string{"https://app.example/cb"}},
		"http back-channel":         {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, BackchannelLogoutURI: "http://app.example/bcl"},
		"back-channel fragment":     {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, BackchannelLogoutURI: "https://app.example/bcl#x"},
		"session without URI":       {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, BackchannelLogoutSessionRequired: true},
		"public pkce optional":      {Name: "App", Public: true, RedirectURIs: []string{"https://app.example/cb"}, PKCE: "optional"},
		"unknown pkce policy":       {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, PKCE: "sometimes"},
		"bad audience":              {Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Audience: []string{"a b"}},
	} {
		if err := Validate(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestNewIDStartsWithLetterOrDigit: a generated client id never begins with "-" (it would read
// as a flag: `facet clients update -Ch…`) or "_". Without the check, 1 id in 32 does.
func TestNewIDStartsWithLetterOrDigit(t *testing.T) {
	seen := map[string]bool{}
	for range 5000 {
		id := newID()
		if id[0] == '-' || id[0] == '_' || len(id) != 22 {
			t.Fatalf("newID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("newID() repeated %q", id)
		}
		seen[id] = true
	}
}

// TestValidateNewID: a chosen id follows the rule generated ids follow; updates keep
// checking only the character set, so older ids stay usable.
func TestValidateNewID(t *testing.T) {
	for id, ok := range map[string]bool{
		"spa": true, "9app": true, "d-ash_1.x~": true, strings.Repeat("a", 64): true,
		"-dash": false, "_under": false, ".dot": false, "~tilde": false, "": false,
		"sp a": false, strings.Repeat("a", 65): false,
	} {
		if err := ValidateNewID(id); (err == nil) != ok {
			t.Errorf("ValidateNewID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
	spec := Spec{ID: "-legacy", Name: "Legacy", RedirectURIs: []string{"https://app.example/cb"}}
	if err := Validate(spec); err != nil {
		t.Errorf("Validate of an existing id starting with '-': %v", err)
	}
}

// TestNewSecret: a client secret carries 256 random bits.
func TestNewSecret(t *testing.T) {
	secret := newSecret()
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) < 32 {
		t.Fatalf("secret %q has fewer than 256 bits", secret)
	}
	if newSecret() == secret {
		t.Fatal("two secrets are equal")
	}
}
