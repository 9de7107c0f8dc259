package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// appEvents lists userID's app activity, newest first.
func appEvents(t testing.TB, f *facet, userID string) []storage.Event {
	t.Helper()
	evs, err := f.app.store.ListEvents(t.Context(), userID, storage.EventFilter{Categories: profile.AppCategories()})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestAppActivityRecorded runs the flows of a relying party and reads the person's activity
// log: the consent, each code issued (after the login form, on the browser session alone,
// with prompt=none), each refresh-token family started, none for a refresh, a denial and the
// RP-initiated logout, each naming the app, the device's address and what was shared.
func TestAppActivityRecorded(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			// The wall clock: fosite checks auth_time against it. Events are ordered by their
			// microsecond times, so each step's come after the previous step's.
			s := signUpAndExchange(t, be, "act@example.com", "Ada Lovelace")
			f, r, b := s.f, s.r, s.b
			u, err := f.app.store.GetUserByEmail(t.Context(), "act@example.com")
			if err != nil {
				t.Fatal(err)
			}
			kinds := func(evs []storage.Event) []string {
				var out []string
				for _, e := range evs {
					out = append(out, e.Category)
				}
				return out
			}
			want := func(what string, got []storage.Event, categories ...string) {
				t.Helper()
				if g := kinds(got); !slices.Equal(g, categories) {
					t.Fatalf("%s: app events %v, want %v", what, g, categories)
				}
				for _, e := range got {
					if e.ClientID != r.clientID || e.IP != "127.0.0.1" || e.UserID != u.ID {
						t.Fatalf("%s: event %+v does not name the app, the address and the user", what, e)
					}
				}
			}

			// Registration through the app: consent, the code, the family of the exchange.
			evs := appEvents(t, f, u.ID)
			want("sign-up", evs, profile.CategoryAppOffline, profile.CategoryAppSignIn, profile.CategoryAppConsentGiven)
			consentEv := evs[2]
			for _, s := range []string{"openid", "profile", "email", "offline_access"} {
				if !slices.Contains(strings.Split(consentEv.Details[oauth.DetailScopes], ","), s) {
					t.Errorf("consent details %v lack scope %s", consentEv.Details, s)
				}
			}
			if consentEv.Details[oauth.DetailClaims] == "" && consentEv.Details[oauth.DetailPublic] == "" {
				t.Errorf("consent details %v name no claim", consentEv.Details)
			}
			signIn := evs[1]
			if at, err := time.Parse(time.RFC3339, signIn.Details[oauth.DetailAuthTime]); err != nil || time.Since(at) > time.Minute {
				t.Errorf("sign-in auth_time %q: %v", signIn.Details[oauth.DetailAuthTime], err)
			}

			// A refresh continues the family: nothing new.
			if _, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token(); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			want("refresh", appEvents(t, f, u.ID), kinds(evs)...)

			// A silent sign-in on the browser session: no login form, no consent page.
			ar := r.start()
			p := b.get(ar.url)
			code := callback(t, p, ar, f.issuer).Get("code")
			evs = appEvents(t, f, u.ID)
			if len(evs) != 4 || evs[0].Category != profile.CategoryAppSignIn {
				t.Fatalf("silent sign-in: app events %v", kinds(evs))
			}
			if evs[0].Details[oauth.DetailAuthTime] != signIn.Details[oauth.DetailAuthTime] {
				t.Errorf("silent sign-in auth_time %q, want the session's %q", evs[0].Details[oauth.DetailAuthTime], signIn.Details[oauth.DetailAuthTime])
			}
			exchange(t, r, ar, code)
			if evs = appEvents(t, f, u.ID); len(evs) != 5 || evs[0].Category != profile.CategoryAppOffline {
				t.Fatalf("second exchange: app events %v", kinds(evs))
			}

			// prompt=none is a sign-in too; a code that is never exchanged starts no family.
			ar = r.start(oauth2.SetAuthURLParam("prompt", "none"))
			callback(t, b.get(ar.url), ar, f.issuer)
			if evs = appEvents(t, f, u.ID); len(evs) != 6 || evs[0].Category != profile.CategoryAppSignIn {
				t.Fatalf("prompt=none: app events %v", kinds(evs))
			}

			// prompt=consent: Deny, then Allow again (a change of an existing grant).
			ar = r.start(oauth2.SetAuthURLParam("prompt", "consent"))
			p = b.get(ar.url)
			p = b.submit(p, p.formWith(t, "/oauth2/consent"), nil, "deny")
			if q := callback(t, p, ar, f.issuer); q.Get("error") != "access_denied" {
				t.Fatalf("deny: %v", q)
			}
			if evs = appEvents(t, f, u.ID); evs[0].Category != profile.CategoryAppConsentDenied {
				t.Fatalf("deny: app events %v", kinds(evs))
			}
			ar = r.start(oauth2.SetAuthURLParam("prompt", "consent"))
			p = b.get(ar.url)
			p = b.submit(p, p.formWith(t, "/oauth2/consent"), nil, "allow")
			callback(t, p, ar, f.issuer)
			evs = appEvents(t, f, u.ID)
			if got := kinds(evs[:2]); !slices.Equal(got, []string{profile.CategoryAppSignIn, profile.CategoryAppConsentChanged}) {
				t.Fatalf("allow again: app events %v", kinds(evs))
			}

			// RP-initiated logout with the ID token as hint names the app.
			raw, _ := s.tok.Extra("id_token").(string)
			q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {rpPostLogout}, "state": {"bye"}}
			if p := b.get("/oauth2/sessions/logout?" + q.Encode()); !strings.HasPrefix(p.location, rpPostLogout) {
				t.Fatalf("end_session: %d %q", p.status, p.location)
			}
			evs = appEvents(t, f, u.ID)
			want("logout", evs[:1], profile.CategoryAppLogout)

			// The Event Log shows it all in words, under the app group.
			code = logIn(t, b, r, r.start(), "act@example.com", "correct horse battery")
			if code == "" {
				t.Fatal("no code after logging in again")
			}
			page := b.get("/profile/events?category=app")
			for _, text := range []string{"Relying Party", "App allowed", "Signed in to an app", "App stays connected",
				"App request denied", "App permissions changed", "Signed out by an app", "Using your Facet sign-in of"} {
				if !strings.Contains(page.body, text) {
					t.Errorf("the Event Log lacks %q", text)
				}
			}
			if strings.Contains(page.body, "Account created</a>") {
				t.Error("the app group shows the registration")
			}
			// One sign-in's page lists the permissions in words.
			one := b.get("/profile/events/" + appEvents(t, f, u.ID)[0].ID)
			if !strings.Contains(one.body, "Permissions: Know who you are when you sign in") || !strings.Contains(one.body, "Stay connected when you are not using the app") {
				t.Errorf("the sign-in's page does not list the permissions:\n%s", one.body)
			}
		})
	}
}

// TestAppCategories: every kind of app activity oauth records lands in a distinct category
// of the activity log's app group.
func TestAppCategories(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range oauth.ActivityKinds() {
		c := appCategory(k)
		if !slices.Contains(profile.AppCategories(), c) {
			t.Errorf("kind %d records category %q, not an app category", k, c)
		}
		if seen[c] {
			t.Errorf("two kinds record %q", c)
		}
		seen[c] = true
	}
}
