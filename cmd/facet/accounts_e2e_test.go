package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/notifytest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// peer drives the real router in process as one browser at a chosen client address
// (RemoteAddr), keeping its cookies.
type peer struct {
	t    testing.TB
	f    *facet
	addr string // host:port
	jar  *cookiejar.Jar
}

func newPeer(t testing.TB, f *facet, ip string) *peer {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := ip
	if strings.Contains(ip, ":") {
		host = "[" + ip + "]"
	}
	return &peer{t: t, f: f, addr: host + ":40000", jar: jar}
}

// do sends one request through the router and returns the recorded answer.
func (p *peer) do(method, path, contentType, body string) *httptest.ResponseRecorder {
	p.t.Helper()
	req := httptest.NewRequestWithContext(p.t.Context(), method, p.f.issuer+path, strings.NewReader(body))
	req.RemoteAddr = p.addr
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", p.f.issuer)
	u, err := url.Parse(p.f.issuer)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range p.jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	p.f.app.Handler().ServeHTTP(rec, req)
	p.jar.SetCookies(u, rec.Result().Cookies())
	return rec
}

func (p *peer) postForm(path string, form url.Values) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.do(http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode())
}

func (p *peer) postJSON(path, body string) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.do(http.MethodPost, path, "application/json", body)
}

func (p *peer) register(email, password string) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.postForm("/register", url.Values{"email": {email}, "password": {password}, "confirm": {password}, "name": {"Some One"}})
}

func (p *peer) login(email, password string) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.postForm("/login", url.Values{"email": {email}, "password": {password}})
}

// confirmEmail adds addr to p's signed-in account through the account API and confirms it
// with the code mailed to it.
func (p *peer) confirmEmail(box *notifytest.Mailbox, addr string) {
	p.t.Helper()
	before := len(box.To(addr))
	if res := p.postJSON("/api/account/email", `{"email":"`+addr+`"}`); res.Code != http.StatusAccepted {
		p.t.Fatalf("POST /api/account/email %s: %d\n%s", addr, res.Code, res.Body)
	}
	msgs := box.To(addr)
	if len(msgs) != before+1 {
		p.t.Fatalf("want a code mail to %s, got %d mails", addr, len(msgs)-before)
	}
	code := smtpCodeRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if code == nil {
		p.t.Fatalf("no code in the mail to %s:\n%s", addr, msgs[len(msgs)-1].Text)
	}
	if res := p.postJSON("/api/account/email/verify", `{"code":"`+code[1]+`"}`); res.Code != http.StatusOK {
		p.t.Fatalf("verify %s: %d\n%s", addr, res.Code, res.Body)
	}
}

// sessionUser is the id of the user p is signed in as.
func (p *peer) sessionUser() string {
	p.t.Helper()
	res := p.do(http.MethodGet, "/api/account/profile", "", "")
	if res.Code != http.StatusOK {
		p.t.Fatalf("GET /api/account/profile: %d\n%s", res.Code, res.Body)
	}
	var body struct {
		Sub string `json:"sub"`
	}
	if err := jsonDecode(res.Result(), &body); err != nil || body.Sub == "" {
		p.t.Fatalf("GET /api/account/profile: %v\n%s", err, res.Body)
	}
	return body.Sub
}

// startMailFacet starts a server on be whose mail goes to a real SMTP server in process.
func startMailFacet(t *testing.T, be sqltest.Backend, c *clock) (*facet, *notifytest.Mailbox) {
	t.Helper()
	box := notifytest.StartMailbox(t)
	f := startFacet(t, be.NewURL(t), c, func(cfg *config.Config) {
		cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS = box.Host, box.Port, notify.TLSNone
		cfg.MailFrom = "Facet Test <facet@example.com>"
	})
	return f, box
}

