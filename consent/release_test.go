package consent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

var updated = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const issuer = "https://id.example.com"

// sampleValues holds a valid, distinct value for every catalog field.
var sampleValues = map[string]string{
	"given_name": "Alexandra", "family_name": "Timofeeva", "middle_name": "Petrovna",
	"nickname": "Sasha", "preferred_username": "alext", "birthdate": "1990-05-06",
	"gender": "female", "locale": "en-GB", "zoneinfo": "Europe/Berlin",
	"website": "https://alex.example.org", "address": `{"locality":"Berlin","country":"Germany"}`,
	"email": "", "phone_number": "+4915550100", "picture": "/public/images/profile/abcdefgh12345678",
}

const sampleEmail = "alex@example.com"

func defaultCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := NewCatalog(CatalogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleUser() storage.User {
	return storage.User{ID: "u1", Email: sampleEmail, EmailVerified: true}
}

// TestReleaseDecisionTable is the release decision (a claim goes out only when its level, the
// private-profile switch, the request and the grant all allow it), exhaustively for every catalog
// field: level (private, on request, public, unknown, unset = catalog default) × private
// profile off/on × requested through the scope / through the claims parameter / not
// requested × granted / not granted / granted then revoked, for both app targets (userinfo
// and ID token).
func TestReleaseDecisionTable(t *testing.T) {
	cat := defaultCatalog(t)
	type request int
	const (
		viaScope request = iota
		viaClaims
		notRequested
	)
	type grant int
	const (
		granted grant = iota
		notGranted
		revoked
	)
	levels := []string{"private", "on_request", "public", "friends", ""}
	rows := 0
	for _, f := range cat.Fields() {
		key := f.Key
		for _, stored := range levels {
			for _, pp := range []bool{false, true} {
				for _, rq := range []request{viaScope, viaClaims, notRequested} {
					for _, gr := range []grant{granted, notGranted, revoked} {
						for _, target := range []Target{TargetUserinfo, TargetIDToken} {
							rows++
							in := ReleaseInput{
								Target: target, Issuer: issuer, User: sampleUser(), Catalog: cat, PrivateProfile: pp,
								Fields: []storage.ProfileField{{UserID: "u1", Field: key, Value: sampleValues[key], Privacy: stored, UpdatedAt: updated}},
								Scopes: []string{"openid"},
							}
							switch rq {
							case viaScope:
								in.Scopes = append(in.Scopes, f.Scope)
							case viaClaims:
								if target == TargetIDToken {
									in.Claims.IDToken = []string{key}
								} else {
									in.Claims.Userinfo = []string{key}
								}
							}
							switch gr {
							case granted:
								in.Grant = storage.Grant{UserID: "u1", ClientID: "app", Scopes: in.Scopes, Claims: []string{key}}
							case notGranted:
								in.Grant = storage.Grant{UserID: "u1", ClientID: "app", Scopes: in.Scopes, Claims: []string{"nickname_other"}}
							case revoked:
								// The user revoked the app's access: the grant is deleted.
								in.Grant = storage.Grant{}
							}

							// The expectation, written from the rule, not from Release.
							level := stored
							if level == "" {
								level = string(f.DefaultLevel)
							}
							if level == "public" && pp {
								level = "on_request"
							}
							asked := rq == viaClaims || (rq == viaScope && target == TargetUserinfo)
							want := asked && (level == "public" || (level == "on_request" && gr == granted))

							got := Release(in)
							name := fmt.Sprintf("%s level=%q private_profile=%v request=%d grant=%d target=%d", key, stored, pp, rq, gr, target)
							_, has := got[key]
							if has != want {
								t.Errorf("%s: released=%v, want %v (got %v)", name, has, want, got)
								continue
							}
							if got["sub"] != "u1" {
								t.Errorf("%s: sub = %v, want always u1", name, got["sub"])
							}
							if !has {
								for k := range got {
									if k != "sub" && k != "updated_at" {
										t.Errorf("%s: unexpected claim %s", name, k)
									}
								}
								continue
							}
							switch key {
							case "email":
								if got["email"] != sampleEmail || got["email_verified"] != true {
									t.Errorf("%s: email claims = %v", name, got)
								}
							case "phone_number":
								if got["phone_number_verified"] != true {
									t.Errorf("%s: phone_number_verified missing: %v", name, got)
								}
							case "picture":
								if got["picture"] != issuer+sampleValues["picture"] {
									t.Errorf("%s: picture = %v, want an absolute URL", name, got["picture"])
								}
							case "address":
								if diff := cmp.Diff(map[string]any{"locality": "Berlin", "country": "Germany"}, got["address"]); diff != "" {
									t.Errorf("%s: address: %s", name, diff)
								}
							default:
								if got[key] != sampleValues[key] {
									t.Errorf("%s: %s = %v", name, key, got[key])
								}
							}
						}
					}
				}
			}
		}
	}
	if rows != 14*5*2*3*3*2 {
		t.Fatalf("table has %d rows", rows)
	}
}

// TestReleaseTargets covers what each target asks for and the composed claims.
func TestReleaseTargets(t *testing.T) {
	cat := defaultCatalog(t)
	later := updated.Add(time.Hour)
	fields := []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Alex", Privacy: "public", UpdatedAt: updated},
		{UserID: "u1", Field: "family_name", Value: "Timofeeva", Privacy: "on_request", UpdatedAt: later},
		{UserID: "u1", Field: "birthdate", Value: "1990-05-06", Privacy: "private", UpdatedAt: later},
		{UserID: "u1", Field: "email", Privacy: "public", UpdatedAt: updated},
	}
	base := ReleaseInput{Issuer: issuer, User: sampleUser(), Fields: fields, Catalog: cat,
		Grant: storage.Grant{Claims: []string{"family_name", "birthdate"}}, Scopes: []string{"openid", "profile", "email"}}
	cases := []struct {
		name string
		edit func(*ReleaseInput)
		want map[string]any
	}{
		{"userinfo by scopes", func(in *ReleaseInput) { in.Target = TargetUserinfo }, map[string]any{
			"sub": "u1", "given_name": "Alex", "family_name": "Timofeeva", "name": "Alex Timofeeva",
			"email": sampleEmail, "email_verified": true, "updated_at": later.Unix()}},
		{"ID token ignores scopes", func(in *ReleaseInput) { in.Target = TargetIDToken }, map[string]any{"sub": "u1"}},
		{"ID token by claims parameter", func(in *ReleaseInput) {
			in.Target, in.Claims.IDToken = TargetIDToken, []string{"email_verified", "given_name", "birthdate"}
		}, map[string]any{"sub": "u1", "given_name": "Alex", "email": sampleEmail, "email_verified": true}},
		{"userinfo member of the claims parameter", func(in *ReleaseInput) {
			in.Target, in.Scopes, in.Claims.Userinfo = TargetUserinfo, []string{"openid"}, []string{"name"}
		}, map[string]any{"sub": "u1", "name": "Alex Timofeeva"}},
		{"introspection: sub only", func(in *ReleaseInput) { in.Target = TargetIntrospection }, map[string]any{"sub": "u1"}},
		{"public profile: public only", func(in *ReleaseInput) { in.Target = TargetPublicProfile }, map[string]any{
			"sub": "u1", "given_name": "Alex", "name": "Alex", "email": sampleEmail, "email_verified": true, "updated_at": updated.Unix()}},
		{"vCard with private profile: nothing", func(in *ReleaseInput) { in.Target, in.PrivateProfile = TargetVCard, true }, map[string]any{"sub": "u1"}},
		{"zero target: sub only", func(in *ReleaseInput) {}, map[string]any{"sub": "u1"}},
		{"no catalog fails closed for unset levels", func(in *ReleaseInput) {
			in.Target, in.Catalog, in.Fields = TargetUserinfo, nil, []storage.ProfileField{{Field: "given_name", Value: "Alex"}}
			in.Grant.Claims = []string{"given_name"}
		}, map[string]any{"sub": "u1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			c.edit(&in)
			if diff := cmp.Diff(c.want, Release(in)); diff != "" {
				t.Errorf("Release (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReleasePrivateNeverLeaves is the property: for any values, levels, private-profile
// switch, grant, scopes, claims parameter and target, a field whose level is private (or
// unknown) never appears in the output — neither as its claim nor inside another claim
// (name) — and an on-request field never reaches the public profile or vCard.
func TestReleasePrivateNeverLeaves(t *testing.T) {
	cat := defaultCatalog(t)
	keys := slices.Collect(func(yield func(string) bool) {
		for _, f := range cat.Fields() {
			if !yield(f.Key) {
				return
			}
		}
	})
	claimNames := append(slices.Clone(allClaims), "sub", "unknown")
	scopes := []string{"openid", "profile", "email", "phone", "address", "offline_access", "account"}
	levels := []string{"private", "on_request", "public", "", "friends", "PUBLIC"}
	targets := []Target{0, TargetUserinfo, TargetIDToken, TargetIntrospection, TargetPublicProfile, TargetVCard}
	rng := rand.New(rand.NewPCG(4, 2))
	subset := func(all []string) []string {
		var out []string
		for _, v := range all {
			if rng.IntN(2) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	const iterations = 20000
	for i := range iterations {
		user := storage.User{ID: "u1", Email: fmt.Sprintf("secret-email-%d@example.com", i), EmailVerified: rng.IntN(2) == 0}
		in := ReleaseInput{
			Target: targets[rng.IntN(len(targets))], Issuer: issuer, User: user, Catalog: cat,
			PrivateProfile: rng.IntN(2) == 0,
			Grant:          storage.Grant{Claims: subset(keys)},
			Scopes:         subset(scopes),
			Claims:         ClaimsRequest{Userinfo: subset(claimNames), IDToken: subset(claimNames)},
		}
		private := map[string]string{}
		onRequest := map[string]string{}
		for _, k := range subset(keys) {
			v := fmt.Sprintf("value-%s-%d", k, i)
			if k == "address" {
				v = fmt.Sprintf(`{"locality":"value-address-%d"}`, i)
			}
			lv := levels[rng.IntN(len(levels))]
			in.Fields = append(in.Fields, storage.ProfileField{UserID: "u1", Field: k, Value: v, Privacy: lv, UpdatedAt: updated})
			secret := v
			if k == "email" {
				secret = user.Email
			}
			if k == "address" {
				secret = fmt.Sprintf("value-address-%d", i)
			}
			switch FieldLevel(cat, k, lv) {
			case LevelPrivate:
				private[k] = secret
			case LevelOnRequest:
				onRequest[k] = secret
			case LevelPublic:
				if in.PrivateProfile {
					onRequest[k] = secret
				}
			}
		}
		// A user without an email row has the catalog default for it.
		if !slices.ContainsFunc(in.Fields, func(f storage.ProfileField) bool { return f.Field == "email" }) {
			onRequest["email"] = user.Email
		}
		out := Release(in)
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for k, secret := range private {
			if _, ok := out[k]; ok || strings.Contains(text, secret) {
				t.Fatalf("iteration %d: private field %s released to target %d: %s\ninput: %+v", i, k, in.Target, text, in)
			}
		}
		if in.Target == TargetPublicProfile || in.Target == TargetVCard || in.Target == TargetIntrospection {
			for k, secret := range onRequest {
				if _, ok := out[k]; ok || strings.Contains(text, secret) {
					t.Fatalf("iteration %d: on-request field %s on target %d: %s", i, k, in.Target, text)
				}
			}
		}
	}
}

func TestLevels(t *testing.T) {
	cat := defaultCatalog(t)
	for _, c := range []struct {
		key, stored string
		want        Level
	}{
		{"given_name", "public", LevelPublic},
		{"given_name", "", LevelOnRequest}, // catalog default
		{"birthdate", "", LevelPrivate},
		{"given_name", "Public", LevelPrivate}, // unknown: fails closed
		{"not_a_field", "", LevelPrivate},
	} {
		if got := FieldLevel(cat, c.key, c.stored); got != c.want {
			t.Errorf("FieldLevel(%s, %q) = %s, want %s", c.key, c.stored, got, c.want)
		}
	}
	if FieldLevel(nil, "given_name", "") != LevelPrivate {
		t.Error("no catalog: want private")
	}
	for _, c := range []struct {
		in   Level
		pp   bool
		want Level
	}{
		{LevelPublic, false, LevelPublic}, {LevelPublic, true, LevelOnRequest},
		{LevelOnRequest, true, LevelOnRequest}, {LevelPrivate, true, LevelPrivate},
		{"x", false, LevelPrivate}, {"", false, LevelPrivate},
	} {
		if got := Effective(c.in, c.pp); got != c.want {
			t.Errorf("Effective(%q, %v) = %q, want %q", c.in, c.pp, got, c.want)
		}
	}
}

func TestParseClaimsRequest(t *testing.T) {
	cr, err := ParseClaimsRequest(`{"userinfo":{"given_name":{"essential":true},"nickname":null,"x-custom":null},
		"id_token":{"email":{"essential":true},"auth_time":{"essential":true},"acr":{"values":["a"]}}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := ClaimsRequest{Userinfo: []string{"given_name", "nickname"}, IDToken: []string{"email"}}
	if diff := cmp.Diff(want, cr); diff != "" {
		t.Error(diff)
	}
	back, err := ParseClaimsRequest(cr.String())
	if err != nil || !cmp.Equal(back, cr) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if cr, err := ParseClaimsRequest(""); err != nil || cr.String() != "" {
		t.Errorf("empty: %+v %v", cr, err)
	}
	for _, bad := range []string{`[]`, `{"userinfo":[]}`, `{"userinfo":{"email":true}}`, `nope`, strings.Repeat(" ", 5000)} {
		if _, err := ParseClaimsRequest(bad); err == nil {
			t.Errorf("ParseClaimsRequest(%.20q): no error", bad)
		}
	}
}

func FuzzParseClaimsRequest(f *testing.F) {
	f.Add(`{"userinfo":{"email":null},"id_token":{"given_name":{"essential":true}}}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, raw string) {
		cr, err := ParseClaimsRequest(raw)
		if err != nil {
			return
		}
		for _, c := range slices.Concat(cr.Userinfo, cr.IDToken) {
			if _, ok := claimIndex[c]; !ok {
				t.Fatalf("unknown claim %q kept", c)
			}
		}
		if _, err := ParseClaimsRequest(cr.String()); err != nil {
			t.Fatalf("String does not parse back: %v", err)
		}
	})
}
