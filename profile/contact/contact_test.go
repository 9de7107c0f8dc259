package contact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/notifytest"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// mailbox is notifytest's in-process SMTP server with the look-ups these tests use.
type mailbox struct {
	*notifytest.Mailbox
	t    *testing.T
	addr string
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	box := notifytest.StartMailbox(t)
	return &mailbox{Mailbox: box, t: t, addr: box.Addr}
}

// last returns the newest message to addr, failing when there is none.
func (m *mailbox) last(addr string) notifytest.Message {
	m.t.Helper()
	msgs := m.To(addr)
	if len(msgs) == 0 {
		m.t.Fatalf("no mail to %s", addr)
	}
	return msgs[len(msgs)-1]
}

func (m *mailbox) count(addr string) int { return len(m.To(addr)) }

var (
	mailCodeRE = regexp.MustCompile(`code is (\d{6})`)
	mailLinkRE = regexp.MustCompile(`http://facet\.test(/profile/email/confirm\?token=[A-Za-z0-9_-]+)`)
)

// code returns the code of the newest message to addr.
func (m *mailbox) code(addr string) string {
	m.t.Helper()
	msg := m.last(addr)
	c := mailCodeRE.FindStringSubmatch(msg.Text)
	if c == nil {
		m.t.Fatalf("no code in mail to %s: %q", addr, msg.Text)
	}
	return c[1]
}

// link returns the one-click path of the newest message to addr.
func (m *mailbox) link(addr string) string {
	m.t.Helper()
	msg := m.last(addr)
	c := mailLinkRE.FindStringSubmatch(msg.Text)
	if c == nil {
		m.t.Fatalf("no link in mail to %s: %q", addr, msg.Text)
	}
	return c[1]
}

// gateway is a real HTTP server receiving the signed webhook texts.
type gateway struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	texts  map[string]string // last text by number
	bad    int               // deliveries with a bad signature
}

func startGateway(t *testing.T) (*gateway, *httptest.Server) {
	g := &gateway{t: t, secret: bytes.Repeat([]byte("w"), 32), texts: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if !notify.VerifyWebhook(g.secret, r.Header.Get(notify.WebhookTimestampHeader), r.Header.Get(notify.WebhookSignatureHeader), body, time.Now(), time.Minute) {
			g.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m struct{ To, Channel, Text, ID string }
		if err := json.Unmarshal(body, &m); err != nil || m.Channel != "sms" || m.ID == "" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		g.texts[m.To] = m.Text
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return g, srv
}

var smsCodeRE = regexp.MustCompile(`code is (\d{6})`)

func (g *gateway) code(number string) string {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := smsCodeRE.FindStringSubmatch(g.texts[number])
	if c == nil {
		g.t.Fatalf("no code sent to %s (texts %v)", number, g.texts)
	}
	return c[1]
}

// cEnv is the account core with the contacts mounted and real delivery: SMTP into a
// mailbox, texts into a gateway.
type cEnv struct {
	*profiletest.Env
	t   *testing.T
	h   *Handler
	box *mailbox
	gw  *gateway
}

// recorder is the activity log's recorder on the env's store and clock.
func recorder(store storage.Storage, now func() time.Time) profile.Recorder {
	return activity.NewRecorder(store, nil, now)
}

// newContactEnv builds the env; dev is development mode (the log senders and /dev/mail
// instead of the mailbox and the gateway).
func newContactEnv(t *testing.T, b sqltest.Backend, dev bool) *cEnv {
	t.Helper()
	ce := &cEnv{t: t, box: startMailbox(t)}
	gw, gsrv := startGateway(t)
	ce.gw = gw
	ce.Env = profiletest.New(t, b, func(c *profile.Config, d *profile.Deps) {
		c.Development = dev
		if dev {
			return
		}
		host, port, _ := net.SplitHostPort(ce.box.addr)
		p, _ := strconv.Atoi(port)
		m, err := notify.NewMailer(notify.MailConfig{Host: host, Port: p, TLS: notify.TLSNone, From: "Facet <no-reply@facet.test>"})
		if err != nil {
			t.Fatal(err)
		}
		d.Mail = m
	}, recorder, func(k profiletest.Kit) []profiletest.Module {
		var phone notify.Sender
		if !dev {
			var err error
			phone, err = notify.NewWebhookSender(notify.WebhookConfig{URL: gsrv.URL, Secret: gw.secret, Channels: []notify.Channel{notify.SMS}, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
		}
		h, err := New(Config{Issuer: k.Config.Issuer, Secret: k.Config.Secret, Development: dev},
			Deps{Kit: k.Core, Store: k.Store, Events: k.Events, Phone: phone, Now: k.Now})
		if err != nil {
			t.Fatal(err)
		}
		ce.h = h
		return []profiletest.Module{h, activity.New(k.Core, k.Store, 0, k.Now)}
	})
	return ce
}

func eachContactBackend(t *testing.T, fn func(t *testing.T, e *cEnv)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newContactEnv(t, b, false)) })
	}
}

