package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// apiJSON posts body as JSON to the account API with the agent's cookie and returns the status
// and the body.
func apiJSON(t testing.TB, b *agent, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.base)
	p := b.do(req)
	return p.status, p.body
}

// loginAs posts the login form with returnTo and returns the page it ends on.
func loginAs(b *agent, email, pw, returnTo string) page {
	return b.post("/login", url.Values{"email": {email}, "password": {pw}, "return_to": {returnTo}})
}

// TestAccountDeletion walks the whole lifecycle on both databases with an injected clock: a
// wrong password changes nothing; a deletion revokes every token (introspection inactive, the
// refresh refused), tells the app (back-channel logout) and logs out; an app's sign-in during
// the window is refused with no restore (access_denied); signing in to the personal account
// shows only the restore page, and restoring brings the account back, its apps asking for
// consent again; after the window the purge erases it, its email is free and its sub never
// comes back.
func TestAccountDeletion(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			c := newClock()
			const email, pw = "del@example.com", "correct horse battery"
			s := signUpAndExchangeOn(t, be, c, email, "Del Example")
			f, r, b := s.f, s.r, s.b
			rec := newLogoutReceiver(t)
			registerBackchannel(t, f, r, rec)
			users, err := f.app.store.ListUsers(ctx)
			if err != nil || len(users) != 1 {
				t.Fatalf("users: %v %v", users, err)
			}
			sub := users[0].ID

			// Wrong password: 403, nothing happens.
			if st, body := apiJSON(t, b, http.MethodPost, "/api/account/delete", `{"password":"not the password"}`); st != http.StatusForbidden || !strings.Contains(body, "invalid_current_password") {
				t.Fatalf("wrong password: %d %s", st, body)
			}
			if !active(t, r, s.tok.AccessToken) {
				t.Fatal("a wrong password revoked the token")
			}
			if p := b.get("/profile"); p.status != http.StatusOK || p.url.Path != "/profile" {
				t.Fatalf("a wrong password ended the session: %d %s", p.status, p.url)
			}

			st, body := apiJSON(t, b, http.MethodPost, "/api/account/delete", `{"password":"`+pw+`"}`)
			if st != http.StatusAccepted {
				t.Fatalf("delete: %d %s", st, body)
			}
			var del struct {
				Status     string    `json:"status"`
				PurgeAfter time.Time `json:"purge_after"`
			}
			if err := json.Unmarshal([]byte(body), &del); err != nil {
				t.Fatal(err)
			}
			if del.Status != storage.UserPendingDeletion || del.PurgeAfter.Sub(c.now()) < 719*time.Hour || del.PurgeAfter.Sub(c.now()) > 721*time.Hour {
				t.Errorf("delete answer %+v, want pending_deletion and now+720h", del)
			}
			if active(t, r, s.tok.AccessToken) {
				t.Error("the access token introspects active after the deletion")
			}
			if !refreshFails(t, r, s.tok.RefreshToken) {
				t.Error("the refresh token still works after the deletion")
			}
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := rec.take(); len(got) != 1 {
				t.Errorf("back-channel logout tokens after the deletion: %d, want 1", len(got))
			} else if cl := logoutClaims(t, f, got[0]); cl["sub"] != sub {
				t.Errorf("logout token sub %v, want %s", cl["sub"], sub)
			}
			if p := b.get("/profile"); p.url.Path != "/login" {
				t.Errorf("after the deletion /profile ends on %s, want the login page", p.url.Path)
			}
			if n := f.countTokensWhere(t, "subject = '"+sub+"' AND active"); n != 0 {
				t.Errorf("%d active token rows after the deletion", n)
			}

			// An app's sign-in during the window: the pending page, no session, access_denied.
			ar := r.start()
			p := b.get(ar.url)
			p = loginAs(b, email, pw, p.url.Query().Get("return_to"))
			if p.url.Path != profile.PendingDeletionPath || !strings.Contains(p.body, "scheduled for deletion") {
				t.Fatalf("app sign-in of a pending account ends on %s (%d):\n%s", p.url, p.status, p.body)
			}
			if strings.Contains(p.body, "/profile/restore") {
				t.Error("the app's sign-in offers the restore")
			}
			if p := b.get(profile.RestorePath); p.url.Path == profile.RestorePath {
				t.Error("an app's sign-in left a session that reaches the restore page")
			}
			back := p.formWith(t, "/oauth2/consent")
			if got := callback(t, b.submit(p, back, nil, ""), ar, f.issuer).Get("error"); got != "access_denied" {
				t.Errorf("Back to the app: error %q, want access_denied", got)
			}

			// The personal account: only the restore page.
			p = loginAs(b, email, pw, "/profile")
			if p.url.Path != profile.RestorePath || !strings.Contains(p.body, "Restore account") {
				t.Fatalf("personal sign-in of a pending account ends on %s:\n%s", p.url, p.body)
			}
			for _, path := range []string{"/profile", "/profile/apps", "/profile/events"} {
				if p := b.get(path); p.url.Path != profile.RestorePath {
					t.Errorf("%s during the window ends on %s, want the restore page", path, p.url.Path)
				}
			}
			if st := accountCall(t, b, http.MethodGet, "/api/account/profile", nil); st != http.StatusUnauthorized {
				t.Errorf("account API during the window: %d, want 401", st)
			}
			// An authorization with this session is refused too.
			ar = r.start()
			p = b.get(ar.url)
			if p.url.Path != oauth.PathPendingDeletion {
				t.Fatalf("authorize with a pending session ends on %s", p.url)
			}
			arNone := r.start()
			p = b.get(arNone.url + "&prompt=none")
			if got := callback(t, p, arNone, f.issuer).Get("error"); got != "access_denied" {
				t.Errorf("prompt=none for a pending account: %q, want access_denied", got)
			}

			if st, body := apiJSON(t, b, http.MethodPost, "/api/account/restore", ``); st != http.StatusOK || !strings.Contains(body, `"active"`) {
				t.Fatalf("restore: %d %s", st, body)
			}
			if p := b.get("/profile"); p.url.Path != "/profile" || p.status != http.StatusOK {
				t.Fatalf("after the restore /profile ends on %s", p.url)
			}
			if st, _ := apiJSON(t, b, http.MethodPost, "/api/account/restore", ``); st != http.StatusUnauthorized {
				t.Errorf("restore of an active account: %d, want 401", st)
			}
			ar = r.start()
			if p := b.get(ar.url); p.url.Path != "/oauth2/auth" || !strings.Contains(p.body, "consent") {
				t.Errorf("after the restore the app asks no consent: %s", p.url)
			}
			var log struct {
				Events []struct {
					Category string `json:"category"`
				} `json:"events"`
			}
			accountCall(t, b, http.MethodGet, "/api/account/events", &log)
			var cats []string
			for _, e := range log.Events {
				cats = append(cats, e.Category)
			}
			if j := strings.Join(cats, ","); !strings.Contains(j, "account_restored") || !strings.Contains(j, "deletion_requested") {
				t.Errorf("activity log %s lacks deletion_requested or account_restored", j)
			}

			// Delete again, let the window pass, purge.
			p = b.post("/profile/delete", url.Values{"password": {pw}})
			if p.url.Path != "/login" || !strings.Contains(p.body, "scheduled for deletion") {
				t.Fatalf("delete page ends on %s:\n%s", p.url, p.body)
			}
			if n, err := f.app.purge.RunOnce(ctx); err != nil || n != 0 {
				t.Fatalf("purge inside the window: %d, %v", n, err)
			}
			c.advance(721 * time.Hour)
			if n, err := f.app.purge.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("purge after the window: %d, %v", n, err)
			}
			if _, err := f.app.store.GetUser(ctx, sub); err == nil {
				t.Error("the account is still there after the purge")
			}
			if n := f.countTokensWhere(t, "subject = '"+sub+"'"); n != 0 {
				t.Errorf("%d token rows after the purge", n)
			}
			if p := loginAs(b, email, pw, "/profile"); p.url.Path != "/login" {
				t.Errorf("sign-in after the purge ends on %s", p.url)
			}
			// The email is free; the sub is not.
			// (Registration without an app: fosite checks auth_time against the wall clock,
			// which the test clock is ahead of.)
			b2 := newAgent(t, f.issuer)
			if p := b2.post("/register", url.Values{"email": {email}, "password": {"another good password"}, "confirm": {"another good password"}, "name": {"New Owner"}}); p.status >= 400 {
				t.Fatalf("registration with the purged email: %d\n%s", p.status, p.body)
			}
			users, err = f.app.store.ListUsers(ctx)
			if err != nil || len(users) != 1 || users[0].ID == sub || users[0].Email != email {
				t.Fatalf("after the purge and a new registration: %+v, %v", users, err)
			}
			if err := f.app.store.CreateUser(ctx, storage.User{ID: sub, Email: "x@example.com", CreatedAt: c.now(), UpdatedAt: c.now()}); err == nil {
				t.Error("a new account took the purged sub")
			}
		})
	}
}

