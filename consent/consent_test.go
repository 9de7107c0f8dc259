package consent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

func TestDecide(t *testing.T) {
	cat := defaultCatalog(t)
	user := sampleUser()
	fields := []storage.ProfileField{
		{Field: "given_name", Value: "Alex", Privacy: "public"},
		{Field: "family_name", Value: "T", Privacy: "on_request"},
		{Field: "nickname", Value: "Sasha"}, // default: on request
		{Field: "birthdate", Value: "1990-01-01", Privacy: "private"},
		{Field: "middle_name", Privacy: "on_request"}, // no value: not listed
	}
	req := Request{Scopes: []string{"openid", "profile", "email"}}
	// What the app gets once every offered field is allowed: the fields, the name made of
	// its parts, the email's verified flag, and sub.
	all := []string{"sub", "name", "family_name", "given_name", "nickname", "email", "email_verified"}
	cases := []struct {
		name     string
		pp       bool
		grant    storage.Grant
		declined []string
		req      Request
		want     Prompt
		covered  bool
	}{
		{"first time", false, storage.Grant{}, nil, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}, Pending: []string{"family_name", "nickname", "email"},
			NewScopes: []string{"openid", "profile", "email"}, Released: all}, false},
		{"covered", false, storage.Grant{Scopes: req.Scopes, Claims: []string{"family_name", "nickname", "email"}}, nil, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}}, true},
		{"covered, the app asks for the page", false, storage.Grant{Scopes: req.Scopes, Claims: []string{"family_name", "nickname", "email"}}, nil,
			Request{Scopes: req.Scopes, Ask: true}, Prompt{
				Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
				Private: []string{"birthdate"}, Released: all}, true},
		{"a claim never decided is asked", false, storage.Grant{Scopes: req.Scopes, Claims: []string{"family_name", "email"}}, nil, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}, Pending: []string{"nickname"}, Released: all}, false},
		{"a claim declined before is not asked again", false, storage.Grant{Scopes: req.Scopes, Claims: []string{"family_name", "email"}}, []string{"nickname"}, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}, Declined: []string{"nickname"}, Granted: true}, true},
		{"a new scope shows the page, the decline stays", false, storage.Grant{Scopes: []string{"openid", "profile"}, Claims: []string{"family_name"}}, []string{"nickname", "email"}, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}, Declined: []string{"nickname", "email"}, NewScopes: []string{"email"}, Released: all, Granted: true}, false},
		{"a stored grant says the app was allowed before", false, storage.Grant{UserID: "u", ClientID: "app", Scopes: []string{"openid"}}, nil, req, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name", "nickname", "email"},
			Private: []string{"birthdate"}, Pending: []string{"family_name", "nickname", "email"},
			NewScopes: []string{"profile", "email"}, Released: all, Granted: true}, false},
		{"private profile turns public into on request", true, storage.Grant{Scopes: req.Scopes, Claims: []string{"family_name", "nickname", "email"}}, nil, req, Prompt{
			OnRequest: []string{"given_name", "family_name", "nickname", "email"},
			Private:   []string{"birthdate"}, Pending: []string{"given_name"}, Released: all}, false},
		{"claims parameter only", false, storage.Grant{Scopes: []string{"openid"}}, nil, Request{Scopes: []string{"openid"},
			Claims: ClaimsRequest{IDToken: []string{"name"}}}, Prompt{
			Public: []string{"given_name"}, OnRequest: []string{"family_name"}, Pending: []string{"family_name"},
			Released: []string{"sub", "name"}}, false},
		{"new scope", false, storage.Grant{Scopes: []string{"openid"}}, nil, Request{Scopes: []string{"openid", "offline_access"}}, Prompt{
			NewScopes: []string{"offline_access"}, Released: []string{"sub"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Decide(PromptInput{User: user, Fields: fields, Catalog: cat, PrivateProfile: c.pp, Grant: c.grant, Declined: c.declined, Request: c.req})
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			if got.Covered() != c.covered {
				t.Errorf("Covered = %v, want %v", got.Covered(), c.covered)
			}
		})
	}
	p := Prompt{OnRequest: []string{"family_name", "email"}}
	if got := p.Allowed([]string{"email", "birthdate", "given_name"}); !cmp.Equal(got, []string{"email"}) {
		t.Errorf("Allowed = %v, want only offered claims", got)
	}
	if got := p.Answer([]string{"email", "birthdate"}); !cmp.Equal(got, Decision{Allowed: []string{"email"}, Declined: []string{"family_name"}}) {
		t.Errorf("Answer = %+v, want email allowed, family_name declined, birthdate ignored", got)
	}
}