// holders returns the accounts holding addr, the confirmed holder first.
func holders(t testing.TB, f *facet, addr string) []storage.User {
	t.Helper()
	users, err := f.app.store.UsersByEmail(t.Context(), addr, 10)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

// TestEmailSquatting: an attacker registers the victim's address without confirming it. The
// victim can still register it (or add it to an existing account), confirms it, and then
// holds it alone: the attacker's account lost it, its password no longer logs in with the
// address, and the victim's does.
func TestEmailSquatting(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name+"/register", func(t *testing.T) {
			f, box := startMailFacet(t, be, nil)
			const victimAddr = "victim@example.com"
			attacker := newPeer(t, f, "198.51.100.7")
			if res := attacker.register(victimAddr, "attacker secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("attacker registers: %d\n%s", res.Code, res.Body)
			}
			attackerID := attacker.sessionUser()

			victim := newPeer(t, f, "203.0.113.9")
			if res := victim.register(victimAddr, "victim secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("victim registers the squatted address: %d, want 303\n%s", res.Code, res.Body)
			}
			victimID := victim.sessionUser()

			// While neither has confirmed it, each password opens its own account only.
			for _, c := range []struct{ password, id string }{{"attacker secret pass", attackerID}, {"victim secret pass", victimID}} {
				p := newPeer(t, f, "192.0.2.50")
				if res := p.login(victimAddr, c.password); res.Code != http.StatusSeeOther {
					t.Fatalf("login before confirmation: %d", res.Code)
				}
				if got := p.sessionUser(); got != c.id {
					t.Errorf("login with one password opened account %s, want %s", got, c.id)
				}
			}

			victim.confirmEmail(box, victimAddr)
			wantSoleHolder(t, f, victimAddr, victimID, attackerID)
			if res := newPeer(t, f, "198.51.100.8").login(victimAddr, "attacker secret pass"); res.Code == http.StatusSeeOther {
				t.Error("the attacker's password still logs in with the victim's address")
			}
			if res := newPeer(t, f, "203.0.113.10").login(victimAddr, "victim secret pass"); res.Code != http.StatusSeeOther {
				t.Errorf("the victim's login: %d, want 303", res.Code)
			}
		})
		t.Run(be.Name+"/add", func(t *testing.T) {
			c := newClock()
			f, box := startMailFacet(t, be, c)
			const victimAddr = "victim@example.com"
			victim := newPeer(t, f, "203.0.113.9")
			if res := victim.register("victim-old@example.com", "victim secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("victim registers: %d\n%s", res.Code, res.Body)
			}
			victimID := victim.sessionUser()
			victim.confirmEmail(box, "victim-old@example.com")

			attacker := newPeer(t, f, "198.51.100.7")
			if res := attacker.register(victimAddr, "attacker secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("attacker registers: %d\n%s", res.Code, res.Body)
			}
			attackerID := attacker.sessionUser()

			// On to the victim's own account: the squatted address is not "taken".
			c.advance(61 * time.Second) // the resend throttle
			victim.confirmEmail(box, victimAddr)
			wantSoleHolder(t, f, victimAddr, victimID, attackerID)
			if got := holders(t, f, "victim-old@example.com"); len(got) != 0 {
				t.Errorf("the old address is still held: %+v", got)
			}
		})
	}
}

// wantSoleHolder checks that owner holds addr confirmed and squatter holds no address.
func wantSoleHolder(t testing.TB, f *facet, addr, owner, squatter string) {
	t.Helper()
	got := holders(t, f, addr)
	if len(got) != 1 || got[0].ID != owner || !got[0].EmailVerified {
		t.Fatalf("holders of %s = %+v, want only the victim, confirmed", addr, got)
	}
	u, err := f.app.store.GetUser(t.Context(), squatter)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "" {
		t.Errorf("the attacker's account still has %q", u.Email)
	}
}

// TestRegisterTakenAddress: registering an address another account has confirmed answers
// exactly like registering a free one (no "already exists"), and the owner is mailed.
func TestRegisterTakenAddress(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f, box := startMailFacet(t, be, nil)
			owner := newPeer(t, f, "203.0.113.9")
			if res := owner.register("owner@example.com", "owner secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("owner registers: %d", res.Code)
			}
			ownerID := owner.sessionUser()
			owner.confirmEmail(box, "owner@example.com")

			taken := newPeer(t, f, "198.51.100.7").register("owner@example.com", "other secret pass")
			free := newPeer(t, f, "198.51.100.8").register("free@example.com", "other secret pass")
			if taken.Code != free.Code || taken.Header().Get("Location") != free.Header().Get("Location") {
				t.Errorf("taken address: %d %q; free address: %d %q", taken.Code, taken.Header().Get("Location"),
					free.Code, free.Header().Get("Location"))
			}
			if strings.Contains(taken.Body.String(), "already exists") {
				t.Error("registration says the address has an account")
			}
			msgs := box.To("owner@example.com")
			if len(msgs) == 0 || msgs[len(msgs)-1].Subject != templates.T("contacts.mail.registered.subject") {
				t.Errorf("no notice to the owner; mails: %+v", msgs)
			}
			got := holders(t, f, "owner@example.com")
			if len(got) != 2 || got[0].ID != ownerID || !got[0].EmailVerified || got[1].EmailVerified {
				t.Errorf("holders = %+v, want the owner confirmed, then the newcomer unconfirmed", got)
			}
		})
	}
}

