package storagetest

import (
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testUserApps: ListUserApps lists only the user's grants, each with its client's fields, the
// count of the user's live tokens of that client and the latest token time; ordered by name.
func testUserApps(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	for _, id := range []string{"b-app", "a-app", "unused"} {
		c := newClient(id)
		c.Name = map[string]string{"b-app": "Alpha", "a-app": "Beta", "unused": "Gamma"}[id]
		must(t, s.CreateClient(ctx, c))
	}
	for _, g := range []storage.Grant{
		{UserID: "u1", ClientID: "b-app", Scopes: []string{"openid"}, Claims: []string{"email"}, CreatedAt: base, UpdatedAt: base},
		{UserID: "u1", ClientID: "a-app", Scopes: []string{"openid", "profile"}, CreatedAt: base, UpdatedAt: base.Add(time.Minute)},
		{UserID: "u2", ClientID: "unused", Scopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base},
	} {
		must(t, s.PutGrant(ctx, g))
	}
	later := newToken(storage.KindAccessToken, "a2", "req2", "u1", "b-app")
	later.RequestedAt = base.Add(2 * time.Hour)
	later.ExpiresAt = base.Add(3 * time.Hour)
	expired := newToken(storage.KindAccessToken, "a3", "req3", "u1", "b-app")
	expired.ExpiresAt = base.Add(-time.Minute)
	inactive := newToken(storage.KindRefreshToken, "r4", "req4", "u1", "b-app")
	inactive.Active = false
	for _, tk := range []storage.Token{
		newToken(storage.KindAccessToken, "a1", "req1", "u1", "b-app"),
		newToken(storage.KindRefreshToken, "r1", "req1", "u1", "b-app"),
		newToken(storage.KindAuthorizeCode, "c1", "req1", "u1", "b-app"), // codes are not tokens an app holds
		later, expired, inactive,
		newToken(storage.KindAccessToken, "x1", "reqx", "u2", "b-app"), // another user's
	} {
		must(t, s.CreateToken(ctx, tk))
	}

	got, err := s.ListUserApps(ctx, "u1", base.Add(time.Second))
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("ListUserApps(u1) = %d apps, want 2: %+v", len(got), got)
	}
	if got[0].Client.ID != "b-app" || got[1].Client.ID != "a-app" {
		t.Errorf("ListUserApps order = %s, %s; want b-app (Alpha), a-app (Beta)", got[0].Client.ID, got[1].Client.ID)
	}
	wantApp := storage.UserApp{
		Grant: storage.Grant{UserID: "u1", ClientID: "b-app", Scopes: []string{"openid"}, Claims: []string{"email"}, CreatedAt: at(0), UpdatedAt: at(0)},
		Client: storage.Client{ID: "b-app", Name: "Alpha", Description: "An app", LogoURI: "https://app.example/logo.png",
			HomeURI: "https://app.example/", PolicyURI: "https://app.example/policy"},
		ActiveTokens: 3, // a1, r1, a2: not the expired a3, the inactive r4, the code or u2's token
		// req1 (a1, r1) and req2 (a2)
		ActiveSessions: 2,
		LastUsedAt:     at(2 * time.Hour),
	}
	diff(t, "ListUserApps(u1)[0]", wantApp, got[0])
	if got[1].ActiveTokens != 0 || !got[1].LastUsedAt.IsZero() {
		t.Errorf("app without tokens: ActiveTokens %d, LastUsedAt %v; want 0 and zero", got[1].ActiveTokens, got[1].LastUsedAt)
	}
	// At a later now the tokens have expired.
	got, err = s.ListUserApps(ctx, "u1", base.Add(4*time.Hour))
	must(t, err)
	if got[0].ActiveTokens != 0 || got[0].ActiveSessions != 0 {
		t.Errorf("ActiveTokens, ActiveSessions after expiry = %d, %d, want 0", got[0].ActiveTokens, got[0].ActiveSessions)
	}
	none, err := s.ListUserApps(ctx, "nobody", base)
	must(t, err)
	if none != nil {
		t.Errorf("ListUserApps(nobody) = %+v, want nil", none)
	}
}

// testUserSessions: ListUserSessions returns only the user's sessions, latest seen first.
func testUserSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	old := newSession("old", "u1")
	recent := newSession("recent", "u1")
	recent.LastSeenAt = base.Add(time.Hour)
	for _, se := range []storage.Session{old, recent, newSession("theirs", "u2")} {
		must(t, s.CreateSession(ctx, se))
	}
	got, err := s.ListUserSessions(ctx, "u1")
	must(t, err)
	if len(got) != 2 || got[0].ID != "recent" || got[1].ID != "old" {
		t.Fatalf("ListUserSessions(u1) = %+v, want recent, old", got)
	}
	wantS := old
	wantS.AuthTime, wantS.CreatedAt, wantS.LastSeenAt, wantS.ExpiresAt = at(0), at(0), at(0), at(30*24*time.Hour)
	diff(t, "ListUserSessions(u1)[1]", wantS, got[1])
	none, err := s.ListUserSessions(ctx, "nobody")
	must(t, err)
	if none != nil {
		t.Errorf("ListUserSessions(nobody) = %+v, want nil", none)
	}
}
