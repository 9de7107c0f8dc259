package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// accountCall sends method path to the account API with b's session cookie (and the Origin
// header a browser sends), and decodes a JSON answer into out when out is not nil.
func accountCall(t testing.TB, b *agent, method, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, b.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", b.base)
	p := b.do(req)
	if p.status >= 500 {
		t.Fatalf("%s %s: %d\n%s", method, path, p.status, p.body)
	}
	if out != nil && p.status == http.StatusOK {
		if err := json.Unmarshal([]byte(p.body), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, p.body)
		}
	}
	return p.status
}

// appList is GET /api/account/apps's body.
type appList struct {
	Apps []struct {
		ClientID       string   `json:"client_id"`
		Name           string   `json:"name"`
		Scopes         []string `json:"scopes"`
		Claims         []string `json:"claims"`
		GrantedAt      string   `json:"granted_at"`
		LastUsedAt     *string  `json:"last_used_at"`
		ActiveTokens   int      `json:"active_tokens"`
		ActiveSessions int      `json:"active_sessions"`
		Disclosures    []struct {
			Claims []string `json:"claims"`
			At     string   `json:"at"`
		} `json:"disclosures"`
	} `json:"apps"`
}

// sessionList is GET /api/account/sessions's body.
type sessionList struct {
	Sessions []struct {
		ID        string   `json:"id"`
		Current   bool     `json:"current"`
		Browser   string   `json:"browser"`
		ClientIDs []string `json:"client_ids"`
	} `json:"sessions"`
}

// refreshFails reports whether the refresh token is refused (invalid_grant), failing the
// test on any other answer.
func refreshFails(t testing.TB, r *rp, refresh string) bool {
	t.Helper()
	_, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: refresh}).Token()
	if err == nil {
		return false
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("refresh: %v", err)
	}
	if code := oauthError(t, err); code != "invalid_grant" {
		t.Fatalf("refresh refused with %q, want invalid_grant", code)
	}
	return true
}