// TestServiceFlow runs consent's storage-backed steps on both backends: prompt, allow with a
// claim unticked, release, a level change, revocation, the private profile and the record.
func TestServiceFlow(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db := b.Open(t)
			user := storage.User{ID: "u1", Email: "a@example.com", EmailVerified: true, CreatedAt: updated, UpdatedAt: updated}
			if err := db.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateClient(ctx, storage.Client{ID: "app", Name: "App"}); err != nil {
				t.Fatal(err)
			}
			if err := db.PutProfileFields(ctx, []storage.ProfileField{
				{UserID: "u1", Field: "given_name", Value: "Alex", Privacy: "public", UpdatedAt: updated},
				{UserID: "u1", Field: "family_name", Value: "T", Privacy: "on_request", UpdatedAt: updated},
			}); err != nil {
				t.Fatal(err)
			}
			now := updated
			s, err := NewService(db, nil, discard(), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			req := Request{Scopes: []string{"openid", "profile", "email"}}
			userinfo := func() map[string]any {
				t.Helper()
				c, err := s.Claims(ctx, TargetUserinfo, issuer, user, "app", req.Scopes, req.Claims)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}

			pr, err := s.Prompt(ctx, user, "app", req)
			if err != nil || pr.Covered() {
				t.Fatalf("no grant: covered=%v err=%v", pr.Covered(), err)
			}
			// Allow with family_name unticked (and a forged claim that was not offered).
			if _, err := s.Allow(ctx, user, "app", req, []string{"email", "birthdate"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"sub": "u1", "given_name": "Alex", "name": "Alex", "email": "a@example.com",
				"email_verified": true, "updated_at": updated.Unix()}, userinfo()); diff != "" {
				t.Errorf("after consent (-want +got):\n%s", diff)
			}
			g, err := db.GetGrant(ctx, "u1", "app")
			if err != nil || !cmp.Equal(g.Claims, []string{"email"}) {
				t.Fatalf("grant claims = %v (%v), want exactly the allowed ones", g.Claims, err)
			}
			// The unticked claim is remembered as declined: the next sign-in does not ask.
			if pr, err := s.Prompt(ctx, user, "app", req); err != nil || !pr.Covered() || !cmp.Equal(pr.Declined, []string{"family_name"}) {
				t.Errorf("unticked claim: covered %v, declined %v (%v); want covered, family_name declined", pr.Covered(), pr.Declined, err)
			}
			ds, err := s.Decisions(ctx, "u1")
			if err != nil || len(ds) != 1 || ds[0].ClientID != "app" || !cmp.Equal(ds[0].Allowed, []string{"email"}) ||
				len(ds[0].Declined) != 1 || ds[0].Declined[0].Claim != "family_name" || !ds[0].Declined[0].DeclinedAt.Equal(now) {
				t.Errorf("Decisions = %+v (%v), want email allowed and family_name declined for app", ds, err)
			}
			// Declined again an hour later (the page shown with prompt=consent): one decision,
			// dated by its first decline.
			now = now.Add(time.Hour)
			if _, err := s.Allow(ctx, user, "app", Request{Scopes: req.Scopes, Ask: true}, []string{"email"}); err != nil {
				t.Fatal(err)
			}
			if ds, err := db.GetClaimDeclines(ctx, "u1", "app"); err != nil || len(ds) != 1 || !ds[0].DeclinedAt.Equal(updated) {
				t.Errorf("declines after declining again = %+v (%v), want family_name declined at %v", ds, err, updated)
			}
			// Unticking an allowed claim withdraws it; ticking a declined one allows it.
			if _, err := s.Allow(ctx, user, "app", req, []string{"family_name"}); err != nil {
				t.Fatal(err)
			}
			if got := userinfo(); got["email"] != nil || got["family_name"] != "T" {
				t.Errorf("after allowing family_name and unticking email: %v", got)
			}
			if pr, _ := s.Prompt(ctx, user, "app", req); !pr.Covered() || !cmp.Equal(pr.Declined, []string{"email"}) {
				t.Errorf("after the change: covered %v, declined %v; want email declined", pr.Covered(), pr.Declined)
			}
			if _, err := s.Allow(ctx, user, "app", req, []string{"email"}); err != nil {
				t.Fatal(err)
			}

			// Email made private: gone at once; made public again, back.
			if ok, err := s.SetLevel(ctx, "u1", "email", LevelPrivate); err != nil || !ok {
				t.Fatal(ok, err)
			}
			if _, has := userinfo()["email"]; has {
				t.Error("email released after it was made private")
			}
			if ok, _ := s.SetLevel(ctx, "u1", "nope", LevelPublic); ok {
				t.Error("SetLevel accepted an unknown field")
			}
			if _, err := s.SetLevel(ctx, "u1", "email", "friends"); err == nil {
				t.Error("SetLevel accepted an unknown level")
			}
			// A linked identifier's level is kept under its key and released to nobody.
			if ok, err := s.SetLevel(ctx, "u1", IdentifierKey("i1"), LevelPublic); err != nil || !ok {
				t.Fatalf("SetLevel of an identifier = %v, %v", ok, err)
			}
			if ok, _ := s.SetLevel(ctx, "u1", "identifier:", LevelPublic); ok {
				t.Error("SetLevel accepted an identifier key without an id")
			}
			stored, err := db.GetProfileFields(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range stored {
				found = found || (f.Field == "identifier:i1" && f.Privacy == "public")
			}
			if !found {
				t.Errorf("identifier level not stored: %+v", stored)
			}
			for claim := range userinfo() {
				if _, ok := IdentifierID(claim); ok {
					t.Errorf("userinfo releases %q", claim)
				}
			}
			levels, private, err := s.Levels(ctx, "u1")
			if err != nil || levels["email"] != LevelPrivate || levels["given_name"] != LevelPublic || levels["birthdate"] != LevelPrivate || private {
				t.Errorf("Levels = %v %v %v", levels, private, err)
			}

			// Private profile: the public name needs consent now.
			if err := db.SetPrivateProfile(ctx, "u1", true, now); err != nil {
				t.Fatal(err)
			}
			if got := userinfo(); got["given_name"] != nil {
				t.Errorf("public claim released with the private profile on: %v", got)
			}
			pub, err := s.Claims(ctx, TargetPublicProfile, issuer, user, "", nil, ClaimsRequest{})
			if err != nil || len(pub) != 1 {
				t.Errorf("public profile with the private profile on = %v (%v), want sub only", pub, err)
			}

			// Revoked: the grant is gone, on-request claims stop.
			if _, err := s.Allow(ctx, user, "app", req, []string{"given_name", "family_name"}); err != nil {
				t.Fatal(err)
			}
			if got := userinfo(); got["family_name"] != "T" || got["given_name"] != "Alex" {
				t.Errorf("after allowing: %v", got)
			}
			if err := db.DeleteGrant(ctx, "u1", "app"); err != nil {
				t.Fatal(err)
			}
			revoked := now
			if got := userinfo(); got["family_name"] != nil || got["given_name"] != nil {
				t.Errorf("after revocation: %v", got)
			}

			// The record: one line per claim set per hour.
			now = now.Add(2 * time.Hour)
			userinfo()
			userinfo()
			list, err := db.ListDisclosures(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			// sub alone went out once after the revocation and again two hours later: one
			// line, counted per hour, last seen now.
			if len(list) == 0 || list[0].ClientID != "app" || !cmp.Equal(list[0].Claims, []string{"sub"}) ||
				list[0].Count != 2 || !list[0].LastAt.Equal(now) || !list[0].FirstAt.Equal(revoked) {
				t.Errorf("latest disclosure = %+v", list)
			}
		})
	}
}

