package storagetest

import (
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testBackchannel: the apps a session signed in to follow the session; the logout queue
// hands a due message to one claimer, hides it for the lease, and keeps finished messages
// until DeleteFinishedLogouts.
func testBackchannel(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	must(t, s.CreateSession(ctx, newSession("s1", "u1")))
	must(t, s.CreateSession(ctx, newSession("s2", "u1")))
	for _, c := range []storage.SessionClient{
		{SessionID: "s1", ClientID: "b", SID: "sid1", CreatedAt: base},
		{SessionID: "s1", ClientID: "a", SID: "sid1", CreatedAt: base},
		{SessionID: "s2", ClientID: "a", SID: "sid2", CreatedAt: base},
		{SessionID: "s1", ClientID: "a", SID: "other", CreatedAt: base.Add(time.Hour)}, // a repeat keeps the first
		{SessionID: "gone", ClientID: "a", SID: "x", CreatedAt: base},                  // no such session: nothing
	} {
		must(t, s.PutSessionClient(ctx, c))
	}
	got, err := s.SessionClients(ctx, "s1")
	must(t, err)
	diff(t, "SessionClients(s1)", []storage.SessionClient{
		{SessionID: "s1", ClientID: "a", UserID: "u1", SID: "sid1", CreatedAt: at(0)},
		{SessionID: "s1", ClientID: "b", UserID: "u1", SID: "sid1", CreatedAt: at(0)},
	}, got)
	got, err = s.UserSessionClients(ctx, "u1")
	must(t, err)
	if len(got) != 3 || got[0].SessionID != "s1" || got[1].SessionID != "s2" || got[2].ClientID != "b" {
		t.Errorf("UserSessionClients = %+v", got)
	}
	must(t, s.DeleteSession(ctx, "s1"))
	got, err = s.SessionClients(ctx, "s1")
	must(t, err)
	if len(got) != 0 {
		t.Errorf("SessionClients after DeleteSession = %+v, want none", got)
	}

	msgs := []storage.LogoutMessage{
		{ID: "m1", ClientID: "a", Subject: "u1", SID: "sid1", RequestID: "r1", NextAttemptAt: base, CreatedAt: base},
		{ID: "m2", ClientID: "b", Subject: "u1", NextAttemptAt: base.Add(time.Minute), CreatedAt: base},
	}
	must(t, s.EnqueueLogouts(ctx, msgs))
	wantErr(t, s.EnqueueLogouts(ctx, msgs[:1]), storage.ErrAlreadyExists, "EnqueueLogouts same id")
	claimed, err := s.ClaimLogouts(ctx, base, base.Add(2*time.Minute), 10)
	must(t, err)
	diff(t, "ClaimLogouts", []storage.LogoutMessage{{ID: "m1", ClientID: "a", Subject: "u1", SID: "sid1", RequestID: "r1",
		Status: storage.LogoutPending, Attempts: 1, NextAttemptAt: at(2 * time.Minute), CreatedAt: at(0)}}, claimed)
	// Leased: a second claimer at the same time gets only what became due.
	claimed, err = s.ClaimLogouts(ctx, base.Add(time.Minute), base.Add(3*time.Minute), 10)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != "m2" {
		t.Errorf("second claim = %+v, want m2 alone", claimed)
	}
	must(t, s.RetryLogout(ctx, "m1", base.Add(time.Hour), "the app answered 500"))
	m, err := s.GetLogout(ctx, "m1")
	must(t, err)
	if m.Attempts != 1 || !m.NextAttemptAt.Equal(at(time.Hour)) || m.LastError != "the app answered 500" || m.Status != storage.LogoutPending {
		t.Errorf("after RetryLogout: %+v", m)
	}
	must(t, s.FinishLogout(ctx, "m2", storage.LogoutDelivered, "", base.Add(time.Minute)))
	wantErr(t, s.RetryLogout(ctx, "m2", base, ""), storage.ErrNotFound, "RetryLogout of a delivered message")
	wantErr(t, s.FinishLogout(ctx, "none", storage.LogoutDelivered, "", base), storage.ErrNotFound, "FinishLogout missing")
	if claimed, err := s.ClaimLogouts(ctx, base.Add(30*time.Minute), base.Add(time.Hour), 10); err != nil || len(claimed) != 0 {
		t.Errorf("claim before the retry is due = %+v, %v; want none (m2 delivered)", claimed, err)
	}
	n, err := s.DeleteFinishedLogouts(ctx, base.Add(time.Minute))
	must(t, err)
	if n != 0 {
		t.Errorf("DeleteFinishedLogouts before the finish = %d", n)
	}
	n, err = s.DeleteFinishedLogouts(ctx, base.Add(2*time.Minute))
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteFinishedLogouts = %d, want 1 (m2; m1 is pending)", n)
	}
	_, err = s.GetLogout(ctx, "m2")
	wantErr(t, err, storage.ErrNotFound, "GetLogout after DeleteFinishedLogouts")
	if _, err := s.GetLogout(ctx, "m1"); err != nil {
		t.Errorf("pending message deleted: %v", err)
	}
}

