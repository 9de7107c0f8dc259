package signin

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

func TestRegisterLogsIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.1")
		res := b.register("  Alex@Example.COM ", goodPassword, "Alex  van Timofeeva", "/oauth2/auth?client_id=x&state=1")
		if res.Location != "/oauth2/auth?client_id=x&state=1" {
			t.Fatalf("redirect %q", res.Location)
		}
		setCookie := res.Header.Get("Set-Cookie")
		for _, want := range []string{"facet_session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(setCookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", setCookie, want)
			}
		}
		s, ok := b.current()
		if !ok {
			t.Fatal("no session after registration")
		}
		u, err := e.store.GetUserByEmail(t.Context(), "alex@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != storage.UserActive || u.Admin || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("user %+v", u)
		}
		if s.UserID != u.ID || !slices.Equal(s.AMR, []string{"pwd"}) || s.IP != "192.0.2.1" || s.UserAgent != "facet-test/1.0" {
			t.Errorf("session %+v", s)
		}
		if !s.AuthTime.Equal(e.clock.Now()) || !s.ExpiresAt.Equal(e.clock.Now().Add(profile.DefaultSessionAbsolute)) {
			t.Errorf("times: auth %v expires %v", s.AuthTime, s.ExpiresAt)
		}
		fields, err := e.store.GetProfileFields(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range fields {
			got[f.Field] = f.Value + "/" + f.Privacy
		}
		want := map[string]string{"given_name": "Alex/on_request", "family_name": "van Timofeeva/on_request"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("profile fields (-want +got):\n%s", diff)
		}
		// The start page of a signed-in person is their account, whose header has the account
		// menu with Log out.
		home := b.get("/")
		if home.Status != http.StatusSeeOther || home.Location != "/profile" {
			t.Fatalf("GET / signed in: %d %q, want 303 to /profile", home.Status, home.Location)
		}
		mustContain(t, b.get("/profile"), `class="account-menu"`, "alex@example.com", `action="/logout"`)
	})
}

func TestRegisterErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.2")
		form := func(email, pw, confirm, name string) url.Values {
			return url.Values{"email": {email}, "password": {pw}, "confirm": {confirm}, "name": {name}, "return_to": {"/next"}}
		}
		cases := []struct {
			name  string
			form  url.Values
			field string
			msg   string
		}{
			{"short", form("a@example.com", "short1!", "short1!", "Ann"), "password-error", "at least 8 characters"},
			{"long", form("a@example.com", strings.Repeat("é", 129), strings.Repeat("é", 129), "Ann"), "password-error", "at most 128 characters"},
			{"common", form("a@example.com", "Password123", "Password123", "Ann"), "password-error", "too common"},
			{"mismatch", form("a@example.com", goodPassword, goodPassword+"x", "Ann"), "confirm-error", "do not match"},
			{"bad email", form("not-an-email", goodPassword, goodPassword, "Ann"), "email-error", "like name@example.com"},
			{"display name", form("Ann <a@example.com>", goodPassword, goodPassword, "Ann"), "email-error", "like name@example.com"},
			{"no email", form("", goodPassword, goodPassword, "Ann"), "email-error", "Enter your email"},
		}
		for _, c := range cases {
			res := b.post("/register", c.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", c.name, res.Status)
			}
			mustContain(t, res, `id="`+c.field+`"`, c.msg, `value="Ann"`, `name="return_to" value="/next"`)
			if e := c.form.Get("email"); e != "" {
				mustContain(t, res, `value="`+html.EscapeString(e)+`"`)
			}
			if pw := c.form.Get("password"); strings.Contains(res.Body, html.EscapeString(pw)) {
				t.Errorf("%s: the password came back in the page", c.name)
			}
		}
		if _, ok := b.current(); ok {
			t.Fatal("signed in after failed registrations")
		}
		// 128 characters (multi-byte) is allowed.
		b.register("long@example.com", strings.Repeat("é", 127)+"x", "", "/")

		// An address another account holds unconfirmed reserves nothing: registering it again,
		// in any case or spacing, succeeds.
		res := b.post("/register", form(" LONG@example.com", goodPassword, goodPassword, ""))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("unconfirmed duplicate: status %d\n%s", res.Status, res.Body)
		}
	})
}

func TestRegisterAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u, err := e.h.Register(t.Context(), profile.CommandLine(), "Admin@Example.com", goodPassword, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Admin || u.Email != "admin@example.com" || len(u.ID) != 36 {
			t.Errorf("user %+v", u)
		}
		if fields, err := e.store.GetProfileFields(t.Context(), u.ID); err != nil || len(fields) != 0 {
			t.Errorf("fields %v %v", fields, err)
		}
		// The CLI refuses an address any account holds, confirmed or not.
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "admin@example.com", goodPassword, "", false); !errors.Is(err, ErrEmailTaken) {
			t.Errorf("taken, unconfirmed: %v", err)
		}
		if _, err := e.store.VerifyEmail(t.Context(), u.ID, u.Email, u.CreatedAt); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "admin@example.com", goodPassword, "", false); !errors.Is(err, ErrEmailTaken) {
			t.Errorf("taken: %v", err)
		}
		var fe *FieldError
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "x@example.com", "12345678", "", false); !errors.As(err, &fe) || fe.Field != "password" {
			t.Errorf("common: %v", err)
		}
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "x@", goodPassword, "", false); !errors.As(err, &fe) || fe.Field != "email" {
			t.Errorf("email: %v", err)
		}
	})
}

func TestLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "ann@example.com", goodPassword, "Ann Lee", false); err != nil {
			t.Fatal(err)
		}
		b := e.browser("192.0.2.3")

		wrong := b.login("ann@example.com", "wrong password")
		unknown := b.login("nobody@example.com", goodPassword)
		for _, res := range []response{wrong, unknown} {
			if res.Status != http.StatusOK || res.Header.Get("Set-Cookie") != "" {
				t.Fatalf("failed login: status %d, cookie %q", res.Status, res.Header.Get("Set-Cookie"))
			}
			mustContain(t, res, "The email, username or password is not correct.", `role="alert"`)
		}
		// Same message, same page apart from the echoed email.
		if strings.ReplaceAll(wrong.Body, "ann@example.com", "X") != strings.ReplaceAll(unknown.Body, "nobody@example.com", "X") {
			t.Error("unknown email and wrong password pages differ")
		}
		mustContain(t, wrong, `value="ann@example.com"`)
		if strings.Contains(wrong.Body, "wrong password") {
			t.Error("password echoed")
		}

		empty := b.post("/login", url.Values{"email": {"ann@example.com"}})
		if empty.Status != http.StatusUnprocessableEntity {
			t.Errorf("empty password: %d", empty.Status)
		}
		mustContain(t, empty, "Enter your password")

		// Success with a different case, onward to return_to, and the failures are forgotten.
		res := b.post("/login", url.Values{"email": {" ANN@example.com"}, "password": {goodPassword}, "return_to": {"/oauth2/auth?a=b"}})
		if res.Status != http.StatusSeeOther || res.Location != "/oauth2/auth?a=b" {
			t.Fatalf("login: %d %q", res.Status, res.Location)
		}
		if _, ok := b.current(); !ok {
			t.Fatal("no session")
		}
		n, err := e.store.Hit(t.Context(), profile.AccountCounter(e.userID("ann@example.com")), e.clock.Now().Truncate(15*time.Minute))
		if err != nil || n != 1 {
			t.Errorf("account counter after success: %d %v", n, err)
		}

		// GET /login with a session goes straight on, unless prompt=login.
		if res := b.get("/login?return_to=%2Fnext"); res.Status != http.StatusSeeOther || res.Location != "/next" {
			t.Errorf("signed-in GET /login: %d %q", res.Status, res.Location)
		}
		res = b.get("/login?return_to=%2Fnext&prompt=login")
		if res.Status != http.StatusOK {
			t.Fatalf("prompt=login: %d", res.Status)
		}
		mustContain(t, res, `name="return_to" value="/next"`, `href="/register?return_to=%2Fnext"`)
	})
}

func TestLoginRefusesInactiveAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u, err := e.h.Register(t.Context(), profile.CommandLine(), "gone@example.com", goodPassword, "", false)
		if err != nil {
			t.Fatal(err)
		}
		u.Status = storage.UserPendingDeletion
		if err := e.store.UpdateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		res := e.browser("192.0.2.4").login("gone@example.com", goodPassword)
		if res.Status != http.StatusOK || res.Location != "" {
			t.Fatalf("status %d location %q", res.Status, res.Location)
		}
		mustContain(t, res, "The email, username or password is not correct.")
	})
}

func TestNewSessionAtLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.5")
		b.register("sam@example.com", goodPassword, "", "/")
		first := b.sessionID()
		e.clock.Add(time.Minute)
		if res := b.login("sam@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login: %d", res.Status)
		}
		second := b.sessionID()
		if first == "" || second == "" || first == second {
			t.Fatalf("tokens %q %q", first, second)
		}
		if _, err := e.store.GetSession(t.Context(), first); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("old session row still there: %v", err)
		}
		s, ok := b.current()
		if !ok || !s.AuthTime.Equal(e.clock.Now()) {
			t.Errorf("new session %+v %v", s, ok)
		}
		// A cookie planted before login (fixation) does not survive it.
		attacker := e.browser("192.0.2.6")
		attacker.register("eve@example.com", goodPassword, "", "/")
		planted := attacker.sessionID()
		victim := e.browser("192.0.2.7")
		u, _ := url.Parse(e.srv.URL)
		victim.client.Jar.SetCookies(u, attacker.client.Jar.Cookies(u))
		victim.login("sam@example.com", goodPassword)
		if victim.sessionID() == planted {
			t.Error("session id kept across login")
		}
	})
}

func TestLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.8")
		b.register("lou@example.com", goodPassword, "", "/")
		id := b.sessionID()
		res := b.post("/logout", url.Values{"return_to": {"https://evil.example/"}})
		if res.Status != http.StatusSeeOther || res.Location != "/login?notice=logged_out" {
			t.Fatalf("logout: %d %q", res.Status, res.Location)
		}
		// The login page says so, as a notice (not an alert).
		mustContain(t, b.get(res.Location), `class="notice"`, templates.T("login.logged_out"))
		if !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("cookie not cleared: %q", res.Header.Get("Set-Cookie"))
		}
		if _, err := e.store.GetSession(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("row not deleted: %v", err)
		}
		if _, ok := b.current(); ok {
			t.Fatal("still signed in")
		}
		mustContain(t, b.get("/"), `href="/login"`, `href="/register"`)

		b.login("lou@example.com", goodPassword)
		if res := b.post("/logout", url.Values{"return_to": {"/bye?x=1"}}); res.Location != "/bye?x=1" {
			t.Errorf("logout return_to: %q", res.Location)
		}
		// GET is not a logout.
		if res := b.get("/logout"); res.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: %d", res.Status)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.9")
		b.register("tim@example.com", goodPassword, "", "/")
		id := b.sessionID()

		// Use within the idle timeout keeps the session alive, touching at most once a minute.
		e.clock.Add(30 * time.Second)
		s, ok := b.current()
		if !ok || !s.LastSeenAt.Equal(s.CreatedAt) {
			t.Fatalf("touched too early: %+v %v", s, ok)
		}
		e.clock.Add(23 * time.Hour)
		if s, ok = b.current(); !ok || !s.LastSeenAt.Equal(e.clock.Now()) {
			t.Fatalf("not touched: %+v %v", s, ok)
		}
		if row, err := e.store.GetSession(t.Context(), id); err != nil || !row.LastSeenAt.Equal(e.clock.Now()) {
			t.Fatalf("row not touched: %+v %v", row, err)
		}

		// Idle timeout: 24h without use.
		e.clock.Add(profile.DefaultSessionIdle)
		if _, ok := b.current(); ok {
			t.Fatal("idle session still valid")
		}
		if _, err := e.store.GetSession(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("idle row kept: %v", err)
		}

		// Absolute timeout: 30 days after login even when used every day.
		b.login("tim@example.com", goodPassword)
		for range 30 {
			e.clock.Add(24*time.Hour - time.Minute)
			if _, ok := b.current(); !ok {
				t.Fatal("active session ended early")
			}
		}
		e.clock.Add(30 * time.Minute)
		if _, ok := b.current(); ok {
			t.Fatal("session outlived the absolute timeout")
		}
	})
}

func TestThrottlePerAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "kim@example.com", goodPassword, "", false); err != nil {
			t.Fatal(err)
		}
		// Failures from several IPs add up on the account.
		for i := range 5 {
			res := e.browser("198.51.100."+string(rune('1'+i))).login("kim@example.com", "nope nope nope")
			if res.Status != http.StatusOK {
				t.Fatalf("failure %d: status %d", i+1, res.Status)
			}
		}
		// The fifth failure starts the delay: 2 s, refused without a password check.
		b := e.browser("198.51.100.9")
		res := b.login("KIM@example.com", goodPassword)
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Set-Cookie") != "" {
			t.Fatalf("throttled: status %d cookie %q", res.Status, res.Header.Get("Set-Cookie"))
		}
		mustContain(t, res, "Too many attempts. Try again in 1 minute.")
		if ra := res.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After %q", ra)
		}
		// Another account from the same IP is not affected.
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "lee@example.com", goodPassword, "", false); err != nil {
			t.Fatal(err)
		}
		if res := b.login("lee@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("other account: %d", res.Status)
		}
		// After the delay the right password is admitted.
		e.clock.Add(2 * time.Second)
		if res := e.browser("198.51.100.10").login("kim@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("after the delay: %d\n%s", res.Status, res.Body)
		}
	})
}

// TestDeviceCookieAttack: 200 failures from 50 loopback addresses against one account. The
// owner's browser with a device cookie signs in at once; a fresh browser is slowed, never
// locked for good; the right password refused during a delay is not a failure; the account's
// log says it was slowed down.
func TestDeviceCookieAttack(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		owner := e.browser("192.0.2.1")
		owner.register("own@example.com", goodPassword, "Own Er", "/")
		if res := owner.post("/logout", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.Status)
		}
		if res := owner.login("own@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("owner login: %d", res.Status)
		}
		uid := e.userID("own@example.com")
		failures, refused := 0, 0
		for i := range 200 {
			res := e.browser(fmt.Sprintf("127.0.0.%d", 2+i%50)).login("own@example.com", fmt.Sprintf("guess number %d", i))
			switch res.Status {
			case http.StatusOK:
				failures++
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("attempt %d: %d", i, res.Status)
			}
			e.clock.Add(time.Second)
		}
		t.Logf("200 guesses: %d checked and failed, %d refused by the delay", failures, refused)
		if failures > 20 {
			t.Errorf("%d guesses reached the password check in 200 s", failures)
		}
		tally, _, err := e.store.LoginFailures(t.Context(), accountKey(uid))
		if err != nil {
			t.Fatal(err)
		}
		if tally != failures {
			t.Errorf("tally %d, want the %d checked failures only", tally, failures)
		}
		// The owner's browser is not slowed by the attack.
		if res := owner.login("own@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("owner with a device cookie: %d\n%s", res.Status, res.Body)
		}
		// The owner's success clears the account's tally: attack again until a delay holds.
		for i := 0; ; i++ {
			if e.browser("127.0.0.99").login("own@example.com", "still guessing").Status == http.StatusTooManyRequests {
				break
			}
			if i > 10 {
				t.Fatal("no delay after 10 failures")
			}
		}
		// A fresh browser with the right password is refused during the delay, and that
		// refusal is no failure.
		before, _, _ := e.store.LoginFailures(t.Context(), accountKey(uid))
		fresh := e.browser("203.0.113.77")
		if res := fresh.login("own@example.com", goodPassword); res.Status != http.StatusTooManyRequests {
			t.Fatalf("fresh browser during the delay: %d", res.Status)
		}
		after, _, _ := e.store.LoginFailures(t.Context(), accountKey(uid))
		if after != before {
			t.Errorf("a refused attempt counted: %d -> %d", before, after)
		}
		// ...and never locked for good: after the longest delay it signs in.
		e.clock.Add(DefaultLoginLimits().MaxDelay)
		if res := fresh.login("own@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("fresh browser after the delay: %d", res.Status)
		}
		throttled := 0
		for _, ev := range e.userEvents(uid) {
			if ev.Category == profile.CategoryLoginThrottled {
				throttled++
			}
		}
		if throttled == 0 {
			t.Error("no login_throttled event")
		}
	})
}

