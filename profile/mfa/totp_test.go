package mfa

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
)

var (
	secretRE = regexp.MustCompile(`<code class="totp-key"[^>]*>([A-Z2-7]+)</code>`)
	codeLiRE = regexp.MustCompile(`<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>`)
)

// codeAt is the authenticator app's code for secret at t, computed as the app does.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setUpTOTP turns the authenticator app on from br's profile pages and returns its secret and
// the recovery codes shown.
func (e *rEnv) setUpTOTP(br *profiletest.Browser) (string, []string) {
	t := e.T.(*testing.T)
	t.Helper()
	profiletest.WantStatus(t, "totp intro", br.Get(PathTOTP), http.StatusOK, `action="/profile/security/totp"`)
	res := br.Post(PathTOTP, url.Values{})
	profiletest.WantStatus(t, "totp start", res, http.StatusOK, "data:image/png;base64,", `action="/profile/security/totp/verify"`)
	m := secretRE.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no secret on the setup page:\n%s", res.Body)
	}
	secret := m[1]
	profiletest.WantStatus(t, "wrong first code", br.Post(PathTOTPVerify, url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity, "not correct")
	res = br.Post(PathTOTPVerify, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}})
	profiletest.WantStatus(t, "first code", res, http.StatusOK, "Save your recovery codes")
	var codes []string
	for _, c := range codeLiRE.FindAllStringSubmatch(res.Body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10:\n%s", len(codes), res.Body)
	}
	// The step of the first code is spent; the tests' next codes are of later steps.
	e.Clock.Add(30 * time.Second)
	return secret, codes
}

// passwordLogin signs in with the password from a new browser and expects the second step.
func (e *rEnv) passwordLogin(email, returnTo string) *profiletest.Browser {
	t := e.T.(*testing.T)
	t.Helper()
	br := e.Browser("192.0.2.20")
	res := br.Post("/login", url.Values{"email": {email}, "password": {profiletest.Password}, "return_to": {returnTo}})
	if res.Status != http.StatusSeeOther || res.Location != PathLogin {
		t.Fatalf("password login: %d %s, want the second step\n%s", res.Status, res.Location, res.Body)
	}
	if _, ok := br.Current(); ok {
		t.Fatal("a session started before the second factor")
	}
	profiletest.WantStatus(t, "second step", br.Get(PathLogin), http.StatusOK, `name="code"`, "recovery codes")
	return br
}

// TestTOTPSignIn: an account with an authenticator app signs in with the password and a
// code: the current step or one either side, never a code twice, never a wrong one; the
// session's amr says pwd, otp and mfa; the events say so.
func TestTOTPSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		owner, u := e.verifiedUser("ann@example.com")
		secret, _ := e.setUpTOTP(owner)
		got, err := e.Store.GetTOTP(t.Context(), u.ID)
		if err != nil || !got.Confirmed || strings.Contains(string(got.Secret), secret) {
			t.Fatalf("stored app: %+v, %v (confirmed, and the secret never in clear)", got, err)
		}

		e.Clock.Add(time.Minute)
		br := e.passwordLogin("ann@example.com", "/profile")
		profiletest.WantStatus(t, "wrong code", br.Post(PathLogin, url.Values{"code": {"123456"}}), http.StatusOK, "not correct")
		// The previous step's code (clock drift) is accepted.
		res := br.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now().Add(-30*time.Second))}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile" {
			t.Fatalf("code of the previous step: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		s, ok := br.Current()
		if !ok || !slices.Equal(s.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("session after the second step: %v %v", ok, s.AMR)
		}

		// The same code again (another sign-in, same step): a replay.
		br2 := e.passwordLogin("ann@example.com", "/")
		profiletest.WantStatus(t, "replayed code", br2.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now().Add(-30*time.Second))}}),
			http.StatusOK, "used already")
		// The next step's code is fine.
		res = br2.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now().Add(30*time.Second))}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("code of the next step: %d\n%s", res.Status, res.Body)
		}
		// Two steps away is refused.
		e.Clock.Add(2 * time.Minute)
		br3 := e.passwordLogin("ann@example.com", "/")
		profiletest.WantStatus(t, "code two steps old", br3.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now().Add(-60*time.Second))}}),
			http.StatusOK, "not correct")

		var logins, failures int
		for _, ev := range e.Events(u.ID) {
			switch {
			case ev.Category == profile.CategoryLogin && ev.Details["method"] == "password_totp":
				logins++
			case ev.Category == profile.CategoryLoginFailed && ev.Details["method"] == "totp":
				failures++
			}
		}
		if logins != 2 || failures != 3 {
			t.Errorf("events: %d second-factor sign-ins (want 2), %d failures (want 3)", logins, failures)
		}
	})
}