// TestEmailChangeTakenAddress: POST /api/account/email answers 202 alike for an address
// another account confirmed and a free one (the taken one gets a notice, not a code), and
// the send throttle comes first for both.
func TestEmailChangeTakenAddress(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f, box := startMailFacet(t, be, nil)
			owner := newPeer(t, f, "203.0.113.9")
			owner.register("owner@example.com", "owner secret pass")
			owner.confirmEmail(box, "owner@example.com")

			prober := newPeer(t, f, "198.51.100.7")
			if res := prober.register("prober@example.com", "prober secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("prober registers: %d", res.Code)
			}
			before := len(box.To("owner@example.com"))
			taken := prober.postJSON("/api/account/email", `{"email":"owner@example.com"}`)
			if taken.Code != http.StatusAccepted {
				t.Fatalf("taken address: %d, want 202\n%s", taken.Code, taken.Body)
			}
			msgs := box.To("owner@example.com")
			if len(msgs) != before+1 || msgs[len(msgs)-1].Subject != templates.T("contacts.mail.claimed.subject") ||
				smtpCodeRE.MatchString(msgs[len(msgs)-1].Text) {
				t.Errorf("mail to the taken address: %+v", msgs[before:])
			}
			// Throttled at once, taken or not: the throttle answers before anything else.
			for _, addr := range []string{"owner@example.com", "free@example.com"} {
				if res := prober.postJSON("/api/account/email", `{"email":"`+addr+`"}`); res.Code != http.StatusTooManyRequests {
					t.Errorf("again at once, %s: %d, want 429\n%s", addr, res.Code, res.Body)
				}
			}
			if strings.Contains(taken.Body.String(), "taken") {
				t.Errorf("the answer tells the address is taken: %s", taken.Body)
			}
		})
	}
}

// TestIPv6ThrottleByPrefix: the per-IP login and registration limits count a whole IPv6 /64
// as one client; another /64 is apart; an IPv4-mapped address counts as its IPv4 address.
func TestIPv6ThrottleByPrefix(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := startFacet(t, be.NewURL(t), nil)
			const perIP = 20 // login attempts per IP per window
			for i := range perIP {
				res := newPeer(t, f, fmt.Sprintf("2001:db8:1:2::%x", i+1)).login(fmt.Sprintf("nobody%d@example.com", i), "wrong password")
				if res.Code != http.StatusOK {
					t.Fatalf("attempt %d: %d, want 200", i+1, res.Code)
				}
			}
			if res := newPeer(t, f, "2001:db8:1:2:ffff:1:2:3").login("nobody-x@example.com", "wrong password"); res.Code != http.StatusTooManyRequests {
				t.Errorf("attempt %d from the same /64: %d, want 429", perIP+1, res.Code)
			}
			if res := newPeer(t, f, "2001:db8:1:3::1").login("nobody-y@example.com", "wrong password"); res.Code != http.StatusOK {
				t.Errorf("another /64: %d, want 200", res.Code)
			}

			const registerPerIP = 10
			for i := range registerPerIP {
				res := newPeer(t, f, fmt.Sprintf("2001:db8:9:9::%x", i+1)).register(fmt.Sprintf("new%d@example.com", i), "some secret pass")
				if res.Code != http.StatusSeeOther {
					t.Fatalf("registration %d: %d, want 303", i+1, res.Code)
				}
			}
			if res := newPeer(t, f, "2001:db8:9:9:abcd::1").register("new-x@example.com", "some secret pass"); res.Code != http.StatusTooManyRequests {
				t.Errorf("registration %d from the same /64: %d, want 429", registerPerIP+1, res.Code)
			}

			for i := range perIP {
				if res := newPeer(t, f, "192.0.2.77").login(fmt.Sprintf("v4-%d@example.com", i), "wrong password"); res.Code != http.StatusOK {
					t.Fatalf("IPv4 attempt %d: %d", i+1, res.Code)
				}
			}
			if res := newPeer(t, f, "::ffff:192.0.2.77").login("v4-x@example.com", "wrong password"); res.Code != http.StatusTooManyRequests {
				t.Errorf("IPv4-mapped address after the IPv4 limit: %d, want 429", res.Code)
			}
		})
	}
}