// fakePrivacy is a PrivacyStore that counts RecordDisclosures calls and can fail them.
type fakePrivacy struct {
	storage.PrivacyStore
	mu    sync.Mutex
	calls int
	fail  bool
}

func (f *fakePrivacy) RecordDisclosures(_ context.Context, ds []storage.Disclosure) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return errors.New("database down")
	}
	return nil
}

func TestDisclosureLogOncePerHour(t *testing.T) {
	now := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	f := &fakePrivacy{}
	d := &disclosureLog{store: f, now: func() time.Time { return now }, logger: discard()}
	ctx := t.Context()
	d.record(ctx, "u1", "app", []string{"sub", "email"})
	d.record(ctx, "u1", "app", []string{"email", "sub"}) // same set
	if f.calls != 1 {
		t.Fatalf("calls = %d, want 1", f.calls)
	}
	d.record(ctx, "u1", "app", []string{"sub"})   // another set
	d.record(ctx, "u1", "other", []string{"sub"}) // another app
	if f.calls != 3 {
		t.Fatalf("calls = %d, want 3", f.calls)
	}
	now = now.Add(time.Hour)
	d.record(ctx, "u1", "app", []string{"sub", "email"})
	if f.calls != 4 || len(d.seen) != 1 {
		t.Fatalf("next hour: calls = %d, seen = %d", f.calls, len(d.seen))
	}
	// A failed write is retried at the next release.
	f.fail = true
	d.record(ctx, "u2", "app", []string{"sub"})
	f.fail = false
	d.record(ctx, "u2", "app", []string{"sub"})
	if f.calls != 6 {
		t.Fatalf("retry: calls = %d, want 6", f.calls)
	}
}