// TestPurgeInterrupted: a purge stopped midway (its context cancelled after the first account)
// erases that account whole and leaves the others whole; running it again finishes them.
func TestPurgeInterrupted(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newClock()
			f := startFacet(t, be.NewURL(t), c)
			ctx := t.Context()
			now := c.now()
			var ids []string
			for i := range 5 {
				id := profile.NewID()
				u := storage.User{ID: id, Email: id + "@example.com", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
				if err := f.app.store.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				if err := f.app.store.PutProfileFields(ctx, []storage.ProfileField{{UserID: id, Field: "given_name", Value: "N", UpdatedAt: now}}); err != nil {
					t.Fatal(err)
				}
				if err := f.app.store.MarkDeletion(ctx, storage.Deletion{UserID: id, RequestedAt: now, PurgeAfter: now.Add(time.Duration(i) * time.Minute)}); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			c.advance(time.Hour)
			stop, cancel := context.WithCancel(ctx)
			p := *f.app.purge
			p.Progress = func(storage.Deletion, error) { cancel() }
			n, err := p.RunOnce(stop)
			if n != 1 || err == nil {
				t.Fatalf("interrupted purge: %d, %v; want 1 and the cancellation", n, err)
			}
			for i, id := range ids {
				_, err := f.app.store.GetUser(ctx, id)
				fields, ferr := f.app.store.GetProfileFields(ctx, id)
				if ferr != nil {
					t.Fatal(ferr)
				}
				switch {
				case i == 0 && (err == nil || len(fields) != 0):
					t.Errorf("the first account is not purged whole: %v, %d fields", err, len(fields))
				case i > 0 && (err != nil || len(fields) != 1):
					t.Errorf("account %d lost data in an interrupted run: %v, %d fields", i, err, len(fields))
				}
			}
			if n, err := f.app.purge.RunOnce(ctx); err != nil || n != 4 {
				t.Fatalf("the rerun: %d, %v; want the 4 left", n, err)
			}
			for _, id := range ids {
				if ok, err := f.app.store.IsTombstone(ctx, id); err != nil || !ok {
					t.Errorf("%s: tombstone %v, %v", id, ok, err)
				}
			}
		})
	}
}