// TestBearerRecentAuth: an app's access token (scope account) starts an email change while
// the login behind it is recent; once that login is older than recent_auth, a token from a
// refresh is refused with a JSON login_required error, however new the token itself is.
func TestBearerRecentAuth(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			// The login happens 20 minutes ago (past recent_auth, 15m) and the clock then
			// returns to the wall clock, which fosite's own expiry checks read.
			c := newClock()
			c.advance(-20 * time.Minute)
			f, _ := startMailFacet(t, be, c)
			cl, secret, err := registration.Create(t.Context(), f.app.store, registration.Spec{
				Name: "Account App", RedirectURIs: []string{rpRedirect},
				GrantTypes: []string{"authorization_code", "refresh_token"},
				Scopes:     []string{"openid", "profile", "email", "offline_access", profile.AccountScope},
			})
			if err != nil {
				t.Fatal(err)
			}
			r := newRP(t, f)
			r.clientID, r.secret = cl.ID, secret
			r.conf.ClientID, r.conf.ClientSecret = cl.ID, secret
			r.conf.Scopes = []string{"openid", "profile", "offline_access", profile.AccountScope}
			r.verifier = r.provider.Verifier(&oidc.Config{ClientID: cl.ID})
			b := newAgent(t, f.issuer)
			ar := r.start()
			tok := exchange(t, r, ar, signUp(t, b, r, ar, "bearer@example.com", "correct horse battery", "Ada Lovelace"))

			start := func(access, addr string) (int, string) {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.issuer+"/api/account/email",
					strings.NewReader(`{"email":"`+addr+`"}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+access)
				resp, err := f.client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct {
					Error       string `json:"error"`
					Description string `json:"error_description"`
				}
				if resp.StatusCode != http.StatusAccepted {
					if err := jsonDecode(resp, &body); err != nil {
						t.Fatalf("error body: %v", err)
					}
				}
				return resp.StatusCode, body.Error + ": " + body.Description
			}
			if status, msg := start(tok.AccessToken, "fresh@example.com"); status != http.StatusAccepted {
				t.Fatalf("fresh login: %d %s, want 202", status, msg)
			}

			c.advance(20 * time.Minute)
			fresh, err := r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			status, msg := start(fresh.AccessToken, "stale@example.com")
			if status != http.StatusForbidden || !strings.HasPrefix(msg, "login_required: ") || !strings.Contains(msg, "prompt=login") {
				t.Errorf("old login, new token: %d %q, want 403 login_required", status, msg)
			}
		})
	}
}

// TestSquatterClaims: an app signed in by an account holding an address unconfirmed sees it
// with email_verified false; once the address's owner registers and confirms it, that app's
// userinfo carries no email for the squatter's account, and the owner's app sees it
// confirmed.
func TestSquatterClaims(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f, box := startMailFacet(t, be, nil)
			r := newRP(t, f)
			const addr = "victim@example.com"
			b := newAgent(t, f.issuer)
			ar := r.start()
			squatterTok := exchange(t, r, ar, signUp(t, b, r, ar, addr, "attacker secret pass", "Mal Lory"))
			ui := userinfo(t, r, squatterTok)
			if ui["email"] != addr || ui["email_verified"] != false {
				t.Fatalf("squatter's userinfo: email %v, email_verified %v; want the address, unverified", ui["email"], ui["email_verified"])
			}

			victim := newPeer(t, f, "203.0.113.9")
			if res := victim.register(addr, "victim secret pass"); res.Code != http.StatusSeeOther {
				t.Fatalf("victim registers: %d\n%s", res.Code, res.Body)
			}
			victim.confirmEmail(box, addr)

			ui = userinfo(t, r, squatterTok)
			if _, has := ui["email"]; has {
				t.Errorf("squatter's userinfo still has email %v (verified %v)", ui["email"], ui["email_verified"])
			}
			vb := newAgent(t, f.issuer)
			ar = r.start()
			victimTok := exchange(t, r, ar, logIn(t, vb, r, ar, addr, "victim secret pass"))
			ui = userinfo(t, r, victimTok)
			if ui["email"] != addr || ui["email_verified"] != true || ui["sub"] == idTokenClaims(t, r, squatterTok)["sub"] {
				t.Errorf("victim's userinfo: %v", ui)
			}
		})
	}
}

// TestCleanupUnverifiedAccounts: the maintenance job deletes an account whose only way in is
// an address never confirmed once it is older than unverified_account_ttl (7 days), and
// keeps confirmed and younger accounts.
func TestCleanupUnverifiedAccounts(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newClock()
			c.advance(-8 * 24 * time.Hour)
			f, box := startMailFacet(t, be, c)
			stale := newPeer(t, f, "192.0.2.60")
			stale.register("stale@example.com", "stale secret pass")
			staleID := stale.sessionUser()
			kept := newPeer(t, f, "192.0.2.61")
			kept.register("kept@example.com", "kept secret pass")
			keptID := kept.sessionUser()
			kept.confirmEmail(box, "kept@example.com")

			c.advance(8 * 24 * time.Hour)
			young := newPeer(t, f, "192.0.2.62")
			young.register("young@example.com", "young secret pass")
			youngID := young.sessionUser()

			f.app.cleanupOnce(t.Context(), "node-a")
			if _, err := f.app.store.GetUser(t.Context(), staleID); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("stale unverified account: %v, want ErrNotFound", err)
			}
			if res := newPeer(t, f, "192.0.2.63").login("stale@example.com", "stale secret pass"); res.Code == http.StatusSeeOther {
				t.Error("the expired account still logs in")
			}
			for _, id := range []string{keptID, youngID} {
				if _, err := f.app.store.GetUser(t.Context(), id); err != nil {
					t.Errorf("account %s: %v", id, err)
				}
			}
		})
	}
}