// browser is a profiletest browser with the calls these tests make.
type browser struct{ *profiletest.Browser }

func (e *cEnv) browser(ip string) *browser { return &browser{e.Browser(ip)} }

func (b *browser) get(path string) profiletest.Response { return b.Get(path) }

func (b *browser) post(path string, form url.Values) profiletest.Response {
	if form == nil {
		form = url.Values{}
	}
	return b.Post(path, form)
}

func (b *browser) login(email, password string) profiletest.Response {
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func (b *browser) current() (storage.Session, bool) { return b.Current() }

// accountCounter is the core's per-account login counter key.
func accountCounter(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return "login:account:" + hex.EncodeToString(sum[:16])
}

// callJSON sends a JSON body (or none) from browser b.
func (b *browser) callJSON(method, path, body string) profiletest.Response {
	if body == "" {
		return b.Do(method, path, "", nil)
	}
	return b.Do(method, path, "application/json", strings.NewReader(body))
}

// person registers email in a new browser, confirms the address and returns both.
func (e *cEnv) person(email, ip string) (*browser, storage.User) {
	e.t.Helper()
	b, u := e.SignUp(email, "Test Person", ip)
	if _, err := e.Store.VerifyEmail(e.t.Context(), u.ID, email, u.UpdatedAt); err != nil {
		e.t.Fatal(err)
	}
	return &browser{b}, e.user(u.ID)
}

func (e *cEnv) user(id string) storage.User {
	e.t.Helper()
	u, err := e.Store.GetUser(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *cEnv) field(userID, key string) (string, string) {
	e.t.Helper()
	fields, err := e.Store.GetProfileFields(e.t.Context(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fields {
		if f.Field == key {
			return f.Value, f.Privacy
		}
	}
	return "", ""
}

func wantStatus(t *testing.T, what string, res profiletest.Response, status int, parts ...string) {
	t.Helper()
	profiletest.WantStatus(t, what, res, status, parts...)
}

// goodPassword is the password profiletest registers with.
const goodPassword = profiletest.Password

func TestEmailChangeWithCode(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("alex@example.com", "192.0.2.10")
		wantStatus(t, "email page", b.get("/profile/email"), 200, "alex@example.com", `action="/profile/email"`)

		res := b.post("/profile/email", url.Values{"email": {" New@Example.COM "}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile/email?done=sent" {
			t.Fatalf("start: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		if got := e.user(u.ID).Email; got != "alex@example.com" {
			t.Fatalf("address changed before confirmation: %s", got)
		}
		msg := e.box.last("new@example.com")
		if msg.Subject != templates.T("contacts.mail.code.subject") {
			t.Errorf("subject %q", msg.Subject)
		}
		code := e.box.code("new@example.com")
		wantStatus(t, "page with pending code", b.get("/profile/email?done=sent"), 200, "new@example.com", `action="/profile/email/verify"`, `autocomplete="one-time-code"`)

		// The code is stored only as an HMAC.
		v, err := e.Store.GetVerification(t.Context(), u.ID, storage.ContactEmail)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(v.CodeHash, []byte(code)) || len(v.CodeHash) != 32 || len(v.LinkHash) != 32 {
			t.Errorf("stored verification %+v", v)
		}
		if !v.ExpiresAt.Equal(e.Clock.Now().Add(10 * time.Minute)) {
			t.Errorf("expires %v", v.ExpiresAt)
		}

		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		wantStatus(t, "wrong code", b.post("/profile/email/verify", url.Values{"code": {wrong}}), 422, "Attempts left: 4", `aria-invalid="true"`)
		wantStatus(t, "not a code", b.post("/profile/email/verify", url.Values{"code": {"12ab"}}), 422, "Enter the 6-digit code.")

		res = b.post("/profile/email/verify", url.Values{"code": {code[:3] + " " + code[3:]}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile/email?done=saved" {
			t.Fatalf("verify: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		got := e.user(u.ID)
		if got.Email != "new@example.com" || !got.EmailVerified {
			t.Fatalf("after verify: %+v", got)
		}
		notice := e.box.last("alex@example.com")
		if notice.Subject != templates.T("contacts.mail.changed.subject") || !strings.Contains(notice.Text, "new@example.com") {
			t.Errorf("notice to the old address: %+v", notice)
		}
		wantStatus(t, "saved", b.get("/profile/email?done=saved"), 200, "Your email address is confirmed.", "new@example.com")
		wantStatus(t, "same verified address", b.post("/profile/email", url.Values{"email": {"new@example.com"}}), 422, "already your confirmed address")

		// Single use: the same code again finds nothing.
		wantStatus(t, "reused code", b.post("/profile/email/verify", url.Values{"code": {code}}), 404, "no code waiting")
		// The new address logs in.
		b2 := e.browser("192.0.2.11")
		if res := b2.login("new@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login with the new address: %d", res.Status)
		}
	})
}

func TestEmailChangeWithLink(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		a, ua := e.person("ann@example.com", "192.0.2.20")
		other, _ := e.person("bob@example.com", "192.0.2.21")
		wantStatus(t, "start", a.post("/profile/email", url.Values{"email": {"ann.new@example.com"}}), 303)
		link := e.box.link("ann.new@example.com")

		// Someone else signed in: the link does not exist for them.
		wantStatus(t, "link by another user", other.get(link), 404)
		// Nobody signed in: log in first, then back to the link.
		anon := e.browser("192.0.2.22")
		res := anon.get(link)
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, "/login?") {
			t.Fatalf("anonymous: %d %s", res.Status, res.Location)
		}
		back, _ := url.Parse(res.Location)
		if back.Query().Get("return_to") != link {
			t.Fatalf("return_to %q, want %q", back.Query().Get("return_to"), link)
		}
		res = anon.post("/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}, "return_to": {link}})
		if res.Status != http.StatusSeeOther || res.Location != link {
			t.Fatalf("login back to the link: %d %s", res.Status, res.Location)
		}
		res = anon.get(link)
		if res.Status != http.StatusSeeOther || res.Location != "/profile/email?done=saved" {
			t.Fatalf("link: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		if got := e.user(ua.ID); got.Email != "ann.new@example.com" || !got.EmailVerified {
			t.Fatalf("after link: %+v", got)
		}
		if e.box.count("ann@example.com") != 1 {
			t.Errorf("old address got %d notices", e.box.count("ann@example.com"))
		}
		// Single use.
		wantStatus(t, "link again", a.get(link), 404)
		wantStatus(t, "garbage token", a.get("/profile/email/confirm?token=x"), 404)
	})
}

func TestEmailCodeLimits(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("cat@example.com", "192.0.2.30")
		start := func(addr string) profiletest.Response { return b.post("/profile/email", url.Values{"email": {addr}}) }

		// Resend throttled for a minute, across addresses.
		wantStatus(t, "first", start("cat2@example.com"), 303)
		res := start("cat2@example.com")
		wantStatus(t, "resend at once", res, 429, "seconds")
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 1 || ra > 60 {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		wantStatus(t, "other address at once", start("cat3@example.com"), 429)
		e.Clock.Add(61 * time.Second)
		wantStatus(t, "resend after a minute", start("cat2@example.com"), 303)
		code := e.box.code("cat2@example.com")

		// Expired after 10 minutes.
		e.Clock.Add(10*time.Minute + time.Second)
		wantStatus(t, "expired", b.post("/profile/email/verify", url.Values{"code": {code}}), 422, "expired")
		if e.user(u.ID).Email != "cat@example.com" {
			t.Fatal("expired code applied")
		}

		// Five wrong attempts, then even the right code is refused.
		e.Clock.Add(time.Minute)
		// Login is no longer recent (12+ minutes ago is within 15: still fine).
		wantStatus(t, "new code", start("cat4@example.com"), 303)
		code = e.box.code("cat4@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 4; i >= 1; i-- {
			wantStatus(t, "wrong", b.post("/profile/email/verify", url.Values{"code": {wrong}}), 422, "Attempts left: "+strconv.Itoa(i))
		}
		wantStatus(t, "fifth wrong", b.post("/profile/email/verify", url.Values{"code": {wrong}}), 429, "Too many wrong codes")
		wantStatus(t, "sixth, right code", b.post("/profile/email/verify", url.Values{"code": {code}}), 429, "Too many wrong codes")
		if e.user(u.ID).Email != "cat@example.com" {
			t.Fatal("code applied after five wrong attempts")
		}

		// A login older than RecentAuth must be repeated before changing the address.
		e.Clock.Add(16 * time.Minute)
		res = start("cat5@example.com")
		if res.Status != http.StatusSeeOther || res.Location != "/login?prompt=login&return_to=/profile/email" {
			t.Fatalf("stale login: %d %s", res.Status, res.Location)
		}
		wantStatus(t, "page asks to log in again", b.get("/profile/email"), 200, "confirm it is you")
	})
}

func TestEmailHourlyLimit(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, _ := e.person("dan@example.com", "192.0.2.35")
		for i := range sendsPerHour {
			wantStatus(t, "send "+strconv.Itoa(i), b.post("/profile/email", url.Values{"email": {"dan2@example.com"}}), 303)
			e.Clock.Add(61 * time.Second)
		}
		wantStatus(t, "eleventh in the hour", b.post("/profile/email", url.Values{"email": {"dan2@example.com"}}), 429, "last hour")
	})
}

func TestEmailOwnership(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		a, ua := e.person("eve@example.com", "192.0.2.40")
		bob, ub := e.person("bob@example.com", "192.0.2.41")

		// An address another account confirmed: answered like any other (the answer must not
		// tell which addresses have accounts); the address gets a notice, not a code, and
		// the change cannot be confirmed.
		wantStatus(t, "taken", a.post("/profile/email", url.Values{"email": {"bob@example.com"}}), 303)
		if m := e.box.last("bob@example.com"); m.Subject != templates.T("contacts.mail.claimed.subject") || strings.Contains(m.Text, "/profile/email/confirm") {
			t.Errorf("mail to the taken address: %+v", m)
		}
		wantStatus(t, "taken, pending", a.get("/profile/email"), 200, "bob@example.com")
		e.Clock.Add(61 * time.Second)
		wantStatus(t, "invalid", a.post("/profile/email", url.Values{"email": {"not-an-address"}}), 422, "name@example.com")

		// Someone else's pending verification cannot be confirmed by another user: the code is
		// bound to its user.
		wantStatus(t, "start", a.post("/profile/email", url.Values{"email": {"eve.new@example.com"}}), 303)
		code := e.box.code("eve.new@example.com")
		wantStatus(t, "bob enters eve's code (nothing pending)", bob.post("/profile/email/verify", url.Values{"code": {code}}), 404)
		wantStatus(t, "bob starts his own", bob.post("/profile/email", url.Values{"email": {"bob.new@example.com"}}), 303)
		wantStatus(t, "bob enters eve's code", bob.post("/profile/email/verify", url.Values{"code": {code}}), 422)
		if e.user(ub.ID).Email != "bob@example.com" {
			t.Fatal("bob's address changed")
		}

		// Someone registers the address unconfirmed between sending and confirming: it
		// reserves nothing, eve confirms it and the squatter loses it.
		other := e.browser("192.0.2.42")
		other.Register("eve.new@example.com", goodPassword, "Squatter", "/")
		squatter, _ := other.current()
		wantStatus(t, "confirm over an unconfirmed holder", a.post("/profile/email/verify", url.Values{"code": {code}}), 303)
		if got := e.user(ua.ID); got.Email != "eve.new@example.com" || !got.EmailVerified {
			t.Fatalf("eve after confirming: %+v", got)
		}
		if got := e.user(squatter.UserID); got.Email != "" {
			t.Fatalf("squatter kept the address: %+v", got)
		}

		// Another account confirms the address between sending and confirming: 409,
		// nothing changes.
		e.Clock.Add(61 * time.Second)
		wantStatus(t, "start again", a.post("/profile/email", url.Values{"email": {"eve.third@example.com"}}), 303)
		code = e.box.code("eve.third@example.com")
		e.person("eve.third@example.com", "192.0.2.43")
		wantStatus(t, "confirm taken", a.post("/profile/email/verify", url.Values{"code": {code}}), 409, "belongs to another account")
		if e.user(ua.ID).Email != "eve.new@example.com" {
			t.Fatal("eve's address changed to a taken one")
		}
	})
}