// TestAppsEndRevokeLogoutEverywhere: two relying parties hold tokens for one person. End
// Sessions for A ends A's tokens only and keeps its grant; Revoke Permission brings A's
// consent page back; another user's app and session ids are 404; log out from all devices
// ends every token and the cookie.
func TestAppsEndRevokeLogoutEverywhere(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "ann@example.com", "Ann Example")
			f, a, b := s.f, s.r, s.b
			tokA := s.tok
			rb := newRP(t, f)
			arB := rb.start()
			tokB := exchange(t, rb, arB, logIn(t, b, rb, arB, "ann@example.com", "correct horse battery"))

			// The Scopes tab and the API list both apps.
			var list appList
			if st := accountCall(t, b, http.MethodGet, "/api/account/apps", &list); st != http.StatusOK {
				t.Fatalf("GET /api/account/apps: %d", st)
			}
			var ids []string
			for _, app := range list.Apps {
				ids = append(ids, app.ClientID)
				if !slices.Contains(app.Scopes, "openid") || app.ActiveTokens != 2 || app.ActiveSessions != 1 || app.LastUsedAt == nil || app.GrantedAt == "" {
					t.Errorf("app %s: %+v, want openid granted, 2 active tokens of 1 session, last used and granted times", app.ClientID, app)
				}
			}
			slices.Sort(ids)
			want := []string{a.clientID, rb.clientID}
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Fatalf("apps = %v, want %v", ids, want)
			}
			tab := b.get("/profile/apps")
			if tab.status != http.StatusOK || !strings.Contains(tab.body, "/profile/apps/"+url.PathEscape(a.clientID)+"/end-sessions") ||
				!strings.Contains(tab.body, "/profile/apps/"+url.PathEscape(rb.clientID)+"/revoke") {
				t.Fatalf("GET /profile/apps: %d, want both apps' actions:\n%s", tab.status, tab.body)
			}

			// In Russian: the tab and the confirmation speak the reader's language.
			req, err := http.NewRequest(http.MethodGet, f.issuer+"/profile/apps/"+url.PathEscape(a.clientID)+"/revoke", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Language", "ru")
			if p := b.do(req); p.status != http.StatusOK || !strings.Contains(p.body, "Отозвать разрешение") {
				t.Errorf("the revoke confirmation in Russian: %d\n%s", p.status, p.body)
			}

			// End Sessions for A: its confirmation page, then the POST.
			endPath := "/profile/apps/" + url.PathEscape(a.clientID) + "/end-sessions"
			confirm := b.get(endPath)
			if confirm.status != http.StatusOK {
				t.Fatalf("GET %s: %d", endPath, confirm.status)
			}
			done := b.submit(confirm, confirm.formWith(t, endPath), nil, "")
			if done.status != http.StatusOK || done.url.Path != "/profile/apps" || !strings.Contains(done.body, `class="notice"`) {
				t.Fatalf("after End Sessions: %d at %s", done.status, done.url)
			}
			if active(t, a, tokA.AccessToken) {
				t.Error("A's access token is active after End Sessions")
			}
			if !refreshFails(t, a, tokA.RefreshToken) {
				t.Error("A's refresh token still works after End Sessions")
			}
			if !active(t, rb, tokB.AccessToken) {
				t.Error("B's access token ended with A's sessions")
			}
			tokB, err = rb.conf.TokenSource(rb.ctx(), &oauth2.Token{RefreshToken: tokB.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("B's refresh after A's End Sessions: %v", err)
			}
			// The grant stays: A's next authorization shows no consent page.
			arA := a.start()
			p := b.get(arA.url)
			code := callback(t, p, arA, f.issuer).Get("code")
			if code == "" {
				t.Fatalf("A's authorization after End Sessions did not come straight back with a code: %d %s", p.status, p.location)
			}
			tokA = exchange(t, a, arA, code)

			// Revoke Permission for A (the API): the next authorization asks for consent.
			if st := accountCall(t, b, http.MethodDelete, "/api/account/apps/"+url.PathEscape(a.clientID), nil); st != http.StatusNoContent {
				t.Fatalf("DELETE /api/account/apps/A: %d", st)
			}
			if active(t, a, tokA.AccessToken) {
				t.Error("A's access token is active after Revoke Permission")
			}
			arA = a.start()
			p = b.get(arA.url)
			if p.status != http.StatusOK || !strings.Contains(p.body, `action="/oauth2/consent`) {
				t.Fatalf("A's authorization after Revoke Permission: %d %s, want the consent page", p.status, p.location)
			}
			if st := accountCall(t, b, http.MethodPost, "/api/account/apps/"+url.PathEscape(a.clientID)+"/end-sessions", nil); st != http.StatusNotFound {
				t.Errorf("End Sessions of a revoked app: %d, want 404", st)
			}
			if p := b.get("/profile/apps/" + url.PathEscape(a.clientID) + "/revoke"); p.status != http.StatusNotFound {
				t.Errorf("confirmation page of a revoked app: %d, want 404", p.status)
			}

			// Another user: their app and session ids are 404 for Ann.
			bob := newAgent(t, f.issuer)
			rc := newRP(t, f)
			bob.get("/") // no session yet
			arC := rc.start()
			signUp(t, bob, rc, arC, "bob@example.com", "correct horse battery", "Bob Example")
			var bobs sessionList
			accountCall(t, bob, http.MethodGet, "/api/account/sessions", &bobs)
			if len(bobs.Sessions) != 1 || !bobs.Sessions[0].Current {
				t.Fatalf("Bob's sessions: %+v, want one, current", bobs.Sessions)
			}
			bobSession := bobs.Sessions[0].ID
			if st := accountCall(t, b, http.MethodDelete, "/api/account/sessions/"+bobSession, nil); st != http.StatusNotFound {
				t.Errorf("Ann deleting Bob's session: %d, want 404", st)
			}
			if p := b.post("/profile/sessions/"+bobSession+"/sign-out", nil); p.status != http.StatusNotFound {
				t.Errorf("Ann signing out Bob's session (page): %d, want 404", p.status)
			}
			if st := accountCall(t, b, http.MethodDelete, "/api/account/apps/"+url.PathEscape(rc.clientID), nil); st != http.StatusNotFound {
				t.Errorf("Ann revoking Bob's app: %d, want 404", st)
			}
			if p := b.post("/profile/apps/"+url.PathEscape(rc.clientID)+"/end-sessions", nil); p.status != http.StatusNotFound {
				t.Errorf("Ann ending Bob's app (page): %d, want 404", p.status)
			}
			if st := accountCall(t, bob, http.MethodGet, "/api/account/sessions", &bobs); st != http.StatusOK || len(bobs.Sessions) != 1 {
				t.Errorf("Bob's session after Ann's attempts: %d %+v", st, bobs.Sessions)
			}

			// Log out from all devices: a second browser of Ann's, every token, the cookie.
			other := newAgent(t, f.issuer)
			arB2 := rb.start()
			tokOther := exchange(t, rb, arB2, logIn(t, other, rb, arB2, "ann@example.com", "correct horse battery"))
			var mine sessionList
			accountCall(t, b, http.MethodGet, "/api/account/sessions", &mine)
			if len(mine.Sessions) != 2 {
				t.Fatalf("Ann's sessions: %+v, want two", mine.Sessions)
			}
			for _, se := range mine.Sessions {
				if !slices.Contains(se.ClientIDs, rb.clientID) {
					t.Errorf("session %+v: client_ids lack B, which signed in through it", se)
				}
			}
			// Sign out the other browser from this one: its cookie stops working, this one's not.
			var otherID string
			for _, se := range mine.Sessions {
				if !se.Current {
					otherID = se.ID
				}
			}
			if otherID == "" {
				t.Fatalf("no session other than the current one: %+v", mine.Sessions)
			}
			if st := accountCall(t, b, http.MethodDelete, "/api/account/sessions/"+otherID, nil); st != http.StatusNoContent {
				t.Fatalf("DELETE /api/account/sessions/other: %d", st)
			}
			if st := accountCall(t, other, http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("the signed-out browser: %d, want 401", st)
			}
			if st := accountCall(t, b, http.MethodGet, "/api/account/apps", nil); st != http.StatusOK {
				t.Errorf("this browser after signing out the other: %d, want 200", st)
			}
			if st := accountCall(t, b, http.MethodDelete, "/api/account/sessions/"+otherID, nil); st != http.StatusNotFound {
				t.Errorf("signing out an ended session again: %d, want 404", st)
			}
			// The tokens B got through the signed-out browser end with it; B's tokens from
			// this browser's session stay.
			if active(t, rb, tokOther.AccessToken) {
				t.Error("B's access token from the signed-out session is still active")
			}
			if !refreshFails(t, rb, tokOther.RefreshToken) {
				t.Error("B's refresh token from the signed-out session still works")
			}
			if !active(t, rb, tokB.AccessToken) {
				t.Error("B's access token from this browser's session ended with the other session")
			}
			arB2 = rb.start()
			logIn(t, other, rb, arB2, "ann@example.com", "correct horse battery")

			cookies := b.client.Jar.Cookies(issuerURL(t, f))
			// The profile page's Security block lists both browsers, this one marked, each
			// with the apps signed in through it and its Sign out.
			prof := b.get("/profile")
			var currentID string
			for _, se := range mine.Sessions {
				if se.Current {
					currentID = se.ID
				}
			}
			accountCall(t, b, http.MethodGet, "/api/account/sessions", &mine)
			if len(mine.Sessions) != 2 {
				t.Fatalf("Ann's sessions before logging out everywhere: %+v", mine.Sessions)
			}
			security := prof.body[strings.Index(prof.body, `id="security"`):]
			security = security[:strings.Index(security, "</article>")]
			for _, se := range mine.Sessions {
				if want := `action="/profile/sessions/` + se.ID + `/sign-out"`; !strings.Contains(security, want) {
					t.Errorf("the Security block lacks the Sign out of session %s (current %v)", se.ID, se.Current)
				}
			}
			if strings.Count(security, "<mark>") != 1 || !strings.Contains(security, "Apps signed in:") || currentID == "" {
				t.Errorf("the Security block marks %d sessions (want 1) or lacks the apps: %s", strings.Count(security, "<mark>"), security)
			}
			// The profile page's Other actions block offers it, behind its confirmation.
			for _, want := range []string{`id="other-actions"`, `href="/profile/logout-everywhere"`, `<dialog id="logout-everywhere-dialog"`} {
				if !strings.Contains(prof.body, want) {
					t.Errorf("/profile lacks %s", want)
				}
			}
			confirm = b.get("/profile/logout-everywhere")
			if confirm.status != http.StatusOK {
				t.Fatalf("GET /profile/logout-everywhere: %d", confirm.status)
			}
			done = b.submit(confirm, confirm.formWith(t, "/profile/logout-everywhere"), nil, "")
			if done.url.Path != "/login" {
				t.Errorf("after logging out everywhere: at %s, want the login page", done.url)
			}
			if active(t, rb, tokB.AccessToken) {
				t.Error("B's access token is active after log out everywhere")
			}
			if !refreshFails(t, rb, tokB.RefreshToken) {
				t.Error("B's refresh token works after log out everywhere")
			}
			stale := newAgent(t, f.issuer)
			stale.client.Jar.SetCookies(issuerURL(t, f), cookies)
			if st := accountCall(t, stale, http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("the old cookie after log out everywhere: %d, want 401", st)
			}
			if st := accountCall(t, other, http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("the other browser after log out everywhere: %d, want 401", st)
			}
			if st := accountCall(t, bob, http.MethodGet, "/api/account/apps", nil); st != http.StatusOK {
				t.Errorf("Bob after Ann logged out everywhere: %d, want 200", st)
			}

			// Bob signs this very browser out from his device list: he lands on the login page.
			p = bob.post("/profile/sessions/"+bobSession+"/sign-out", nil)
			if p.url.Path != "/login" {
				t.Errorf("signing out the current session: at %s (%d), want the login page", p.url, p.status)
			}
			if st := accountCall(t, bob, http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("Bob after signing out his own session: %d, want 401", st)
			}

			// Each action is in Ann's activity log, with the app.
			u, err := f.app.store.GetUserByEmail(t.Context(), "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := f.app.store.ListEvents(t.Context(), u.ID, storage.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for _, e := range evs {
				seen[e.Category] = e.ClientID
			}
			for cat, client := range map[string]string{
				profile.CategoryAppSessionsEnded: a.clientID, profile.CategoryAppPermissionRevoked: a.clientID,
				profile.CategoryLogoutEverywhere: "", profile.CategorySessionSignedOut: "",
			} {
				got, ok := seen[cat]
				if !ok || got != client {
					t.Errorf("event %s: recorded %v with client %q, want client %q", cat, ok, got, client)
				}
			}
		})
	}
}

