package consent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

func TestRelease(t *testing.T) {
	updated := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	user := storage.User{ID: "u1", Email: "alex@example.com", EmailVerified: true}
	field := func(name, value, level string) storage.ProfileField {
		return storage.ProfileField{UserID: "u1", Field: name, Value: value, Privacy: level, UpdatedAt: updated}
	}
	grantOf := func(claims ...string) storage.Grant {
		return storage.Grant{UserID: "u1", ClientID: "app", Claims: claims}
	}
	cases := []struct {
		name   string
		fields []storage.ProfileField
		grant  storage.Grant
		scopes []string
		want   map[string]any
	}{
		{"sub only with openid", nil, grantOf(), []string{"openid"}, map[string]any{"sub": "u1"}},
		{"email needs consent by default", nil, grantOf(), []string{"openid", "email"}, map[string]any{"sub": "u1"}},
		{"email with consent", nil, grantOf("email", "email_verified"), []string{"openid", "email"},
			map[string]any{"sub": "u1", "email": "alex@example.com", "email_verified": true}},
		{"email private even with consent", []storage.ProfileField{field("email", "", LevelPrivate)}, grantOf("email"), []string{"email"},
			map[string]any{"sub": "u1"}},
		{"public field without consent", []storage.ProfileField{field("given_name", "Alex", LevelPublic)}, grantOf(), []string{"profile"},
			map[string]any{"sub": "u1", "given_name": "Alex", "updated_at": updated.Unix()}},
		{"public field without the scope", []storage.ProfileField{field("given_name", "Alex", LevelPublic)}, grantOf(), []string{"openid"},
			map[string]any{"sub": "u1"}},
		{"on_request without consent", []storage.ProfileField{field("family_name", "T", LevelOnRequest)}, grantOf(), []string{"profile"},
			map[string]any{"sub": "u1"}},
		{"on_request with consent", []storage.ProfileField{field("family_name", "T", LevelOnRequest)}, grantOf("family_name"), []string{"profile"},
			map[string]any{"sub": "u1", "family_name": "T", "updated_at": updated.Unix()}},
		{"private never", []storage.ProfileField{field("birthdate", "1990-01-01", LevelPrivate)}, grantOf("birthdate"), []string{"profile"},
			map[string]any{"sub": "u1"}},
		{"unknown level fails closed", []storage.ProfileField{field("nickname", "A", "friends")}, grantOf("nickname"), []string{"profile"},
			map[string]any{"sub": "u1"}},
		{"empty level fails closed", []storage.ProfileField{field("nickname", "A", "")}, grantOf("nickname"), []string{"profile"},
			map[string]any{"sub": "u1"}},
		{"phone", []storage.ProfileField{field("phone_number", "+15550100", LevelPublic), field("phone_number_verified", "true", LevelPublic)}, grantOf(), []string{"phone"},
			map[string]any{"sub": "u1", "phone_number": "+15550100", "phone_number_verified": true}},
		{"address formatted", []storage.ProfileField{field("address", "1 Main St", LevelOnRequest)}, grantOf("address"), []string{"address"},
			map[string]any{"sub": "u1", "address": map[string]any{"formatted": "1 Main St"}}},
		{"address object", []storage.ProfileField{field("address", `{"locality":"Berlin"}`, LevelPublic)}, grantOf(), []string{"address"},
			map[string]any{"sub": "u1", "address": map[string]any{"locality": "Berlin"}}},
		{"non-claim field ignored", []storage.ProfileField{field("secret_note", "x", LevelPublic)}, grantOf(), []string{"profile"},
			map[string]any{"sub": "u1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Release(ReleaseInput{User: user, Fields: c.fields, Grant: c.grant, Scopes: c.scopes})
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Release (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsForScopes(t *testing.T) {
	got := ClaimsForScopes([]string{"openid", "email", "phone"})
	want := []string{"email", "email_verified", "phone_number", "phone_number_verified"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}