func TestEmailDelete(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("fay@example.com", "192.0.2.50")
		page := b.get("/profile/email")
		if strings.Contains(page.Body, `action="/profile/email/delete"`) {
			t.Error("delete offered without another way to log in")
		}
		wantStatus(t, "refused", b.post("/profile/email/delete", nil), 409, "only way to log in")
		if e.user(u.ID).Email != "fay@example.com" {
			t.Fatal("deleted anyway")
		}
		if err := e.Store.PutProfileFields(t.Context(), []storage.ProfileField{{UserID: u.ID, Field: "preferred_username", Value: "fay", Privacy: "public", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "offered", b.get("/profile/email"), 200, `action="/profile/email/delete"`)
		res := b.post("/profile/email/delete", nil)
		if res.Status != http.StatusSeeOther || res.Location != "/profile/email?done=deleted" {
			t.Fatalf("delete: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		got := e.user(u.ID)
		if storage.HasEmail(got) || got.EmailVerified {
			t.Fatalf("after delete: %+v", got)
		}
		if n := e.box.count("fay@example.com"); n != 1 {
			t.Errorf("notices to the deleted address: %d", n)
		}
		wantStatus(t, "page without address", b.get("/profile/email?done=deleted"), 200, "You have no email address.", "was deleted")
		wantStatus(t, "delete again", b.post("/profile/email/delete", nil), 404)
		// A new address can be added again.
		wantStatus(t, "add", b.post("/profile/email", url.Values{"email": {"fay2@example.com"}}), 303)
		wantStatus(t, "verify", b.post("/profile/email/verify", url.Values{"code": {e.box.code("fay2@example.com")}}), 303)
		if got := e.user(u.ID); got.Email != "fay2@example.com" || !got.EmailVerified {
			t.Fatalf("re-added: %+v", got)
		}
	})
}

func TestPhoneVerificationByWebhook(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("gil@example.com", "192.0.2.60")
		if err := e.Store.PutProfileFields(t.Context(), []storage.ProfileField{{UserID: u.ID, Field: "phone_number", Value: "", Privacy: "public", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		page := b.get("/profile/phone")
		wantStatus(t, "phone page", page, 200, `type="tel"`, `name="channel" value="sms"`)
		if strings.Contains(page.Body, `value="call"`) {
			t.Error("call offered by an SMS-only gateway")
		}
		wantStatus(t, "invalid", b.post("/profile/phone", url.Values{"phone_number": {"12345"}}), 422, "not a valid phone number", `value="12345"`)
		wantStatus(t, "call unsupported", b.post("/profile/phone", url.Values{"phone_number": {"(201) 555-0123"}, "channel": {"call"}}), 422, "how to receive")

		res := b.post("/profile/phone", url.Values{"phone_number": {"(201) 555-0123"}, "channel": {"sms"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("start: %d\n%s", res.Status, res.Body)
		}
		wantStatus(t, "pending", b.get("/profile/phone?done=sent"), 200, "&#43;1 201-555-0123", `action="/profile/phone/verify"`,
			// The code step offers a new code for the same number.
			`<input type="hidden" name="phone_number" value="&#43;12015550123">`, templates.T("contacts.send_again"))
		first := e.gw.code("+12015550123")
		if res := b.post("/profile/phone", url.Values{"phone_number": {"+12015550123"}}); res.Status != http.StatusTooManyRequests {
			t.Fatalf("a new code at once: %d, want 429", res.Status)
		}
		e.Clock.Add(61 * time.Second)
		if res := b.post("/profile/phone", url.Values{"phone_number": {"+12015550123"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("send a new code: %d\n%s", res.Status, res.Body)
		}
		code := e.gw.code("+12015550123")
		if code == first {
			t.Log("the new code happens to equal the first one")
		}
		v, err := e.Store.GetVerification(t.Context(), u.ID, storage.ContactPhone)
		if err != nil || !v.ExpiresAt.Equal(e.Clock.Now().Add(5*time.Minute)) || v.Channel != "sms" {
			t.Fatalf("verification %+v %v", v, err)
		}
		res = b.post("/profile/phone/verify", url.Values{"code": {code}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile/phone?done=saved" {
			t.Fatalf("verify: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		if val, privacy := e.field(u.ID, "phone_number"); val != "+12015550123" || privacy != "public" {
			t.Fatalf("phone field %q %q (privacy must be kept)", val, privacy)
		}
		wantStatus(t, "current", b.get("/profile/phone"), 200, "<strong>&#43;1 201-555-0123</strong>")
		if e.gw.bad != 0 {
			t.Errorf("%d deliveries with bad signatures", e.gw.bad)
		}
		// The account's email is told of the new number.
		if m := e.box.last("gil@example.com"); m.Subject != templates.T("contacts.mail.phone_changed.subject") || !strings.Contains(m.Text, "+12015550123") {
			t.Errorf("phone change notice: %+v", m)
		}

		// The number belongs to gil now: another account gets 409, both at start and (if it
		// raced) at confirmation.
		h, uh := e.person("hal@example.com", "192.0.2.61")
		wantStatus(t, "taken", h.post("/profile/phone", url.Values{"phone_number": {"+1 201 555 0123"}}), 409, "belongs to another account")
		wantStatus(t, "hal's own", h.post("/profile/phone", url.Values{"phone_number": {"+1 201 555 0199"}}), 303)
		hcode := e.gw.code("+12015550199")
		if err := e.Store.PutProfileFields(t.Context(), []storage.ProfileField{{UserID: u.ID, Field: "phone_number", Value: "+12015550199", Privacy: "public", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "confirm taken", h.post("/profile/phone/verify", url.Values{"code": {hcode}}), 409)
		if val, _ := e.field(uh.ID, "phone_number"); val != "" {
			t.Fatalf("hal got a taken number: %q", val)
		}

		// Expired after 5 minutes.
		e.Clock.Add(61 * time.Second)
		wantStatus(t, "hal again", h.post("/profile/phone", url.Values{"phone_number": {"+1 201 555 0188"}}), 303)
		hcode = e.gw.code("+12015550188")
		e.Clock.Add(5*time.Minute + time.Second)
		wantStatus(t, "expired", h.post("/profile/phone/verify", url.Values{"code": {hcode}}), 422, "expired")

		// Delete.
		res = b.post("/profile/phone/delete", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d\n%s", res.Status, res.Body)
		}
		if val, _ := e.field(u.ID, "phone_number"); val != "" {
			t.Fatalf("after delete: %q", val)
		}
		if m := e.box.last("gil@example.com"); m.Subject != templates.T("contacts.mail.phone_deleted.subject") {
			t.Errorf("phone delete notice: %+v", m)
		}
		wantStatus(t, "delete again", b.post("/profile/phone/delete", nil), 404)
	})
}

func TestContactsAPI(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("ivy@example.com", "192.0.2.70")
		anon := e.browser("192.0.2.71")
		wantStatus(t, "anonymous", anon.callJSON(http.MethodPost, "/api/account/email", `{"email":"x@example.com"}`), 401)

		wantStatus(t, "not json", b.post("/api/account/email", url.Values{"email": {"x@example.com"}}), 415)
		wantStatus(t, "bad email", b.callJSON(http.MethodPost, "/api/account/email", `{"email":"nope"}`), 422, `"error":"validation_failed"`, `"fields":{"email":`)
		wantStatus(t, "start", b.callJSON(http.MethodPost, "/api/account/email", `{"email":"ivy.new@example.com"}`), 202, `"status":"code_sent"`, `"email":"ivy.new@example.com"`)
		wantStatus(t, "throttled", b.callJSON(http.MethodPost, "/api/account/email", `{"email":"ivy.new@example.com"}`), 429, `"error":"too_many_requests"`)
		code := e.box.code("ivy.new@example.com")
		wantStatus(t, "wrong", b.callJSON(http.MethodPost, "/api/account/email/verify", `{"code":"99999"}`), 422, `"fields":{"code":`)
		wantStatus(t, "verify", b.callJSON(http.MethodPost, "/api/account/email/verify", `{"code":"`+code+`"}`), 200, `"verified":true`)
		wantStatus(t, "reused", b.callJSON(http.MethodPost, "/api/account/email/verify", `{"code":"`+code+`"}`), 404, `"error":"no_pending_verification"`)
		if e.user(u.ID).Email != "ivy.new@example.com" {
			t.Fatal("API verify did not apply")
		}
		wantStatus(t, "delete refused", b.callJSON(http.MethodDelete, "/api/account/email", ""), 409, `"error":"sign_in_method_required"`)

		wantStatus(t, "phone invalid", b.callJSON(http.MethodPost, "/api/account/phone", `{"phone_number":"+1 2","channel":"sms"}`), 422, `"phone_number":`)
		wantStatus(t, "phone channel", b.callJSON(http.MethodPost, "/api/account/phone", `{"phone_number":"+44 20 7946 0958","channel":"fax"}`), 422, `"channel":`)
		wantStatus(t, "phone start", b.callJSON(http.MethodPost, "/api/account/phone", `{"phone_number":"+44 20 7946 0958","channel":"sms"}`), 202, `"phone_number":"+442079460958"`)
		pcode := e.gw.code("+442079460958")
		wantStatus(t, "phone verify", b.callJSON(http.MethodPost, "/api/account/phone/verify", `{"code":"`+pcode+`"}`), 200, `"phone_number":"+442079460958"`)
		wantStatus(t, "phone delete", b.callJSON(http.MethodDelete, "/api/account/phone", ""), 204)
		wantStatus(t, "phone delete again", b.callJSON(http.MethodDelete, "/api/account/phone", ""), 404)

		// A stale browser login cannot change contacts through the API either.
		e.Clock.Add(16 * time.Minute)
		wantStatus(t, "stale", b.callJSON(http.MethodPost, "/api/account/phone", `{"phone_number":"+44 20 7946 0958"}`), 403, `"error":"login_required"`)
		wantStatus(t, "stale delete", b.callJSON(http.MethodDelete, "/api/account/email", ""), 403)
	})
}

func TestDevMail(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend.Name, func(t *testing.T) {
			e := newContactEnv(t, backend, true)
			// /dev/mail answers a browser on this machine only.
			b, u := e.person("jo@example.com", "127.0.0.1")
			wantStatus(t, "start", b.post("/profile/email", url.Values{"email": {"jo.new@example.com"}}), 303)
			wantStatus(t, "dev mail from another machine", e.browser("192.0.2.80").get("/dev/mail"), 404)
			page := b.get("/dev/mail")
			wantStatus(t, "dev mail", page, 200, "jo.new@example.com", "Confirm your email address")
			// The confirmation link is a link, and the whole message is shown.
			if !regexp.MustCompile(`<a href="https?://[^"]+/profile/email/confirm\?[^"]+">https?://`).MatchString(page.Body) {
				t.Errorf("the confirmation link on /dev/mail is not a link:\n%s", page.Body)
			}
			c := mailCodeRE.FindStringSubmatch(page.Body)
			if c == nil {
				t.Fatalf("no code on /dev/mail:\n%s", page.Body)
			}
			wantStatus(t, "verify from dev mail", b.post("/profile/email/verify", url.Values{"code": {c[1]}}), 303)
			if e.user(u.ID).Email != "jo.new@example.com" {
				t.Fatal("not applied")
			}
			// The development SMS sender offers both channels and lands in the same outbox.
			wantStatus(t, "both channels", b.get("/profile/phone"), 200, `value="sms"`, `value="call"`)
			wantStatus(t, "call", b.post("/profile/phone", url.Values{"phone_number": {"+12015550123"}, "channel": {"call"}}), 303)
			wantStatus(t, "call on dev mail", b.get("/dev/mail"), 200, "12015550123", "Your Facet code is: ")
			if e.box.count("jo.new@example.com") != 0 {
				t.Error("development mail went to SMTP")
			}

			prod := newContactEnv(t, backend, false)
			pb, _ := prod.person("kay@example.com", "192.0.2.81")
			wantStatus(t, "no dev mail outside development", pb.get("/dev/mail"), 404)
		})
	}
}

func TestUnconfiguredDelivery(t *testing.T) {
	e := newContactEnv(t, sqltest.Backend{Name: "sqlite"}, false)
	mailer := e.Core.Mail
	e.Core.Mail, e.h.phone = nil, nil
	b, u := e.person("lee@example.com", "192.0.2.90")
	wantStatus(t, "no mailer", b.post("/profile/email", url.Values{"email": {"lee2@example.com"}}), 503, "cannot be sent")
	wantStatus(t, "no phone sender", b.get("/profile/phone"), 200, "cannot be confirmed on this server")
	wantStatus(t, "no phone sender (API)", b.callJSON(http.MethodPost, "/api/account/phone", `{"phone_number":"+12015550123"}`), 503)
	// A failing mail server: nothing stays pending, so the user can retry at once.
	e.Core.Mail = failingMailer{}
	wantStatus(t, "send fails", b.post("/profile/email", url.Values{"email": {"lee2@example.com"}}), 503, "could not be sent")
	if _, err := e.Store.GetVerification(t.Context(), u.ID, storage.ContactEmail); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("verification left after a failed send: %v", err)
	}
	e.Core.Mail = mailer
	wantStatus(t, "retry at once", b.post("/profile/email", url.Values{"email": {"lee2@example.com"}}), 303)
}

type failingMailer struct{}

func (failingMailer) Send(context.Context, notify.Message) error { return errors.New("smtp down") }

func TestCodeHelpers(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newCode()
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct codes of 200", len(seen))
	}
	for in, want := range map[string]string{"123456": "123456", " 123 456 ": "123456", "123-456": "123456", "12345": "", "1234567": "", "12345a": "", "١٢٣٤٥٦": ""} {
		got, ok := cleanCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("cleanCode(%q) = %q, %v", in, got, ok)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"(201) 555-0123", "US", "+12015550123"},
		{"+44 20 7946 0958", "US", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"12345", "US", ""},
		{"", "US", ""},
		{"+1 201 555 0123 ext. 1234567890123456789012345678901234567890123456789012345", "US", ""},
		{"not a number", "US", ""},
	} {
		got, ok := normalizePhone(c.in, c.region)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("normalizePhone(%q, %s) = %q, %v; want %q", c.in, c.region, got, ok, c.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"(201) 555-0123", "+44 20 7946 0958", "+1", "++", "0", "+999999999999999999", "tel:+1-201-555-0123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normalizePhone(s, "US")
		if !ok {
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) > 16 || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("normalizePhone(%q) = %q, not E.164", s, got)
		}
		again, ok := normalizePhone(got, "US")
		if !ok || again != got {
			t.Fatalf("not idempotent: %q → %q → %q", s, got, again)
		}
	})
}

// TestLoginByUsername: an account whose email was deleted still signs in with its
// preferred_username; email and username share the per-account throttle; the password change
// notice goes to the account's address and, without one, nowhere.
func TestLoginByUsername(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		ctx := t.Context()
		b, u := e.person("kim@example.com", "192.0.2.80")
		if err := e.Store.PutProfileFields(ctx, []storage.ProfileField{{UserID: u.ID, Field: "preferred_username", Value: "kim.lee", Privacy: "public", UpdatedAt: e.Clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		other := e.browser("192.0.2.81")
		if res := other.login("kim.lee", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login by username: %d\n%s", res.Status, res.Body)
		}
		// Failures by email and by username count toward one account counter.
		failed := templates.T("login.failed")
		wantStatus(t, "wrong by email", other.login("kim@example.com", "not the password"), 200, failed)
		wantStatus(t, "wrong by username", other.login("KIM.LEE", "not the password"), 200, failed)
		n, _, err := e.Store.LoginFailures(ctx, accountCounter(u.ID))
		if err != nil || n != 2 {
			t.Errorf("account failures = %d %v, want 2 (one by email, one by username)", n, err)
		}
		// An unknown username: the same page as a wrong password.
		unknown := other.login("nobody.here", goodPassword)
		wantStatus(t, "unknown username", unknown, 200, failed)
		if unknown.Header.Get("Set-Cookie") != "" {
			t.Error("unknown username got a cookie")
		}

		// Password change: a notice to the account's address.
		newPassword := "a different horse battery staple"
		res := b.post("/profile/password", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}, "confirm": {newPassword}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password: %d\n%s", res.Status, res.Body)
		}
		if m := e.box.last("kim@example.com"); m.Subject != templates.T("account.mail.password.subject") {
			t.Errorf("password notice: %+v", m)
		}
		mails := e.box.count("kim@example.com")

		// Delete the email; the username still signs in.
		b = e.browser("192.0.2.80")
		if res := b.login("kim@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login after change: %d", res.Status)
		}
		if res := b.post("/profile/email/delete", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("delete email: %d\n%s", res.Status, res.Body)
		}
		mails++ // the deletion notice
		wantStatus(t, "login by the deleted email", e.browser("192.0.2.82").login("kim@example.com", newPassword), 200, failed)
		c := e.browser("192.0.2.83")
		if res := c.login("kim.lee", newPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login by username without email: %d\n%s", res.Status, res.Body)
		}
		if s, ok := c.current(); !ok || s.UserID != u.ID {
			t.Fatalf("session %+v %v", s, ok)
		}
		// Without an email, a password change sends no notice.
		res = c.post("/profile/password", url.Values{"current_password": {newPassword}, "new_password": {goodPassword}, "confirm": {goodPassword}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password without email: %d\n%s", res.Status, res.Body)
		}
		if n := e.box.count("kim@example.com"); n != mails {
			t.Errorf("mails to the deleted address: %d, want %d", n, mails)
		}
	})
}

// TestEmailUnverifiedPanel: an address typed at registration is shown unconfirmed, with the
// warning that it reserves nothing and when the account expires, and a button that sends it
// a code; once confirmed the warning is gone. Confirming it is recorded as a verification,
// not as a change of address; a new address afterwards is a change.
func TestEmailUnverifiedPanel(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b := e.browser("192.0.2.90")
		b.Register("una@example.com", goodPassword, "Una", "/")
		u, err := e.Store.GetUserByEmail(t.Context(), "una@example.com")
		if err != nil {
			t.Fatal(err)
		}
		latest := func() string {
			t.Helper()
			return e.Events(u.ID)[0].Category
		}
		page := b.get("/profile/email")
		wantStatus(t, "unconfirmed panel", page, 200, "not reserved for you", "7 days", "Send a code to this address")
		wantStatus(t, "send to the current address", b.post("/profile/email", url.Values{"email": {"una@example.com"}}), 303)
		code := e.box.code("una@example.com")
		e.Clock.Add(time.Second) // the confirmation's event comes after the registration's
		wantStatus(t, "confirm", b.post("/profile/email/verify", url.Values{"code": {code}}), 303)
		page = b.get("/profile/email")
		if strings.Contains(page.Body, "not reserved for you") {
			t.Error("the warning is still shown once the address is confirmed")
		}
		if got := latest(); got != profile.CategoryEmailVerified {
			t.Errorf("confirming the current address recorded %q, want %q", got, profile.CategoryEmailVerified)
		}
		if res := b.get("/profile/events"); strings.Contains(res.Body, "Email address changed") || !strings.Contains(res.Body, "Email address verified") {
			t.Errorf("the Event Log does not say the address was verified:\n%s", res.Body)
		}

		e.Clock.Add(time.Minute)
		wantStatus(t, "send to a new address", b.post("/profile/email", url.Values{"email": {"una.new@example.com"}}), 303)
		code = e.box.code("una.new@example.com")
		wantStatus(t, "confirm the new address", b.post("/profile/email/verify", url.Values{"code": {code}}), 303)
		if got := latest(); got != profile.CategoryEmailChanged {
			t.Errorf("confirming a new address recorded %q, want %q", got, profile.CategoryEmailChanged)
		}
	})
}

// TestDeleteAsksFirst: the Delete button of a contact is a link to a confirmation (a dialog
// with JavaScript, the confirmation page without); only the POST of its form deletes.
func TestDeleteAsksFirst(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("del@example.com", "192.0.2.90")
		if err := e.Store.PutProfileValues(t.Context(), u.ID, map[string]string{"phone_number": "+12015550123"}, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "phone page", b.get("/profile/phone"), 200,
			`href="/profile/phone/delete" class="action danger" data-confirm="phone-delete-dialog"`,
			`<dialog id="phone-delete-dialog"`, html.EscapeString(templates.T("contacts.phone.delete.consequence")),
			`<form method="post" action="/profile/phone/delete">`)
		page := b.get("/profile/phone/delete")
		wantStatus(t, "confirmation page", page, 200, templates.T("contacts.phone.delete.title"),
			html.EscapeString(templates.T("contacts.phone.delete.consequence")), `<form method="post" action="/profile/phone/delete">`,
			`href="/profile/phone"`, `class="account-sidebar"`)
		if v, _ := e.field(u.ID, "phone_number"); v != "+12015550123" {
			t.Fatalf("the confirmation page changed the number: %q", v)
		}
		wantStatus(t, "delete", b.post("/profile/phone/delete", nil), 303)
		if v, _ := e.field(u.ID, "phone_number"); v != "" {
			t.Fatalf("not deleted: %q", v)
		}
		wantStatus(t, "email confirmation page", b.get("/profile/email/delete"), 200, templates.T("contacts.email.delete.title"))
		wantStatus(t, "signed out", e.browser("192.0.2.91").get("/profile/phone/delete"), 303)
	})
}
