package federation

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

// TestMapProfile: our fields come out of the claims by the claim map; a dotted member
// reaches into objects; numbers become decimal text; email_verified is true only for true.
func TestMapProfile(t *testing.T) {
	decode := func(s string) map[string]any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name, claims string
		claimMap     map[string]string
		typ          string
		want         Profile
	}{
		{"github", `{"id": 4001, "name": "Octo Cat", "email": "Octo@Example.com", "avatar_url": "https://a/x.png"}`,
			Presets["github"].ClaimMap, storage.MethodOAuth2,
			Profile{Subject: "4001", Email: "octo@example.com", Name: "Octo Cat", Picture: "https://a/x.png"}},
		{"vk nested", `{"user": {"user_id": "77", "first_name": "Ivan", "email": "i@vk.example"}}`,
			Presets["vkid"].ClaimMap, storage.MethodOAuth2,
			Profile{Subject: "77", Email: "i@vk.example", GivenName: "Ivan"}},
		{"oidc defaults", `{"sub": "s1", "email": "a@b.example", "email_verified": true, "given_name": "A"}`,
			nil, storage.MethodOIDC, Profile{Subject: "s1", Email: "a@b.example", EmailVerified: true, GivenName: "A"}},
		{"verified as a string", `{"sub": "s1", "email_verified": "false"}`, nil, storage.MethodOIDC, Profile{Subject: "s1"}},
		{"oauth2 maps nothing it is not told", `{"sub": "s1", "email": "a@b.example"}`,
			map[string]string{"sub": "sub"}, storage.MethodOAuth2, Profile{Subject: "s1"}},
		{"wrong types are empty", `{"id": {"x": 1}, "email": 5}`, Presets["github"].ClaimMap, storage.MethodOAuth2,
			Profile{Email: "5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, mapProfile(decode(c.claims), c.claimMap, c.typ)); d != "" {
				t.Errorf("mapProfile (-want +got):\n%s", d)
			}
		})
	}
}

// TestValidate: each type needs its own endpoints; map keys are our fields.
func TestValidate(t *testing.T) {
	ok := func(s Spec) Spec { s.Name, s.ClientID = "X", "id"; return s }
	for _, c := range []struct {
		name string
		spec Spec
		bad  string
	}{
		{"oidc", ok(Spec{Type: storage.MethodOIDC, Issuer: "https://id.example"}), ""},
		{"oidc without issuer", ok(Spec{Type: storage.MethodOIDC}), "needs --issuer"},
		{"oidc with urls", ok(Spec{Type: storage.MethodOIDC, Issuer: "https://id.example", TokenURL: "https://t"}), "discovery"},
		{"oauth2 without userinfo", ok(Spec{Type: storage.MethodOAuth2, AuthURL: "https://a", TokenURL: "https://t",
			ClaimMap: map[string]string{"sub": "id"}}), "userinfo url"},
		{"oauth2 without sub", ok(Spec{Type: storage.MethodOAuth2, AuthURL: "https://a", TokenURL: "https://t", UserinfoURL: "https://u"}), "sub=MEMBER"},
		{"unknown field", ok(Spec{Type: storage.MethodOIDC, Issuer: "https://id.example", ClaimMap: map[string]string{"shoe": "x"}}), "unknown field"},
		{"javascript icon", ok(Spec{Type: storage.MethodOIDC, Issuer: "https://id.example", IconURL: "javascript:alert(1)"}), "icon url"},
		{"type", ok(Spec{Type: "saml"}), "oidc or oauth2"},
		{"no name", Spec{Type: storage.MethodOIDC, Issuer: "https://id.example", ClientID: "x"}, "name is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.spec)
			switch {
			case c.bad == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
				t.Errorf("Validate = %v, want an error about %q", err, c.bad)
			}
		})
	}
}

// TestSealSecret: a sealed secret opens with the system secret and its own method id only.
func TestSealSecret(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	sealed, err := sealSecret(secret, "m1", "client secret")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("client secret")) {
		t.Fatal("sealed secret holds the clear text")
	}
	if got, err := openSecret(secret, "m1", sealed); err != nil || got != "client secret" {
		t.Errorf("openSecret = %q, %v", got, err)
	}
	if _, err := openSecret(secret, "m2", sealed); err == nil {
		t.Error("a secret sealed for m1 opened as m2's")
	}
	if _, err := openSecret(bytes.Repeat([]byte{8}, 32), "m1", sealed); err == nil {
		t.Error("a secret opened with another system secret")
	}
}

// TestParseClaimMap reads FIELD=MEMBER pairs, comma-separated or repeated.
func TestParseClaimMap(t *testing.T) {
	m, err := ParseClaimMap([]string{"sub=id, email=email", "picture=avatar_url"})
	if err != nil || len(m) != 3 || m["sub"] != "id" || m["picture"] != "avatar_url" {
		t.Errorf("ParseClaimMap = %v, %v", m, err)
	}
	if _, err := ParseClaimMap([]string{"sub"}); err == nil {
		t.Error("a pair without = was accepted")
	}
}
