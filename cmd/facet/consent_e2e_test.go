package main

import (
	stdhtml "html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// shownClaims returns the claims the consent page p lists as shared: every data-claim
// attribute of the rendered page (space-separated where one line stands for several).
func shownClaims(t testing.TB, p page) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if v, ok := attrOK(n, "data-claim"); ok {
				out = append(out, strings.Fields(v)...)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// putFields stores profile values for the user with email.
func putFields(t testing.TB, f *facet, email string, fields map[string][2]string) storage.User {
	t.Helper()
	ctx := t.Context()
	u, err := f.app.store.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	var pf []storage.ProfileField
	for k, v := range fields {
		pf = append(pf, storage.ProfileField{UserID: u.ID, Field: k, Value: v[0], Privacy: v[1], UpdatedAt: time.Now()})
	}
	if err := f.app.store.PutProfileFields(ctx, pf); err != nil {
		t.Fatal(err)
	}
	return u
}

// registerOnly signs a person up from the login page ar lands on and returns the page
// registration leads to (consent, or "Complete your profile").
func registerOnly(t testing.TB, b *agent, ar authRequest, email, name string) page {
	t.Helper()
	p := b.get(ar.url)
	reg := b.get(registerLink(t, p))
	return b.submit(reg, reg.formWith(t, "/register"), url.Values{
		"email": {email}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}, "name": {name},
	}, "")
}

// TestConsentListsEveryReleasedClaim: every claim the app receives — in the ID token and
// from userinfo, derived claims (name, updated_at, email_verified, phone_number_verified)
// and sub included — is listed on the consent page the user allowed. It fails when the page
// leaves out any claim the app then gets.
func TestConsentListsEveryReleasedClaim(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "email", "phone", "address")
			b := newAgent(t, f.issuer)
			ar := r.start(oauth2.SetAuthURLParam("claims",
				`{"id_token":{"name":null,"email":null,"updated_at":null,"nickname":null},"userinfo":{"phone_number_verified":null}}`))
			if p := registerOnly(t, b, ar, "claims@example.com", "Alex Timofeeva"); p.status != http.StatusOK {
				t.Fatalf("registration: %d at %s", p.status, p.url)
			}
			putFields(t, f, "claims@example.com", map[string][2]string{
				"nickname":     {"Sasha", "public"},
				"website":      {"https://alex.example.org", "on_request"},
				"phone_number": {"+4915550100", "on_request"},
				"birthdate":    {"1990-05-06", "private"},
				"locale":       {"en-GB", ""},
			})
			p := b.get(ar.url)
			shown := shownClaims(t, p)
			for _, want := range []string{"sub", "name", "updated_at", "email_verified", "phone_number_verified", "given_name", "nickname"} {
				if !slices.Contains(shown, want) {
					t.Errorf("consent page does not list %s (lists %v)", want, shown)
				}
			}
			if slices.Contains(shown, "birthdate") {
				t.Errorf("consent page lists the private birthdate as shared: %v", shown)
			}
			for _, text := range []string{"Full name", "Profile last updated", "Also shared, made from the details above"} {
				if !strings.Contains(p.body, text) {
					t.Errorf("consent page lacks %q", text)
				}
			}

			tok := exchange(t, r, ar, approve(t, b, p, ar, f.issuer))
			known := consent.Claims()
			received := map[string]bool{}
			for k := range userinfo(t, r, tok) {
				received[k] = true
			}
			for k := range idTokenClaims(t, r, tok) {
				if slices.Contains(known, k) { // not the protocol's iss, aud, exp, nonce, ...
					received[k] = true
				}
			}
			for k := range received {
				if !slices.Contains(shown, k) {
					t.Errorf("the app received %q, which the consent page did not list (it listed %v)", k, shown)
				}
			}
			for _, want := range []string{"name", "updated_at", "phone_number_verified", "website"} {
				if !received[want] {
					t.Errorf("the app did not receive %s: the test no longer covers it (received %v)", want, received)
				}
			}

			// prompt=consent shows the page although the grant covers the request: the same list.
			again := b.get(r.start(oauth2.SetAuthURLParam("prompt", "consent")).url)
			if got := shownClaims(t, again); !slices.Equal(got, shown) {
				t.Errorf("prompt=consent page lists %v, want %v", got, shown)
			}
		})
	}
}