// TestDelayDoubles: the account delay doubles from the base up to the maximum.
func TestDelayDoubles(t *testing.T) {
	l := DefaultLoginLimits()
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {4, 0}, {5, 2 * time.Second}, {6, 4 * time.Second}, {10, 64 * time.Second}, {14, 15 * time.Minute}, {1000, 15 * time.Minute}} {
		if got := l.Delay(c.n); got != c.want {
			t.Errorf("Delay(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

func TestThrottlePerIP(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "pat@example.com", goodPassword, "", false); err != nil {
			t.Fatal(err)
		}
		b := e.browser("203.0.113.7")
		// 20 attempts on 20 different (unknown) accounts: the per-account limit never trips.
		for i := range 20 {
			res := b.login("user"+string(rune('a'+i))+"@example.com", "whatever pw")
			if res.Status != http.StatusOK {
				t.Fatalf("attempt %d: %d", i+1, res.Status)
			}
		}
		res := b.login("pat@example.com", goodPassword)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("21st attempt: %d", res.Status)
		}
		mustContain(t, res, "Too many attempts")
		// Another IP is fine.
		if res := e.browser("203.0.113.8").login("pat@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("other IP: %d", res.Status)
		}
	})
}

func TestReturnToOpenRedirects(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if _, err := e.h.Register(t.Context(), profile.CommandLine(), "ria@example.com", goodPassword, "Ria Roe", false); err != nil {
			t.Fatal(err)
		}
		for i, evil := range []string{"//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com", "javascript:alert(1)", "/\t/evil.com", "evil.com", "///evil.com"} {
			b := e.browser("192.0.2." + string(rune('a'+i)))
			res := b.post("/login", url.Values{"email": {"ria@example.com"}, "password": {goodPassword}, "return_to": {evil}})
			if res.Status != http.StatusSeeOther || res.Location != "/" {
				t.Errorf("login return_to %q: %d %q", evil, res.Status, res.Location)
			}
			if res := b.get("/login?return_to=" + url.QueryEscape(evil)); res.Location != "/" {
				t.Errorf("GET login return_to %q: %q", evil, res.Location)
			}
			if res := b.post("/logout", url.Values{"return_to": {evil}}); res.Location != "/login?notice=logged_out" {
				t.Errorf("logout return_to %q: %q", evil, res.Location)
			}
		}
		b := e.browser("192.0.2.200")
		res := b.register("reg@example.com", goodPassword, "", "//evil.com/x")
		if res.Location != "/" {
			t.Errorf("register return_to: %q", res.Location)
		}
	})
}

func TestBadRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.250")
		res := b.do(http.MethodPost, "/login", url.Values{"email": {"a\xffb@example.com"}, "password": {"x"}})
		if res.Status != http.StatusBadRequest {
			t.Fatalf("invalid UTF-8: %d", res.Status)
		}
		mustContain(t, res, "could not be understood", "Reference: ")
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		big := url.Values{"email": {strings.Repeat("a", maxFormBytes)}}
		if res := b.post("/register", big); res.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("too large: %d", res.Status)
		}
		bad := b.do(http.MethodPost, "/login", nil)
		if bad.Status != http.StatusUnprocessableEntity {
			t.Fatalf("empty form: %d", bad.Status)
		}
	})
}

func TestMalformedForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/login", strings.NewReader("email=%zz&password=x"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

// TestThrottleBehindTrustedProxy: behind a trusted proxy the per-IP login and registration
// counters and the session's IP use the forwarded client address; from an untrusted peer
// X-Forwarded-For is ignored.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend.Name, func(t *testing.T) { throttleBehindTrustedProxy(t, backend) })
	}
}