// TestRecoveryCodes: a recovery code signs in once (and mails a notice); regenerating
// replaces the set; the count is in the API.
func TestRecoveryCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		owner, _ := e.verifiedUser("ann@example.com")
		_, codes := e.setUpTOTP(owner)

		br := e.passwordLogin("ann@example.com", "/")
		res := br.Post(PathLogin, url.Values{"code": {strings.ToUpper(codes[0])}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d\n%s", res.Status, res.Body)
		}
		if m := e.lastMail("ann@example.com"); !strings.Contains(m.Subject, "recovery code was used") {
			t.Errorf("last mail %q, want the recovery code notice", m.Subject)
		}
		br2 := e.passwordLogin("ann@example.com", "/")
		profiletest.WantStatus(t, "used recovery code", br2.Post(PathLogin, url.Values{"code": {codes[0]}}), http.StatusOK, "not correct")

		var f factors
		res = owner.Get("/api/account/mfa")
		if res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &f) != nil || !f.TOTP || f.Left != 9 || f.Passkeys == nil {
			t.Fatalf("GET /api/account/mfa: %d %s", res.Status, res.Body)
		}

		profiletest.WantStatus(t, "codes intro", owner.Post(PathRecoveryCodes, url.Values{}), http.StatusOK, `name="confirm"`)
		res = owner.Post(PathRecoveryCodes, url.Values{"confirm": {"yes"}})
		profiletest.WantStatus(t, "new codes", res, http.StatusOK, "Save your recovery codes")
		fresh := codeLiRE.FindAllStringSubmatch(res.Body, -1)
		if len(fresh) != 10 {
			t.Fatalf("%d new codes", len(fresh))
		}
		br3 := e.passwordLogin("ann@example.com", "/")
		profiletest.WantStatus(t, "an old code after regenerating", br3.Post(PathLogin, url.Values{"code": {codes[1]}}), http.StatusOK, "not correct")
		if res := br3.Post(PathLogin, url.Values{"code": {fresh[0][1]}}); res.Status != http.StatusSeeOther {
			t.Fatalf("a new code: %d", res.Status)
		}
	})
}

// TestSecondStepLimits: five wrong codes end the challenge; an account's wrong codes across
// challenges wait out the window; an expired challenge and a stolen cookie on its own are
// refused.
func TestSecondStepLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		owner, _ := e.verifiedUser("ann@example.com")
		secret, _ := e.setUpTOTP(owner)

		br := e.passwordLogin("ann@example.com", "/")
		for i := 0; i < maxCodeAttempts; i++ {
			profiletest.WantStatus(t, "wrong code", br.Post(PathLogin, url.Values{"code": {"000000"}}), http.StatusOK, "not correct")
		}
		profiletest.WantStatus(t, "sixth code", br.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}}), http.StatusTooManyRequests, "Too many")
		profiletest.WantStatus(t, "after the end", br.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}}), http.StatusBadRequest, "expired")

		br2 := e.passwordLogin("ann@example.com", "/")
		for i := 0; i < maxCodeFailures-maxCodeAttempts; i++ {
			br2.Post(PathLogin, url.Values{"code": {"000000"}})
		}
		profiletest.WantStatus(t, "account over its failures", br2.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}}),
			http.StatusTooManyRequests)
		e.Clock.Add(codeFailureWindow + time.Minute)
		br3 := e.passwordLogin("ann@example.com", "/")
		if res := br3.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}}); res.Status != http.StatusSeeOther {
			t.Fatalf("after the window: %d\n%s", res.Status, res.Body)
		}

		br4 := e.passwordLogin("ann@example.com", "/")
		e.Clock.Add(challengeTTL + time.Second)
		profiletest.WantStatus(t, "expired challenge", br4.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}}), http.StatusBadRequest, "expired")
	})
}

// TestStepUp: a signed-in account with a factor re-authenticates with the factor alone
// (prompt=login); the session is elevated in place (same id, amr gains otp and mfa, a new
// auth_time); method=password asks for the password instead.
func TestStepUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		owner, _ := e.verifiedUser("ann@example.com")
		secret, _ := e.setUpTOTP(owner)
		before, _ := owner.Current()
		e.Clock.Add(time.Hour)

		res := owner.Get("/login?prompt=login&return_to=" + url.QueryEscape("/profile/password"))
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, PathLogin) {
			t.Fatalf("prompt=login with a factor: %d %s", res.Status, res.Location)
		}
		page := owner.Get(res.Location)
		profiletest.WantStatus(t, "step-up page", page, http.StatusOK, "fresh confirmation", "method=password")
		res = owner.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile/password" {
			t.Fatalf("step-up: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		after, ok := owner.Current()
		if !ok || after.ID != before.ID || !after.AuthTime.After(before.AuthTime) || !slices.Contains(after.AMR, "mfa") {
			t.Fatalf("elevated session: %+v (before %+v)", after, before)
		}
		res = owner.Get("/login?prompt=login&method=password")
		profiletest.WantStatus(t, "method=password", res, http.StatusOK, `name="password"`)
	})
}