func TestDisclosureLogConcurrent(t *testing.T) {
	f := &fakePrivacy{}
	d := &disclosureLog{store: f, now: func() time.Time { return time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC) }, logger: discard()}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				d.record(t.Context(), "u1", "app", []string{"sub", "email"})
			}
		})
	}
	wg.Wait()
	if f.calls != 1 {
		t.Fatalf("calls = %d, want 1", f.calls)
	}
}

// TestNewService: the constructor returns a service ready for every method (the built-in
// catalog when none is given, the given one otherwise) or an error, never a value that
// initialises itself on first use or panics.
func TestNewService(t *testing.T) {
	if s, err := NewService(nil, nil, nil, nil); err == nil || s != nil {
		t.Errorf("no store: %v, %v; want an error", s, err)
	}
	db := sqltest.Backends(t)[0].Open(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := db.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	builtin, err := NewService(db, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	configured, err := NewCatalog(CatalogConfig{DefaultLevels: map[string]Level{"birthdate": LevelPublic}})
	if err != nil {
		t.Fatal(err)
	}
	custom, err := NewService(db, configured, discard(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		s    *Service
		want Level
	}{"built-in": {builtin, LevelPrivate}, "configured": {custom, LevelPublic}} {
		levels, _, err := c.s.Levels(ctx, "u1")
		if err != nil || levels["birthdate"] != c.want {
			t.Errorf("%s catalog: birthdate %q (%v), want %q", name, levels["birthdate"], err, c.want)
		}
	}
	if ok, err := custom.SetLevel(ctx, "u1", "birthdate", LevelOnRequest); err != nil || !ok {
		t.Fatalf("SetLevel: %v, %v", ok, err)
	}
	fields, err := db.GetProfileFields(ctx, "u1")
	if err != nil || len(fields) != 1 || !fields[0].UpdatedAt.Equal(now) {
		t.Errorf("SetLevel stored %+v (%v), want one row at the service's clock", fields, err)
	}
}
