package main

import (
	"encoding/hex"
	stdhtml "html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/notifytest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

const closedHome = "https://rp.example.com/home"

// invitationList is GET /api/account/invitations's body.
type invitationList struct {
	Invitations []struct {
		ID         string `json:"id"`
		ClientID   string `json:"client_id"`
		ClientName string `json:"client_name"`
		Email      string `json:"email"`
		InvitedAt  string `json:"invited_at"`
		ExpiresAt  string `json:"expires_at"`
		State      string `json:"state"`
	} `json:"invitations"`
}

// TestInvitations: `facet invite` mails a link (received by a real SMTP server); the
// Requests tab and the API list it with a counter; the wrong account is refused with the
// invited address named and nothing changes; the right one is let in and sent to the app's
// home; the link then no longer works, nor do revoked or expired ones; someone without an
// account registers with the invited address prefilled and, once it is verified, the app
// admits them; the API answers 404 for another person's invitation and declines.
func TestInvitations(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			box := notifytest.StartMailbox(t)
			f := startFacet(t, be.NewURL(t), nil, func(cfg *config.Config) {
				cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS = box.Host, box.Port, notify.TLSNone
				cfg.MailFrom = "Facet Test <facet@example.com>"
			})
			open := newRP(t, f)
			ann, bob := newAgent(t, f.issuer), newAgent(t, f.issuer)
			signUp(t, ann, open, open.start(), "ann@example.com", "correct horse battery", "Ann Example")
			signUp(t, bob, open, open.start(), "bob@example.com", "correct horse battery", "Bob Example")
			verifyEmail(t, f, "ann@example.com")
			verifyEmail(t, f, "bob@example.com")
			closed := newRP(t, f)
			c, err := f.app.store.GetClient(t.Context(), closed.clientID)
			if err != nil {
				t.Fatal(err)
			}
			c.Closed, c.HomeURI, c.Name = true, closedHome, "Team Notes"
			if err := f.app.store.UpdateClient(t.Context(), c); err != nil {
				t.Fatal(err)
			}

			cli := adminCLI(t, f)
			cli.env["FACET_SECRET"] = hex.EncodeToString(testSecret)
			cli.env["FACET_SMTP_HOST"], cli.env["FACET_SMTP_PORT"], cli.env["FACET_SMTP_TLS"] = box.Host, strconv.Itoa(box.Port), notify.TLSNone
			invite := func(email string, extra ...string) (id, link string) {
				t.Helper()
				var sent struct {
					ID        string `json:"id"`
					URL       string `json:"url"`
					ExpiresAt string `json:"expires_at"`
				}
				cli.mustJSON(&sent, append([]string{"invite", "--client", closed.clientID, "--email", email, "--json"}, extra...)...)
				if sent.ID == "" || !strings.HasPrefix(sent.URL, f.issuer+"/invitations/") || sent.ExpiresAt == "" {
					t.Fatalf("invite printed %+v", sent)
				}
				return sent.ID, sent.URL
			}

			annID, annLink := invite("ann@example.com")
			msgs := box.To("ann@example.com")
			if len(msgs) != 1 || !strings.Contains(msgs[0].Text, annLink) || !strings.Contains(msgs[0].Subject, "Team Notes") {
				t.Fatalf("want one mail to ann with the link, got %+v", msgs)
			}
			token := strings.TrimPrefix(annLink, f.issuer+"/invitations/")
			var list []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			}
			cli.mustJSON(&list, "invitations", "list", "--client", closed.clientID, "--json")
			if len(list) != 1 || list[0].ID != annID || list[0].State != "pending" || strings.Contains(cli.must("invitations", "list"), token) {
				t.Fatalf("invitations list = %+v (the token must not be listed)", list)
			}

			// The Requests tab and its counter, the API list.
			tab := ann.get("/profile/requests")
			if tab.status != http.StatusOK || !strings.Contains(tab.body, "Team Notes") || !strings.Contains(tab.body, "/profile/requests/"+annID+"/accept") {
				t.Fatalf("Requests tab: %d\n%s", tab.status, tab.body)
			}
			if !strings.Contains(ann.get("/profile").body, "Requests") {
				t.Error("the sidebar has no Requests tab")
			}
			var api invitationList
			if st := accountCall(t, ann, http.MethodGet, "/api/account/invitations", &api); st != http.StatusOK ||
				len(api.Invitations) != 1 || api.Invitations[0].ClientName != "Team Notes" || api.Invitations[0].State != "pending" {
				t.Fatalf("GET /api/account/invitations: %d %+v", st, api)
			}
			if st := accountCall(t, bob, http.MethodGet, "/api/account/invitations", &api); st != http.StatusOK || len(api.Invitations) != 0 {
				t.Fatalf("bob's invitations: %d %+v", st, api)
			}
			if st := accountCall(t, bob, http.MethodPost, "/api/account/invitations/"+annID+"/accept", nil); st != http.StatusNotFound {
				t.Fatalf("bob accepting ann's invitation: %d, want 404", st)
			}

			// The wrong account: refused, the invited address named, nothing changes.
			p := bob.get(annLink)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "ann@example.com") {
				t.Fatalf("bob opening ann's link: %d\n%s", p.status, p.body)
			}
			ar := closed.start()
			closedRefusal(t, bob.get(ar.url), ar, f.issuer)

			// The right one: access, and on to the app's home.
			p = ann.get(annLink)
			if p.status != http.StatusSeeOther || p.location != closedHome {
				t.Fatalf("ann opening her link: %d to %q, want 303 to %s", p.status, p.location, closedHome)
			}
			ar = closed.start()
			exchange(t, closed, ar, approve(t, ann, ann.get(ar.url), ar, f.issuer))
			// Used once: the link no longer works.
			if p = ann.get(annLink); p.status != http.StatusGone {
				t.Fatalf("reused link: %d, want 410", p.status)
			}
			if p = ann.get("/invitations/not-a-token"); p.status != http.StatusNotFound {
				t.Fatalf("unknown token: %d, want 404", p.status)
			}

			// Revoked and expired invitations.
			revID, revLink := invite("bob@example.com")
			cli.must("invitations", "revoke", revID)
			if _, err := cli.run("invitations", "revoke", revID); err == nil {
				t.Error("revoking twice succeeded")
			}
			if p = bob.get(revLink); p.status != http.StatusGone {
				t.Fatalf("revoked link: %d, want 410", p.status)
			}
			_, expLink := invite("bob@example.com", "--expires", "1ms")
			if p = bob.get(expLink); p.status != http.StatusGone {
				t.Fatalf("expired link: %d, want 410", p.status)
			}
			ar = closed.start()
			closedRefusal(t, bob.get(ar.url), ar, f.issuer)

			// Declining from the API.
			decID, _ := invite("bob@example.com")
			if st := accountCall(t, bob, http.MethodPost, "/api/account/invitations/"+decID+"/decline", nil); st != http.StatusNoContent {
				t.Fatalf("decline: %d, want 204", st)
			}
			if st := accountCall(t, bob, http.MethodPost, "/api/account/invitations/"+decID+"/accept", nil); st != http.StatusConflict {
				t.Fatalf("accepting a declined invitation: %d, want 409", st)
			}

			// No account yet: register with the invited address prefilled; once verified, the
			// app admits the new account.
			_, daveLink := invite("dave@example.com")
			dave := newAgent(t, f.issuer)
			p = dave.get(daveLink)
			i := strings.Index(p.body, `href="/register?`)
			if p.status != http.StatusOK || i < 0 {
				t.Fatalf("the link without a session: %d, want a page with a registration link\n%s", p.status, p.body)
			}
			rest := p.body[i+len(`href="`):]
			reg := dave.get(stdhtml.UnescapeString(rest[:strings.IndexByte(rest, '"')]))
			if !strings.Contains(reg.body, `value="dave@example.com"`) {
				t.Fatalf("the registration form does not propose the invited address:\n%s", reg.body)
			}
			f2 := reg.formWith(t, "/register")
			p = dave.submit(reg, f2, url.Values{"password": {"correct horse battery"}, "confirm": {"correct horse battery"}, "name": {"Dave Example"}}, "")
			if p.status != http.StatusOK || !strings.Contains(p.body, "dave@example.com") || !strings.Contains(p.body, "not verified") {
				t.Fatalf("after registering, the link with the address unverified: %d\n%s", p.status, p.body)
			}
			verifyEmail(t, f, "dave@example.com")
			ar = closed.start()
			exchange(t, closed, ar, approve(t, dave, dave.get(ar.url), ar, f.issuer))
			cli.mustJSON(&list, "invitations", "list", "--json")
			states := map[string]int{}
			for _, inv := range list {
				states[inv.State]++
			}
			if states[storage.InvitationAccepted] != 2 || states[storage.InvitationRevoked] != 1 || states["expired"] != 1 || states[storage.InvitationDeclined] != 1 {
				t.Errorf("invitation states = %v", states)
			}
		})
	}
}