// testSessionTokens: RevokeSessionTokens ends exactly the tokens of the requests approved
// through that session (every kind, refresh tokens kept inactive), not the same user's
// other sessions' or other apps', and a session's requests go with it.
func testSessionTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	must(t, s.CreateSession(ctx, newSession("s1", "u1")))
	must(t, s.CreateSession(ctx, newSession("s2", "u1")))
	for _, c := range []storage.SessionClient{
		{SessionID: "s1", ClientID: "a", SID: "sid1", RequestID: "r1", CreatedAt: base},
		{SessionID: "s1", ClientID: "a", SID: "sid1", RequestID: "r2", CreatedAt: base}, // a second sign-in of a through s1
		{SessionID: "s1", ClientID: "b", SID: "sid1", RequestID: "r3", CreatedAt: base},
		{SessionID: "s2", ClientID: "a", SID: "sid2", RequestID: "r4", CreatedAt: base},
		{SessionID: "gone", ClientID: "a", SID: "x", RequestID: "r5", CreatedAt: base}, // no such session: nothing
	} {
		must(t, s.PutSessionClient(ctx, c))
	}
	for _, tok := range []storage.Token{
		newToken(storage.KindAccessToken, "at1", "r1", "u1", "a"),
		newToken(storage.KindRefreshToken, "rt1", "r1", "u1", "a"),
		newToken(storage.KindOIDC, "oidc1", "r1", "u1", "a"),
		newToken(storage.KindAccessToken, "at2", "r2", "u1", "a"),
		newToken(storage.KindAccessToken, "at3", "r3", "u1", "b"),
		newToken(storage.KindAccessToken, "at4", "r4", "u1", "a"),
		newToken(storage.KindRefreshToken, "rt4", "r4", "u1", "a"),
		newToken(storage.KindAccessToken, "at5", "r5", "u1", "a"),
	} {
		createToken(t, s, tok)
	}
	n, err := s.RevokeSessionTokens(ctx, "s1")
	must(t, err)
	if n != 4 { // at1, rt1, at2, at3 (the oidc row is not counted)
		t.Errorf("RevokeSessionTokens(s1) = %d, want 4", n)
	}
	for _, sig := range []string{"at1", "at2", "at3"} {
		if _, ok := tokenExists(t, s, storage.KindAccessToken, sig); ok {
			t.Errorf("access token %s of session s1 survived", sig)
		}
	}
	if _, ok := tokenExists(t, s, storage.KindOIDC, "oidc1"); ok {
		t.Error("the OpenID session of s1's request survived")
	}
	if rt, ok := tokenExists(t, s, storage.KindRefreshToken, "rt1"); !ok || rt.Active {
		t.Errorf("refresh token of s1: present %v active %v, want kept inactive", ok, rt.Active)
	}
	for _, sig := range []string{"at4", "at5"} {
		if _, ok := tokenExists(t, s, storage.KindAccessToken, sig); !ok {
			t.Errorf("access token %s of another session ended", sig)
		}
	}
	if rt, ok := tokenExists(t, s, storage.KindRefreshToken, "rt4"); !ok || !rt.Active {
		t.Errorf("refresh token of s2: present %v active %v, want active", ok, rt.Active)
	}
	// The session's requests go with it: a new session under the same id ends nothing.
	must(t, s.DeleteSession(ctx, "s2"))
	must(t, s.CreateSession(ctx, newSession("s2", "u1")))
	if n, err := s.RevokeSessionTokens(ctx, "s2"); err != nil || n != 0 {
		t.Errorf("RevokeSessionTokens after the session's end = %d, %v; want 0", n, err)
	}
}
