package apps

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// fakeNotifier records the calls of a LogoutNotifier and answers with err.
type fakeNotifier struct {
	user    func(ctx context.Context, userID, clientID, requestID string)
	session func(ctx context.Context, sessionID, exceptClientID, requestID string)
	err     error
}

func (f *fakeNotifier) LogoutUser(ctx context.Context, userID, clientID, requestID string) (int, error) {
	if f.user != nil {
		f.user(ctx, userID, clientID, requestID)
	}
	return 1, f.err
}

func (f *fakeNotifier) LogoutSession(ctx context.Context, sessionID, exceptClientID, requestID string) (int, error) {
	if f.session != nil {
		f.session(ctx, sessionID, exceptClientID, requestID)
	}
	return 1, f.err
}

// recorder keeps the recorded events' categories.
type recorder struct{ got []profile.Event }

func (r *recorder) Record(_ context.Context, _ profile.Origin, _ string, e profile.Event) {
	r.got = append(r.got, e)
}

// seed stores users u1 and u2, app a (granted by u1) with an access token of u1, and a
// browser session of u1.
func seed(t *testing.T, db *sqlstore.Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for _, u := range []string{"u1", "u2"} {
		if err := db.CreateUser(ctx, storage.User{ID: u, Email: u + "@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateClient(ctx, storage.Client{ID: "a", Name: "A", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "a", Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, storage.Token{Kind: storage.KindAccessToken, Signature: "at", RequestID: "r", ClientID: "a",
		Subject: "u1", Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, storage.Session{ID: "s1", UserID: "u1", AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// TestNotifierInTransaction: the notifier runs inside the transaction, while the grant and
// the sessions it reads still exist, with the request id; its failure undoes the action and
// records no event; an app the user never allowed reaches no notifier.
func TestNotifierInTransaction(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			db := be.Open(t)
			now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
			seed(t, db, now)
			n := &fakeNotifier{}
			rec := &recorder{}
			h := &Handler{store: db, events: rec, logout: n, now: func() time.Time { return now }}

			// A failing notifier: nothing changes.
			n.err = errors.New("queue full")
			if err := h.Revoke(ctx, profile.Origin{}, "req-1", "u1", "a"); err == nil {
				t.Fatal("Revoke with a failing notifier succeeded")
			}
			if _, err := db.GetGrant(ctx, "u1", "a"); err != nil {
				t.Errorf("the grant is gone after a failed Revoke: %v", err)
			}
			if tk, err := db.GetToken(ctx, storage.KindAccessToken, "at"); err != nil || !tk.Active {
				t.Errorf("the token ended after a failed Revoke: %v", err)
			}
			if err := h.LogoutEverywhere(ctx, profile.Origin{}, "req-2", "u1"); err == nil {
				t.Fatal("LogoutEverywhere with a failing notifier succeeded")
			}
			if _, err := db.GetSession(ctx, "s1"); err != nil {
				t.Errorf("the session is gone after a failed LogoutEverywhere: %v", err)
			}
			if len(rec.got) != 0 {
				t.Errorf("failed actions recorded events: %+v", rec.got)
			}

			// A working one sees the grant it announces, inside the transaction.
			n.err = nil
			var calls []string
			n.user = func(ctx context.Context, userID, clientID, requestID string) {
				_, err := db.GetGrant(ctx, userID, "a")
				calls = append(calls, userID+"/"+clientID+"/"+requestID+"/grant:"+boolText(err == nil))
			}
			if err := h.Revoke(ctx, profile.Origin{}, "req-3", "u1", "a"); err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 || calls[0] != "u1/a/req-3/grant:true" {
				t.Errorf("Revoke told the notifier %v, want u1/a/req-3 with the grant still there", calls)
			}
			if _, err := db.GetGrant(ctx, "u1", "a"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("grant after Revoke: %v, want ErrNotFound", err)
			}
			if _, err := db.GetToken(ctx, storage.KindAccessToken, "at"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("access token after Revoke: %v, want it deleted", err)
			}

			// No grant (revoked now, and never for u2): 404 and no notification.
			calls = nil
			for _, u := range []string{"u1", "u2"} {
				if err := h.EndSessions(ctx, profile.Origin{}, "req-4", u, "a"); !errors.Is(err, errNoGrant) {
					t.Errorf("EndSessions(%s) without a grant: %v, want errNoGrant", u, err)
				}
			}
			if len(calls) != 0 {
				t.Errorf("EndSessions without a grant told the notifier %v", calls)
			}

			// Log out everywhere: the notifier still sees the sessions it must announce.
			n.user = func(ctx context.Context, userID, clientID, requestID string) {
				list, err := db.ListUserSessions(ctx, userID)
				calls = append(calls, userID+"/"+clientID+"/"+requestID+"/sessions:"+boolText(err == nil && len(list) == 1))
			}
			if err := h.LogoutEverywhere(ctx, profile.Origin{}, "req-5", "u1"); err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 || calls[0] != "u1//req-5/sessions:true" {
				t.Errorf("LogoutEverywhere told the notifier %v, want u1, every app, the session still there", calls)
			}
			if _, err := db.GetSession(ctx, "s1"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("session after LogoutEverywhere: %v, want ErrNotFound", err)
			}
			want := []string{profile.CategoryAppPermissionRevoked, profile.CategoryLogoutEverywhere}
			if len(rec.got) != 2 || rec.got[0].Category != want[0] || rec.got[0].ClientID != "a" || rec.got[1].Category != want[1] {
				t.Errorf("events = %+v, want %v (the first with client a)", rec.got, want)
			}
		})
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