// TestConsentRemembersDeclines: a claim unticked on the consent page is remembered for the
// app: the next sign-in does not ask (also with prompt=none), the claim stays withheld, a
// page shown for a new claim has it unticked and not marked new, and ticking it there
// allows it and forgets the decline.
func TestConsentRemembersDeclines(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "email")
			b := newAgent(t, f.issuer)
			ar := r.start()
			p := registerOnly(t, b, ar, "declines@example.com", "Alex Timofeeva")
			form := p.formWith(t, "/oauth2/consent")
			if got := form.values["claim"]; !slices.Equal(got, []string{"given_name", "family_name", "email"}) {
				t.Fatalf("first consent ticks %v", got)
			}
			p = b.submit(p, form, url.Values{"claim": {"given_name", "email"}}, "allow")
			tok := exchange(t, r, ar, callback(t, p, ar, f.issuer).Get("code"))
			if ui := userinfo(t, r, tok); ui["family_name"] != nil || ui["given_name"] != "Alex" {
				t.Fatalf("userinfo after declining family_name = %v", ui)
			}
			u, err := f.app.store.GetUserByEmail(ctx, "declines@example.com")
			if err != nil {
				t.Fatal(err)
			}
			ds, err := f.app.store.ListClaimDeclines(ctx, u.ID)
			if err != nil || len(ds) != 1 || ds[0].Claim != "family_name" || ds[0].ClientID != r.clientID {
				t.Fatalf("declines = %+v (%v), want family_name for the app", ds, err)
			}

			// The next sign-in asks nothing: straight back to the app, prompt=none too.
			ar2 := r.start()
			tok2 := exchange(t, r, ar2, callback(t, b.get(ar2.url), ar2, f.issuer).Get("code"))
			if ui := userinfo(t, r, tok2); ui["family_name"] != nil {
				t.Errorf("declined family_name released at the next sign-in: %v", ui)
			}
			arNone := r.start(oauth2.SetAuthURLParam("prompt", "none"))
			if q := callback(t, b.get(arNone.url), arNone, f.issuer); q.Get("error") != "" || q.Get("code") == "" {
				t.Errorf("prompt=none after a decline: %v, want a code", q)
			}

			// A new on-request field shows the page: it is new and ticked; the declined one
			// is unticked and not marked new.
			putFields(t, f, "declines@example.com", map[string][2]string{"nickname": {"Sasha", "on_request"}})
			ar3 := r.start()
			p = b.get(ar3.url)
			form = p.formWith(t, "/oauth2/consent")
			if got := form.values["claim"]; !slices.Equal(got, []string{"given_name", "nickname", "email"}) {
				t.Errorf("page for a new claim ticks %v, want given_name, nickname, email", got)
			}
			label := claimLabel(t, p, "family_name")
			if strings.Contains(label, "(new)") || !strings.Contains(label, "you said no before") {
				t.Errorf("declined family_name reads %q, want no (new) mark and the earlier no", label)
			}
			if label := claimLabel(t, p, "nickname"); !strings.Contains(label, "(new)") {
				t.Errorf("nickname reads %q, want it marked new", label)
			}
			// Ticking it now allows it; unticking nickname declines that one, and unticking the
			// allowed given_name withdraws it — at once, also for tokens issued before.
			if ui := userinfo(t, r, tok2); ui["given_name"] != "Alex" {
				t.Fatalf("userinfo before the change = %v", ui)
			}
			p = b.submit(p, form, url.Values{"claim": {"family_name", "email"}}, "allow")
			tok3 := exchange(t, r, ar3, callback(t, p, ar3, f.issuer).Get("code"))
			if ui := userinfo(t, r, tok3); ui["family_name"] != "Timofeeva" || ui["nickname"] != nil || ui["given_name"] != nil {
				t.Errorf("userinfo after allowing family_name and declining nickname and given_name = %v", ui)
			}
			if ui := userinfo(t, r, tok2); ui["given_name"] != nil {
				t.Errorf("the earlier token still gets the withdrawn given_name: %v", ui)
			}
			ds, err = f.app.store.ListClaimDeclines(ctx, u.ID)
			if err != nil || len(ds) != 2 || ds[0].Claim != "given_name" || ds[1].Claim != "nickname" {
				t.Errorf("declines after the change = %+v (%v), want given_name and nickname", ds, err)
			}
		})
	}
}

// claimLabel is the text of the consent page's checkbox label for claim.
func claimLabel(t testing.TB, p page, claim string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if v, ok := attrOK(n, "data-claim"); ok && n.Type == html.ElementNode && n.Data == "label" && v == claim {
			found = n
		}
		for c := n.FirstChild; c != nil && found == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		t.Fatalf("no checkbox label for %s on the consent page:\n%s", claim, p.body)
	}
	var text strings.Builder
	var collect func(n *html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(found)
	return strings.Join(strings.Fields(text.String()), " ")
}