// TestRequiredPolicy: under mfa=required an account without a factor enrols at its next
// password sign-in: the QR code, the first code, the recovery codes, then the session.
func TestRequiredPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		e.h.cfg.Policy = PolicyRequired
		e.verifiedUser("bob@example.com")
		br := e.Browser("192.0.2.30")
		res := br.Post("/login", url.Values{"email": {"bob@example.com"}, "password": {profiletest.Password}, "return_to": {"/profile"}})
		if res.Status != http.StatusSeeOther || res.Location != PathLogin {
			t.Fatalf("login under the required policy: %d %s", res.Status, res.Location)
		}
		page := br.Get(PathLogin)
		profiletest.WantStatus(t, "enrolment", page, http.StatusOK, "Set up two-factor authentication", "data:image/png;base64,")
		m := secretRE.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatal("no secret on the enrolment page")
		}
		res = br.Post(PathLogin, url.Values{"code": {codeAt(t, m[1], e.Clock.Now())}})
		profiletest.WantStatus(t, "enrolled", res, http.StatusOK, "Save your recovery codes", `href="/profile"`)
		if s, ok := br.Current(); !ok || !slices.Contains(s.AMR, "mfa") {
			t.Fatalf("session after enrolment: %v %v", ok, s.AMR)
		}
	})
}

// TestFactorAPI: the pinned account API sets up, confirms and removes the app; a wrong code
// is 422; removing the last factor drops the recovery codes.
func TestFactorAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		br, u := e.verifiedUser("ann@example.com")
		res := br.Do(http.MethodPost, "/api/account/mfa/totp", "application/json", strings.NewReader("{}"))
		var setup struct {
			Secret string `json:"secret"`
			URI    string `json:"otpauth_uri"`
		}
		if res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &setup) != nil || !strings.HasPrefix(setup.URI, "otpauth://totp/") {
			t.Fatalf("POST /api/account/mfa/totp: %d %s", res.Status, res.Body)
		}
		uri, _ := url.Parse(setup.URI)
		if uri.Query().Get("secret") != setup.Secret || uri.Query().Get("issuer") != "Facet" {
			t.Errorf("otpauth URI %s", html.EscapeString(setup.URI))
		}
		verify := func(code string) profiletest.Response {
			return br.Do(http.MethodPost, "/api/account/mfa/totp/verify", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
		}
		if res := verify("000000"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "invalid_code") {
			t.Fatalf("wrong code: %d %s", res.Status, res.Body)
		}
		res = verify(codeAt(t, setup.Secret, e.Clock.Now()))
		var codes struct {
			Codes []string `json:"recovery_codes"`
		}
		if res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &codes) != nil || len(codes.Codes) != 10 {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		if res := br.Do(http.MethodPost, "/api/account/mfa/totp", "application/json", strings.NewReader("{}")); res.Status != http.StatusConflict {
			t.Fatalf("a second setup: %d", res.Status)
		}
		if res := br.Do(http.MethodDelete, "/api/account/mfa/totp", "", nil); res.Status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", res.Status, res.Body)
		}
		if n, err := e.Store.CountRecoveryCodes(t.Context(), u.ID); err != nil || n != 0 {
			t.Fatalf("recovery codes after removing the last factor: %d, %v", n, err)
		}
		if res := br.Do(http.MethodPost, "/api/account/mfa/recovery-codes", "application/json", strings.NewReader("{}")); res.Status != http.StatusConflict {
			t.Fatalf("recovery codes without a factor: %d", res.Status)
		}
		var cats []string
		for _, ev := range e.Events(u.ID) {
			cats = append(cats, ev.Category)
		}
		if !slices.Contains(cats, profile.CategoryMFAEnabled) || !slices.Contains(cats, profile.CategoryMFADisabled) {
			t.Errorf("events %v", cats)
		}
		// A stale session needs a fresh sign-in for a factor change.
		e.Clock.Add(time.Hour)
		if res := br.Do(http.MethodPost, "/api/account/mfa/totp", "application/json", strings.NewReader("{}")); res.Status != http.StatusForbidden {
			t.Fatalf("setup on a stale session: %d", res.Status)
		}
	})
}

// TestPendingDeletionNeedsFactor: the password of an account pending deletion with a second
// factor leads to the second step before the restore page, never straight in.
func TestPendingDeletionNeedsFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *rEnv) {
		owner, u := e.verifiedUser("ann@example.com")
		secret, _ := e.setUpTOTP(owner)
		now := e.Clock.Now()
		if err := e.Store.MarkDeletion(t.Context(), storage.Deletion{UserID: u.ID, RequestedAt: now, PurgeAfter: now.Add(30 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		br := e.passwordLogin("ann@example.com", "/")
		res := br.Post(PathLogin, url.Values{"code": {codeAt(t, secret, e.Clock.Now())}})
		if res.Status != http.StatusSeeOther || res.Location != profile.RestorePath {
			t.Fatalf("second step of a pending account: %d %s\n%s", res.Status, res.Location, res.Body)
		}
	})
}
