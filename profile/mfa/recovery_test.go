package mfa

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/notifytest"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// rEnv is the core with the recovery pages mounted and mail delivered over SMTP into an
// in-process mailbox.
type rEnv struct {
	*profiletest.Env
	h   *Handler
	box *notifytest.Mailbox
}

func newRecoveryEnv(t *testing.T, b sqltest.Backend) *rEnv {
	t.Helper()
	return newMFAEnv(t, b, "")
}

// newMFAEnv is the core with mfa mounted (its Security block entries bound once the handler
// exists, as cmd does) and mail delivered over SMTP into an in-process mailbox; issuer ""
// keeps profiletest's.
func newMFAEnv(t *testing.T, b sqltest.Backend, issuer string) *rEnv {
	t.Helper()
	re := &rEnv{box: notifytest.StartMailbox(t)}
	re.Env = profiletest.New(t, b, func(c *profile.Config, d *profile.Deps) {
		if issuer != "" {
			c.Issuer = issuer
		}
		m, err := notify.NewMailer(notify.MailConfig{Host: re.box.Host, Port: re.box.Port, TLS: notify.TLSNone, From: "Facet <no-reply@facet.test>"})
		if err != nil {
			t.Fatal(err)
		}
		d.Mail = m
		d.Security = []profile.SecuritySource{func(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
			return re.h.Security(ctx, v)
		}, func(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
			return re.h.SecurityPasskeys(ctx, v)
		}}
	}, func(s storage.Storage, now func() time.Time) profile.Recorder {
		return activity.NewRecorder(s, nil, now)
	}, func(k profiletest.Kit) []profiletest.Module {
		h, err := New(Config{Issuer: k.Config.Issuer, Secret: k.Config.Secret}, Deps{Kit: k.Core, Store: k.Store, Events: k.Events, Now: k.Now})
		if err != nil {
			t.Fatal(err)
		}
		re.h = h
		return []profiletest.Module{h}
	})
	return re
}

func eachBackend(t *testing.T, fn func(t *testing.T, e *rEnv)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newRecoveryEnv(t, b)) })
	}
}

// verifiedUser signs up email from a browser and confirms the address.
func (e *rEnv) verifiedUser(email string) (*profiletest.Browser, storage.User) {
	e.T.Helper()
	br, u := e.SignUp(email, "Ann Example", "192.0.2.10")
	if _, err := e.Store.VerifyEmail(e.T.Context(), u.ID, email, e.Clock.Now()); err != nil {
		e.T.Fatal(err)
	}
	return br, u
}

var (
	codeRE = regexp.MustCompile(`password: (\d{6})`)
	linkRE = regexp.MustCompile(`http://facet\.test(/login/reset\?token=[A-Za-z0-9_%-]+)`)
)

// lastMail waits for the background sends and returns the newest message to addr.
func (e *rEnv) lastMail(addr string) notifytest.Message {
	e.T.Helper()
	e.h.Wait()
	msgs := e.box.To(addr)
	if len(msgs) == 0 {
		e.T.Fatalf("no mail to %s", addr)
	}
	return msgs[len(msgs)-1]
}

func (e *rEnv) code(addr string) string {
	e.T.Helper()
	m := codeRE.FindStringSubmatch(e.lastMail(addr).Text)
	if m == nil {
		e.T.Fatalf("no code in the mail to %s", addr)
	}
	return m[1]
}

func reset(br *profiletest.Browser, login, code, pw string) profiletest.Response {
	return br.Post("/login/reset", url.Values{"login": {login}, "code": {code}, "password": {pw}, "confirm": {pw}})
}

const newPassword = "a brand new passphrase"

// TestRecoveryByCode: the code from the mail sets a new password once; every session and
// token ends, a notice is mailed, the event is written, and the new password signs in.
func TestRecoveryByCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		ctx := t.Context()
		owner, u := e.verifiedUser("ann@example.com")
		if _, ok := owner.Current(); !ok {
			t.Fatal("the owner is not signed in")
		}
		now := e.Clock.Now()
		if err := e.Store.CreateClient(ctx, storage.Client{ID: "app", Name: "App", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		tok := storage.Token{Kind: storage.KindAccessToken, Signature: "sig", RequestID: "req", ClientID: "app", Subject: u.ID,
			Active: true, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}
		if err := e.Store.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}

		other := e.Browser("198.51.100.7")
		profiletest.WantStatus(t, "forgot form", other.Get("/login/forgot"), http.StatusOK, `action="/login/forgot"`)
		res := other.Post("/login/forgot", url.Values{"login": {"Ann@Example.com"}})
		profiletest.WantStatus(t, "forgot", res, http.StatusOK, `action="/login/reset"`, "If the account exists")
		code := e.code("ann@example.com")

		profiletest.WantStatus(t, "short password", reset(other, "ann@example.com", code, "short"), http.StatusUnprocessableEntity)
		res = reset(other, "ann@example.com", code, newPassword)
		if res.Status != http.StatusSeeOther || res.Location != "/login?notice=password_reset" {
			t.Fatalf("reset: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		if _, ok := owner.Current(); ok {
			t.Error("the owner's session survived the reset")
		}
		got, err := e.Store.GetToken(ctx, storage.KindAccessToken, "sig")
		if err == nil && got.Active {
			t.Error("the access token survived the reset")
		}
		if n := e.box.To("ann@example.com"); !strings.Contains(n[len(n)-1].Subject, "was reset") {
			t.Errorf("no notice mail; last subject %q", n[len(n)-1].Subject)
		}
		found := false
		for _, ev := range e.Events(u.ID) {
			found = found || ev.Category == profile.CategoryPasswordReset
		}
		if !found {
			t.Error("no password_reset event")
		}
		// The code worked once.
		profiletest.WantStatus(t, "reuse", reset(other, "ann@example.com", code, newPassword+"!"), http.StatusUnprocessableEntity, "not correct")
		// The old password no longer signs in; the new one does.
		fresh := e.Browser("203.0.113.5")
		fresh.Post("/login", url.Values{"email": {"ann@example.com"}, "password": {profiletest.Password}})
		if _, ok := fresh.Current(); ok {
			t.Error("the old password still signs in")
		}
		res = fresh.Post("/login", url.Values{"email": {"ann@example.com"}, "password": {newPassword}})
		if _, ok := fresh.Current(); !ok {
			t.Fatalf("the new password does not sign in: %d\n%s", res.Status, res.Body)
		}
	})
}