func issuerURL(t testing.TB, f *facet) *url.URL {
	t.Helper()
	u, err := url.Parse(f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLogoutEverywhereByBearer: an app calling the account API with the person's token
// (scope account) lists the sessions (none is "current" for a token), and after it logs the
// person out everywhere neither its token nor the browser's cookie works.
func TestLogoutEverywhereByBearer(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "offline_access", "account")
			c, err := f.app.store.GetClient(t.Context(), r.clientID)
			if err != nil {
				t.Fatal(err)
			}
			c.Scopes = append(c.Scopes, "account")
			if err := f.app.store.UpdateClient(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			b := newAgent(t, f.issuer)
			ar := r.start()
			tok := exchange(t, r, ar, signUp(t, b, r, ar, "cleo@example.com", "correct horse battery", "Cleo Example"))
			bearer := func(method, path string, out any) int {
				t.Helper()
				req, err := http.NewRequest(method, f.issuer+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := f.client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if out != nil && resp.StatusCode == http.StatusOK {
					if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
						t.Fatal(err)
					}
				}
				return resp.StatusCode
			}
			var list sessionList
			if st := bearer(http.MethodGet, "/api/account/sessions", &list); st != http.StatusOK {
				t.Fatalf("GET /api/account/sessions by bearer: %d", st)
			}
			if len(list.Sessions) != 1 || list.Sessions[0].Current || list.Sessions[0].ClientIDs == nil {
				t.Errorf("sessions by bearer = %+v, want the browser's, not current, client_ids a list", list.Sessions)
			}
			if st := bearer(http.MethodPost, "/api/account/logout-everywhere", nil); st != http.StatusNoContent {
				t.Fatalf("POST /api/account/logout-everywhere by bearer: %d", st)
			}
			if st := bearer(http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("the calling token afterwards: %d, want 401", st)
			}
			if st := accountCall(t, b, http.MethodGet, "/api/account/apps", nil); st != http.StatusUnauthorized {
				t.Errorf("the browser afterwards: %d, want 401", st)
			}
			if !refreshFails(t, r, tok.RefreshToken) {
				t.Error("the refresh token works after log out everywhere")
			}
		})
	}
}

