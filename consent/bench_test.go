package consent

import (
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// BenchmarkRelease is the decision for userinfo over a full profile (every catalog field,
// public) with every claim scope.
func BenchmarkRelease(b *testing.B) {
	cat := defaultCatalog(b)
	in := ReleaseInput{Target: TargetUserinfo, Issuer: issuer, User: sampleUser(), Catalog: cat,
		Scopes: []string{"openid", "profile", "email", "phone", "address"}}
	for k, v := range sampleValues {
		in.Fields = append(in.Fields, storage.ProfileField{UserID: "u1", Field: k, Value: v, Privacy: "public", UpdatedAt: updated})
	}
	b.ReportAllocs()
	for b.Loop() {
		Release(in)
	}
}

// BenchmarkDisclosureRecordHit is the disclosure record's cost on the userinfo hot path once
// the hour's line is written: the key, a mutex and a map lookup.
func BenchmarkDisclosureRecordHit(b *testing.B) {
	f := &fakePrivacy{}
	now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	d := &disclosureLog{store: f, now: func() time.Time { return now }, logger: discard()}
	claims := []string{"sub", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
		"picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at", "email", "email_verified",
		"phone_number", "phone_number_verified", "address"}
	b.ReportAllocs()
	for b.Loop() {
		d.record(b.Context(), "2f1c7a8e-1b2c-4d5e-8f90-123456789abc", "L7w2Eq0XLGA0N3zQKx2T1w", claims)
	}
	if f.calls != 1 {
		b.Fatalf("calls = %d", f.calls)
	}
}

// BenchmarkDecide is the consent decision of the authorization endpoint over a full profile
// (every catalog field, on request) with every claim scope and a grant covering it: the
// decision every sign-in of a returning user makes.
func BenchmarkDecide(b *testing.B) {
	cat := defaultCatalog(b)
	scopes := []string{"openid", "profile", "email", "phone", "address"}
	in := PromptInput{User: sampleUser(), Catalog: cat, Request: Request{Scopes: scopes},
		Grant: storage.Grant{Scopes: scopes}}
	for k, v := range sampleValues {
		in.Fields = append(in.Fields, storage.ProfileField{UserID: "u1", Field: k, Value: v, Privacy: "on_request", UpdatedAt: updated})
		in.Grant.Claims = append(in.Grant.Claims, k)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !Decide(in).Covered() {
			b.Fatal("not covered")
		}
	}
}