// TestRecoveryByLink: the one-click link asks only for the new password; used once.
func TestRecoveryByLink(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		e.verifiedUser("bob@example.com")
		br := e.Browser("198.51.100.8")
		br.Post("/login/forgot", url.Values{"login": {"bob@example.com"}})
		m := linkRE.FindStringSubmatch(e.lastMail("bob@example.com").Text)
		if m == nil {
			t.Fatal("no link in the mail")
		}
		page := br.Get(m[1])
		profiletest.WantStatus(t, "link page", page, http.StatusOK, `name="token"`)
		if strings.Contains(page.Body, `name="code"`) {
			t.Error("the link page asks for the code")
		}
		token, err := url.QueryUnescape(strings.TrimPrefix(m[1], "/login/reset?token="))
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"token": {token}, "password": {newPassword}, "confirm": {newPassword}}
		if res := br.Post("/login/reset", form); res.Status != http.StatusSeeOther {
			t.Fatalf("reset by link: %d\n%s", res.Status, res.Body)
		}
		profiletest.WantStatus(t, "link again", br.Post("/login/reset", form), http.StatusNotFound, "not valid any more")
		profiletest.WantStatus(t, "link page again", br.Get(m[1]), http.StatusNotFound)
	})
}

// TestRecoveryUnknownIndistinguishable: an unknown address, an unconfirmed one and a known
// one get the same status, body and headers; only the known one gets mail.
func TestRecoveryUnknownIndistinguishable(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		e.verifiedUser("known@example.com")
		e.SignUp("unconfirmed@example.com", "Un Confirmed", "192.0.2.11")
		answer := func(login string) profiletest.Response {
			return e.Browser("198.51.100.9").Post("/login/forgot", url.Values{"login": {login}})
		}
		known := answer("known@example.com")
		for _, login := range []string{"nobody@example.com", "unconfirmed@example.com"} {
			other := answer(login)
			if other.Status != known.Status {
				t.Errorf("%s: status %d, known %d", login, other.Status, known.Status)
			}
			if other.Body != strings.ReplaceAll(known.Body, "known@example.com", login) {
				t.Errorf("%s: the body differs from a known address's", login)
			}
			if !sameHeaders(known.Header, other.Header) {
				t.Errorf("%s: headers differ:\n%v\n%v", login, known.Header, other.Header)
			}
		}
		e.h.Wait()
		if n := len(e.box.To("known@example.com")); n != 1 {
			t.Errorf("known address got %d mails", n)
		}
		if n := len(e.box.To("nobody@example.com")) + len(e.box.To("unconfirmed@example.com")); n != 0 {
			t.Errorf("unknown or unconfirmed addresses got %d mails", n)
		}
	})
}

// sameHeaders compares two answers' headers but for the per-request id and date.
func sameHeaders(a, b http.Header) bool {
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		h.Del("Content-Length") // the echoed login has another length
		return h
	}
	a, b = strip(a), strip(b)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// TestRecoveryLimits: a code expires after 15 minutes; the sixth attempt is refused even with
// the right code; requests are throttled per address and per IP.
func TestRecoveryLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		e.verifiedUser("cat@example.com")
		br := e.Browser("198.51.100.10")
		br.Post("/login/forgot", url.Values{"login": {"cat@example.com"}})
		code := e.code("cat@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 1; i <= 5; i++ {
			profiletest.WantStatus(t, "wrong code "+strconv.Itoa(i), reset(br, "cat@example.com", wrong, newPassword), http.StatusUnprocessableEntity)
		}
		profiletest.WantStatus(t, "sixth attempt, right code", reset(br, "cat@example.com", code, newPassword), http.StatusTooManyRequests, "Too many wrong codes")

		e.Clock.Add(2 * time.Minute)
		br.Post("/login/forgot", url.Values{"login": {"cat@example.com"}})
		code = e.code("cat@example.com")
		e.Clock.Add(resetTTL)
		profiletest.WantStatus(t, "expired", reset(br, "cat@example.com", code, newPassword), http.StatusUnprocessableEntity, "expired")

		// Per address: 3 requests per window, whichever IP they come from.
		e.Clock.Add(time.Hour)
		for i := range forgotPerLogin {
			profiletest.WantStatus(t, "request", e.Browser("198.51.100."+strconv.Itoa(20+i)).Post("/login/forgot", url.Values{"login": {"cat@example.com"}}), http.StatusOK)
		}
		res := e.Browser("198.51.100.40").Post("/login/forgot", url.Values{"login": {"cat@example.com"}})
		profiletest.WantStatus(t, "over the address limit", res, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// Per IP: 10 requests per window, whatever they name.
		ip := e.Browser("198.51.100.50")
		for i := range forgotPerIP {
			profiletest.WantStatus(t, "request", ip.Post("/login/forgot", url.Values{"login": {"x" + strconv.Itoa(i) + "@example.com"}}), http.StatusOK)
		}
		profiletest.WantStatus(t, "over the IP limit", ip.Post("/login/forgot", url.Values{"login": {"y@example.com"}}), http.StatusTooManyRequests)
	})
}
