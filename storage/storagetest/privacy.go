package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

// testPrivacy: field levels set alone (value kept), the private-profile switch (off by default, per user, unknown user is
// ErrNotFound) and the disclosure record (one line per user, client and claim set; the
// earliest first_at, the latest last_at, counts added; claim order does not matter; all of it
// inside a transaction too).
func testPrivacy(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")

	on, err := s.GetPrivateProfile(ctx, "u1")
	must(t, err)
	if on {
		t.Fatal("private profile of a new user is on")
	}
	must(t, s.SetPrivateProfile(ctx, "u1", true, base))
	for id, want := range map[string]bool{"u1": true, "u2": false} {
		on, err := s.GetPrivateProfile(ctx, id)
		must(t, err)
		if on != want {
			t.Errorf("GetPrivateProfile(%s) = %v, want %v", id, on, want)
		}
	}
	must(t, s.SetPrivateProfile(ctx, "u1", false, base.Add(time.Minute)))
	if on, _ := s.GetPrivateProfile(ctx, "u1"); on {
		t.Error("private profile still on after switching it off")
	}
	wantErr(t, s.SetPrivateProfile(ctx, "nobody", true, base), storage.ErrNotFound, "SetPrivateProfile unknown user")

	// Field levels: only the privacy column changes; a field without a row gets one.
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "", UpdatedAt: base}}))
	must(t, s.SetFieldPrivacy(ctx, "u1", "given_name", "public", base.Add(time.Hour)))
	must(t, s.SetFieldPrivacy(ctx, "u1", "email", "private", base.Add(time.Hour)))
	fields, err := s.GetProfileFields(ctx, "u1")
	must(t, err)
	diff(t, "GetProfileFields after SetFieldPrivacy", []storage.ProfileField{
		{UserID: "u1", Field: "email", Value: "", Privacy: "private", UpdatedAt: at(time.Hour)},
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: at(0)},
	}, fields)
	wantErr(t, s.SetFieldPrivacy(ctx, "nobody", "email", "public", base), storage.ErrNotFound, "SetFieldPrivacy unknown user")

	list, err := s.ListDisclosures(ctx, "u1")
	must(t, err)
	if list != nil {
		t.Fatalf("ListDisclosures of a new user = %v, want nil", list)
	}
	must(t, s.RecordDisclosures(ctx, nil))
	must(t, s.RecordDisclosures(ctx, []storage.Disclosure{
		{UserID: "u1", ClientID: "app", Claims: []string{"sub", "email"}, FirstAt: base, LastAt: base},
		{UserID: "u1", ClientID: "app", Claims: []string{"sub"}, FirstAt: base, LastAt: base},
		{UserID: "u1", ClientID: "other", Claims: []string{"sub"}, FirstAt: base.Add(time.Minute)},
		{UserID: "u2", ClientID: "app", Claims: []string{"sub"}, FirstAt: base},
	}))
	// The same set in another order, later and earlier: one line.
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		return s.RecordDisclosures(ctx, []storage.Disclosure{
			{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub"}, FirstAt: base.Add(2 * time.Hour), LastAt: base.Add(2 * time.Hour), Count: 3},
			{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub", "sub"}, FirstAt: base.Add(-time.Hour), LastAt: base.Add(-time.Hour)},
		})
	}))
	list, err = s.ListDisclosures(ctx, "u1")
	must(t, err)
	diff(t, "ListDisclosures", []storage.Disclosure{
		{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub"}, FirstAt: at(-time.Hour), LastAt: at(2 * time.Hour), Count: 5},
		{UserID: "u1", ClientID: "other", Claims: []string{"sub"}, FirstAt: at(time.Minute), LastAt: at(time.Minute), Count: 1},
		{UserID: "u1", ClientID: "app", Claims: []string{"sub"}, FirstAt: at(0), LastAt: at(0), Count: 1},
	}, list)
	for _, d := range list {
		if d.LastAt.Location() != time.UTC {
			t.Errorf("LastAt location = %v, want UTC", d.LastAt.Location())
		}
	}
	list, err = s.ListDisclosures(ctx, "u2")
	must(t, err)
	if len(list) != 1 || list[0].ClientID != "app" {
		t.Errorf("ListDisclosures(u2) = %+v, want its own line only", list)
	}
}

// testReleaseData: GetReleaseData returns exactly what GetUser, GetProfileFields,
// GetPrivateProfile and GetGrant return (zero grant when none or clientID ""), from current
// data; ErrNotFound for an unknown user.
func testReleaseData(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.CreateClient(ctx, newClient("app")))
	must(t, s.CreateClient(ctx, newClient("other")))
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: base},
		{UserID: "u1", Field: "birthdate", Value: "1990-01-02", Privacy: "", UpdatedAt: base.Add(time.Hour)},
		{UserID: "u2", Field: "given_name", Value: "Bob", Privacy: "public", UpdatedAt: base},
	}))
	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", Scopes: []string{"openid", "profile"},
		Claims: []string{"given_name"}, CreatedAt: base, UpdatedAt: base.Add(time.Minute)}))
	must(t, s.SetPrivateProfile(ctx, "u1", true, base))

	check := func(userID, clientID string) {
		t.Helper()
		got, err := s.GetReleaseData(ctx, userID, clientID)
		must(t, err)
		var want storage.ReleaseData
		want.User, err = s.GetUser(ctx, userID)
		must(t, err)
		want.Fields, err = s.GetProfileFields(ctx, userID)
		must(t, err)
		want.PrivateProfile, err = s.GetPrivateProfile(ctx, userID)
		must(t, err)
		if clientID != "" {
			if want.Grant, err = s.GetGrant(ctx, userID, clientID); errors.Is(err, storage.ErrNotFound) {
				want.Grant = storage.Grant{}
			} else {
				must(t, err)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetReleaseData(%s, %q) (-want +got):\n%s", userID, clientID, diff)
		}
	}
	check("u1", "app")
	check("u1", "other") // no grant
	check("u1", "")
	check("u2", "app") // no fields of u1, no grant, switch off
	createUser(t, s, "u3")
	check("u3", "app") // no fields at all
	if d, _ := s.GetReleaseData(ctx, "u1", "app"); len(d.Fields) != 2 || !d.PrivateProfile || d.Grant.ClientID != "app" {
		t.Errorf("GetReleaseData(u1, app) = %+v", d)
	}
	// Current data: a change shows at once.
	must(t, s.SetPrivateProfile(ctx, "u1", false, base.Add(time.Hour)))
	check("u1", "app")
	_, err := s.GetReleaseData(ctx, "nobody", "app")
	wantErr(t, err, storage.ErrNotFound, "GetReleaseData unknown user")
}