func throttleBehindTrustedProxy(t *testing.T, backend sqltest.Backend) {
	e := newEnvWith(t, backend, func(c *profile.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	e.h.limits.PerIP = 3
	window := e.clock.Now().Truncate(15 * time.Minute)
	if _, err := e.h.Register(t.Context(), profile.CommandLine(), "pat@example.com", goodPassword, "", false); err != nil {
		t.Fatal(err)
	}
	viaProxy := func(client string) *browser {
		b := e.browser("10.0.0.1")
		b.header = http.Header{"X-Forwarded-For": {client}}
		return b
	}

	// Three failures from one client behind the proxy: its fourth attempt is refused...
	b := viaProxy("198.51.100.7")
	for i := range 3 {
		if res := b.login(fmt.Sprintf("nobody%d@example.com", i), "whatever pw"); res.Status != http.StatusOK {
			t.Fatalf("attempt %d: %d", i+1, res.Status)
		}
	}
	if res := b.login("pat@example.com", goodPassword); res.Status != http.StatusTooManyRequests {
		t.Fatalf("4th attempt from the forwarded client: %d", res.Status)
	}
	// ...while another client behind the same proxy signs in, and its session keeps
	// its own address.
	other := viaProxy("198.51.100.8")
	if res := other.login("pat@example.com", goodPassword); res.Status != http.StatusSeeOther {
		t.Fatalf("other client behind the proxy: %d", res.Status)
	}
	if s, ok := other.current(); !ok || s.IP != "198.51.100.8" {
		t.Errorf("session IP %q (signed in %v), want 198.51.100.8", s.IP, ok)
	}
	// Registration counts the forwarded address too.
	viaProxy("198.51.100.9").register("reg@example.com", goodPassword, "", "/")
	if n, err := e.store.Hit(t.Context(), "register:ip:198.51.100.9", window); err != nil || n != 2 {
		t.Errorf("registration counter of the forwarded address = %d %v, want 2", n, err)
	}

	// From an untrusted peer the header is ignored: every attempt counts for the peer,
	// whatever address it claims.
	u := e.browser("192.0.2.77")
	for i := range 3 {
		u.header = http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", 20+i)}}
		if res := u.login(fmt.Sprintf("nobody%d@example.com", i), "whatever pw"); res.Status != http.StatusOK {
			t.Fatalf("untrusted attempt %d: %d", i+1, res.Status)
		}
	}
	u.header = http.Header{"X-Forwarded-For": {"198.51.100.99"}}
	if res := u.login("pat@example.com", goodPassword); res.Status != http.StatusTooManyRequests {
		t.Fatalf("4th attempt from the untrusted peer: %d", res.Status)
	}
	if n, err := e.store.Hit(t.Context(), "login:ip:198.51.100.99", window); err != nil || n != 1 {
		t.Errorf("claimed address was counted: %d %v", n, err)
	}
}

// TestLogoutRecordedOnce: End records the logout, so POST /logout and an app's RP-initiated
// logout (which calls End) each leave exactly one event; ending no session records nothing.
func TestLogoutRecordedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b := e.browser("192.0.2.9")
		b.register("lea@example.com", goodPassword, "", "/")
		uid := e.userID("lea@example.com")
		var last storage.Event
		logouts := func() int {
			t.Helper()
			evs, err := e.store.ListEvents(t.Context(), uid, storage.EventFilter{Categories: []string{profile.CategoryLogout, profile.CategoryAppLogout}})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) > 0 {
				last = evs[0]
			}
			return len(evs)
		}
		if res := b.post("/logout", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.Status)
		}
		if n := logouts(); n != 1 || last.Category != profile.CategoryLogout || last.ClientID != "" {
			t.Fatalf("POST /logout recorded %d logouts (last %+v), want 1 of Facet's own", n, last)
		}

		// An app's logout calls End with the browser's request (a second later, so the
		// newest event is the app's).
		e.clock.Add(time.Second)
		if res := b.login("lea@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("login: %d", res.Status)
		}
		srv, err := url.Parse(e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/oauth2/sessions/logout", nil)
		req.RemoteAddr = "192.0.2.9:1234"
		for _, c := range b.client.Jar.Cookies(srv) {
			req.AddCookie(c)
		}
		if err := e.core.End(httptest.NewRecorder(), req, "notes"); err != nil {
			t.Fatal(err)
		}
		if n := logouts(); n != 2 || last.Category != profile.CategoryAppLogout || last.ClientID != "notes" || last.IP != "192.0.2.9" {
			t.Fatalf("after End: %d logouts (last %+v), want 2, the last the app's", n, last)
		}
		// The session is gone: ending it again, or with no cookie, records nothing.
		if err := e.core.End(httptest.NewRecorder(), req, "notes"); err != nil {
			t.Fatal(err)
		}
		if err := e.core.End(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/logout", nil), ""); err != nil {
			t.Fatal(err)
		}
		if n := logouts(); n != 2 {
			t.Fatalf("ending no session recorded: %d logouts", n)
		}
	})
}