// TestCompleteProfileForApp: a person who registered without a name reaches "Complete your
// profile" from an app's sign-in. The page names the app and the missing fields; Cancel
// sends the app access_denied through the authorization error path (state and iss
// included); Log out ends the session and comes back to the app's sign-in at the login page.
func TestCompleteProfileForApp(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "email")
			b := newAgent(t, f.issuer)
			ar := r.start()
			p := registerOnly(t, b, ar, "noname@example.com", "")
			if p.url.Path != oauth.PathComplete || p.status != http.StatusOK {
				t.Fatalf("registration without a name: %d at %s, want the completion page", p.status, p.url)
			}
			for _, want := range []string{"To sign you in to Relying Party, your Facet profile needs these details:",
				"<li>Given name</li>", "<li>Family name</li>", "Cancel and go back to Relying Party", "Log out"} {
				if !strings.Contains(stdhtml.UnescapeString(p.body), want) {
					t.Errorf("completion page lacks %q:\n%s", want, p.body)
				}
			}

			// Cancel: the app gets access_denied, with its state and iss.
			cancel := p.formWith(t, "/oauth2/consent")
			q := callback(t, b.submit(p, cancel, nil, ""), ar, f.issuer)
			if q.Get("error") != "access_denied" || q.Get("code") != "" {
				t.Fatalf("cancel: %v, want access_denied", q)
			}
			// The session is still there: the next sign-in comes back to the page.
			p = b.get(r.start().url)
			if p.url.Path != oauth.PathComplete {
				t.Fatalf("after cancel: at %s, want the completion page again", p.url)
			}

			// Log out: the session ends and the sign-in starts over at the login page.
			p = b.submit(p, p.formWith(t, "/logout"), nil, "")
			if p.status != http.StatusOK || p.url.Path != "/login" || !strings.Contains(p.body, "Relying Party") {
				t.Fatalf("log out from the completion page: %d at %s\n%s", p.status, p.url, p.body)
			}
			if p = b.get("/profile"); p.url.Path != "/login" {
				t.Errorf("/profile after logging out: at %s, want the login page", p.url)
			}
		})
	}
}

// TestConsentSettingsWayBack: the consent page's "Change who can see your data" opens the
// privacy settings with a way back to the waiting authorization; the way back survives a
// level change, and following it shows the consent page again, decided from the new level.
// A return_to that is not a known app's authorization request offers no way back.
func TestConsentSettingsWayBack(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			r := newRP(t, f, "openid", "profile", "email")
			b := newAgent(t, f.issuer)
			ar := r.start()
			p := registerOnly(t, b, ar, "wayback@example.com", "Alex Timofeeva")
			link := linkWithText(t, p, "Change who can see your data")
			settings := b.get(link)
			if settings.url.Path != "/profile" || settings.status != http.StatusOK {
				t.Fatalf("settings link %q: %d at %s", link, settings.status, settings.url)
			}
			back := linkWithText(t, settings, "Back to Relying Party")
			if u, err := url.Parse(back); err != nil || u.Path != "/oauth2/auth" || u.Query().Get("state") != ar.state || u.Host != "" {
				t.Fatalf("way back %q is not the waiting authorization request", back)
			}

			// Make family_name private from that page: it comes back with the way back.
			lvl := settings.formWith(t, "/profile/privacy/family_name")
			settings = b.submit(settings, lvl, url.Values{"level": {"private"}}, "")
			if settings.url.Path != "/profile" || linkWithText(t, settings, "Back to Relying Party") != back {
				t.Fatalf("after a level change: at %s, the way back is gone", settings.url)
			}
			p = b.get(back)
			form := p.formWith(t, "/oauth2/consent")
			if got := form.values["claim"]; !slices.Equal(got, []string{"given_name", "email"}) {
				t.Errorf("consent page after making family_name private ticks %v", got)
			}
			if !strings.Contains(p.body, "Kept private") {
				t.Error("consent page does not show family_name as kept private")
			}

			// A return_to that is no app's waiting request gives no way back.
			for _, rt := range []string{"/profile/events", "https://evil.example/oauth2/auth?client_id=" + r.clientID, "/oauth2/auth?client_id=nobody"} {
				p := b.get("/profile?" + url.Values{"return_to": {rt}}.Encode())
				if strings.Contains(p.body, "Back to") {
					t.Errorf("return_to %q offers a way back", rt)
				}
			}
		})
	}
}

// linkWithText returns the href of p's first link whose text contains text.
func linkWithText(t testing.TB, p page, text string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	var href string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			var sb strings.Builder
			var collect func(n *html.Node)
			collect = func(n *html.Node) {
				if n.Type == html.TextNode {
					sb.WriteString(n.Data)
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					collect(c)
				}
			}
			collect(n)
			if v, ok := attrOK(n, "href"); ok && strings.Contains(sb.String(), text) && href == "" {
				href = v
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if href == "" {
		t.Fatalf("no link %q on %s:\n%s", text, p.url, p.body)
	}
	return href
}
