package consent

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/facetid/facet/storage"
)

// TestPageListsEveryReleasedClaim: whatever the request, the levels, the earlier decisions
// and the boxes the user leaves ticked, every claim the app then receives (userinfo and ID
// token, by Release) is listed on the consent page as shared — derived claims (name,
// updated_at, the verified flags) and sub included — and no private field is.
func TestPageListsEveryReleasedClaim(t *testing.T) {
	cat := defaultCatalog(t)
	var keys []string
	for _, f := range cat.Fields() {
		keys = append(keys, f.Key)
	}
	claimNames := append(slices.Clone(allClaims), "sub")
	scopes := []string{"openid", "profile", "email", "phone", "address", "offline_access", "account"}
	levels := []string{"private", "on_request", "public", ""}
	rng := rand.New(rand.NewPCG(7, 11))
	subset := func(all []string) []string {
		var out []string
		for _, v := range all {
			if rng.IntN(2) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	derivedSeen := map[string]bool{}
	for i := range 5000 {
		user := storage.User{ID: "u1", Email: fmt.Sprintf("user-%d@example.com", i), EmailVerified: rng.IntN(2) == 0}
		in := PromptInput{User: user, Catalog: cat, PrivateProfile: rng.IntN(4) == 0,
			Grant: storage.Grant{Scopes: subset(scopes), Claims: subset(keys)},
			Request: Request{Scopes: subset(scopes), Claims: ClaimsRequest{Userinfo: subset(claimNames), IDToken: subset(claimNames)},
				Ask: rng.IntN(2) == 0},
		}
		in.Declined = slices.DeleteFunc(subset(keys), func(k string) bool { return slices.Contains(in.Grant.Claims, k) })
		for _, k := range subset(keys) {
			in.Fields = append(in.Fields, storage.ProfileField{UserID: "u1", Field: k, Value: sampleValues[k] + "x",
				Privacy: levels[rng.IntN(len(levels))], UpdatedAt: updated})
		}
		pr := Decide(in)
		if pr.Covered() && !in.Request.Ask {
			continue // no page: the grant covers the request
		}
		page := NewPage(storage.Client{ID: "app"}, pr, in.Request.Scopes)
		shown := page.Claims()
		for _, c := range page.Private {
			if slices.Contains(shown, c.Claim) {
				t.Fatalf("iteration %d: %s is listed both as shared and as kept private", i, c.Claim)
			}
		}
		// The user submits the page with some boxes ticked.
		d := pr.Answer(subset(pr.OnRequest))
		grant := in.Grant
		grant.Claims = union(slices.DeleteFunc(slices.Clone(grant.Claims), func(c string) bool { return slices.Contains(d.Declined, c) }), d.Allowed)
		for _, target := range []Target{TargetUserinfo, TargetIDToken} {
			out := Release(ReleaseInput{Target: target, Issuer: issuer, User: user, Fields: in.Fields, Catalog: cat,
				PrivateProfile: in.PrivateProfile, Grant: grant, Scopes: in.Request.Scopes, Claims: in.Request.Claims})
			for claim := range out {
				if !slices.Contains(shown, claim) {
					t.Fatalf("iteration %d: target %d receives %q, which the consent page does not list (page lists %v)\ninput: %+v",
						i, target, claim, shown, in)
				}
				if _, ok := DerivedLabel(claim); ok {
					derivedSeen[claim] = true
				}
			}
		}
	}
	// The random inputs did reach every derived claim.
	for c := range derivedLabel {
		if !derivedSeen[c] {
			t.Errorf("no iteration released %s", c)
		}
	}
}

// TestPageDecisions: a claim declined before starts unticked and is not marked new; a claim
// never decided starts ticked and marked new; one allowed before starts ticked.
func TestPageDecisions(t *testing.T) {
	pr := Prompt{OnRequest: []string{"given_name", "family_name", "email"}, Pending: []string{"email"},
		Declined: []string{"family_name"}, Released: []string{"sub", "name", "given_name", "email", "email_verified", "updated_at"}}
	p := NewPage(storage.Client{ID: "app", Name: "App"}, pr, []string{"openid", "profile", "email"})
	want := []PageClaim{
		{Claim: "given_name", Label: "field.given_name", Checked: true},
		{Claim: "family_name", Label: "field.family_name"},
		{Claim: "email", Label: "field.email", New: true, Checked: true},
	}
	if !slices.Equal(p.OnRequest, want) {
		t.Errorf("OnRequest = %+v, want %+v", p.OnRequest, want)
	}
	wantDerived := []PageClaim{{Claim: "name", Label: "claim.name"}, {Claim: "email_verified", Label: "claim.email_verified"},
		{Claim: "updated_at", Label: "claim.updated_at"}}
	if !slices.Equal(p.Derived, wantDerived) {
		t.Errorf("Derived = %+v, want %+v", p.Derived, wantDerived)
	}
	if len(p.Scopes) != 1 || p.Scopes[0].Name != "openid" || !slices.Equal(p.Scopes[0].Claims, []string{"sub"}) {
		t.Errorf("Scopes = %+v, want openid carrying sub", p.Scopes)
	}
	// Without openid, sub is listed among the derived claims.
	if p := NewPage(storage.Client{ID: "app"}, Prompt{Released: []string{"sub"}}, []string{"account"}); len(p.Derived) != 1 || p.Derived[0].Claim != "sub" {
		t.Errorf("without openid: Derived = %+v, want sub", p.Derived)
	}
}
