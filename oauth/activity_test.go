package oauth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConsentActivity(t *testing.T) {
	got := consentActivity("app", false, []string{"openid", "profile"}, []string{"given_name"},
		[]string{"family_name", "birthdate", "email"}, []string{"email", "family_name"})
	want := AppActivity{Kind: ActivityConsentGiven, ClientID: "app", Details: map[string]string{
		DetailScopes: "openid,profile", DetailClaims: "email,family_name", DetailDeclined: "birthdate", DetailPublic: "given_name",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("first consent (-want +got):\n%s", d)
	}
	got = consentActivity("app", true, []string{"openid"}, nil, []string{"email"}, []string{"email"})
	want = AppActivity{Kind: ActivityConsentChanged, ClientID: "app", Details: map[string]string{DetailScopes: "openid", DetailClaims: "email"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("consent again (-want +got):\n%s", d)
	}
}