// TestAppsBackchannel: End Sessions tells only that app, with the browser session's sid; log
// out from all devices tells every app.
func TestAppsBackchannel(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			s := signUpAndExchange(t, be, "dana@example.com", "Dana Example")
			f, a, b := s.f, s.r, s.b
			recA, recB := newLogoutReceiver(t), newLogoutReceiver(t)
			registerBackchannel(t, f, a, recA)
			rb := newRP(t, f)
			registerBackchannel(t, f, rb, recB)
			arB := rb.start()
			exchange(t, rb, arB, approve(t, b, b.get(arB.url), arB, f.issuer))
			rawA, _ := s.tok.Extra("id_token").(string)
			_, sidA := idTokenSID(t, a, rawA)

			if st := accountCall(t, b, http.MethodPost, "/api/account/apps/"+url.PathEscape(a.clientID)+"/end-sessions", nil); st != http.StatusNoContent {
				t.Fatalf("End Sessions: %d", st)
			}
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			got := recA.take()
			if len(got) != 1 || len(recB.take()) != 0 {
				t.Fatalf("End Sessions for A: A got %d logout tokens, want 1, and B none", len(got))
			}
			if c := logoutClaims(t, f, got[0]); c["sid"] != sidA || c["aud"] != a.clientID {
				t.Errorf("A's logout token: sid %v aud %v, want %q and A", c["sid"], c["aud"], sidA)
			}

			if st := accountCall(t, b, http.MethodPost, "/api/account/logout-everywhere", nil); st != http.StatusNoContent {
				t.Fatalf("log out everywhere: %d", st)
			}
			if _, err := f.app.logouts.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if nA, nB := len(recA.take()), len(recB.take()); nA < 1 || nB != 1 {
				t.Errorf("log out everywhere: A got %d, B got %d logout tokens; want both told", nA, nB)
			}
		})
	}
}
