package mfa

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/passkeytest"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// The unit tests' relying party: what the soft authenticator claims to run at.
const (
	testIssuer = "http://localhost:8080"
	testRPID   = "localhost"
)

// pEnv is the mfa env (newMFAEnv) on an issuer passkeys work with.
type pEnv = rEnv

func newPasskeyEnv(t *testing.T, b sqltest.Backend) *pEnv {
	t.Helper()
	return newPasskeyEnvAt(t, b, testIssuer)
}

// newPasskeyEnvAt is newPasskeyEnv for the issuer a browser test serves at.
func newPasskeyEnvAt(t *testing.T, b sqltest.Backend, issuer string) *pEnv {
	t.Helper()
	return newMFAEnv(t, b, issuer)
}

func eachPasskeyBackend(t *testing.T, fn func(t *testing.T, e *pEnv)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newPasskeyEnv(t, b)) })
	}
}

func (e *pEnv) key() *passkeytest.Key { return passkeytest.New(e.T, testIssuer, testRPID) }

func postJSON(br *profiletest.Browser, path string, body []byte) profiletest.Response {
	return br.Do(http.MethodPost, path, "application/json", bytes.NewReader(body))
}

// register adds k to the signed-in account of br under name and returns the answer of
// finish.
func register(br *profiletest.Browser, k *passkeytest.Key, name string) profiletest.Response {
	br.T().Helper()
	begin := postJSON(br, "/api/account/mfa/passkeys/register/begin", []byte("{}"))
	if begin.Status != http.StatusOK {
		return begin
	}
	return postJSON(br, "/api/account/mfa/passkeys/register/finish?name="+url.QueryEscape(name), k.Create([]byte(begin.Body)))
}

// signIn signs in passwordless with k and returns the answer of finish.
func signIn(br *profiletest.Browser, k *passkeytest.Key, returnTo string) profiletest.Response {
	br.T().Helper()
	begin := postJSON(br, "/login/passkey/begin", nil)
	if begin.Status != http.StatusOK {
		br.T().Fatalf("login begin: %d %s", begin.Status, begin.Body)
	}
	return postJSON(br, "/login/passkey/finish?return_to="+url.QueryEscape(returnTo), k.Get([]byte(begin.Body)))
}

func decode[T any](t testing.TB, res profiletest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
		t.Fatalf("decode %q: %v", res.Body, err)
	}
	return v
}

func hasEvent(evs []storage.Event, category, key, value string) bool {
	for _, ev := range evs {
		if ev.Category == category && (key == "" || ev.Details[key] == value) {
			return true
		}
	}
	return false
}

// TestPasskeyRegisterAndSignIn: a passkey is added through the account API (201, the pinned
// shape, an event and a notice mail), listed by Passkeys, and signs in passwordless in a new
// browser: the session's amr is hwk+mfa (swk+mfa for a synced passkey), the login is
// recorded with the method, return_to is honoured, last_used_at and the counter move.
func TestPasskeyRegisterAndSignIn(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		ctx := t.Context()
		owner, u := e.SignUp("ann@example.com", "Ann Example", "192.0.2.10")
		if _, err := e.Store.VerifyEmail(ctx, u.ID, "ann@example.com", e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		k := e.key()
		res := register(owner, k, "  Laptop  ")
		profiletest.WantStatus(t, "register", res, http.StatusCreated)
		var body map[string]any
		if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"id", "name", "created_at", "last_used_at"} {
			if _, ok := body[f]; !ok {
				t.Errorf("register answer lacks %q: %s", f, res.Body)
			}
		}
		// The account's first second factor brings its recovery codes, once.
		if codes, _ := body["recovery_codes"].([]any); len(codes) != 10 {
			t.Errorf("first passkey: %d recovery codes in %s", len(codes), res.Body)
		}
		if body["name"] != "Laptop" || body["last_used_at"] != nil {
			t.Errorf("register answer = %s", res.Body)
		}
		if string(k.UserHandle) != u.ID {
			t.Errorf("user handle %q, want the account id %q (never the email)", k.UserHandle, u.ID)
		}
		views, err := e.h.Passkeys(ctx, u.ID)
		if err != nil || len(views) != 1 || views[0].Name != "Laptop" || views[0].ID != body["id"] {
			t.Fatalf("Passkeys = %+v, %v", views, err)
		}
		// GET /api/account/mfa lists it (the pinned shape).
		factors := owner.Get("/api/account/mfa")
		profiletest.WantStatus(t, "factors", factors, http.StatusOK, `"passkeys":[{"id":"`+views[0].ID+`","name":"Laptop","created_at":`, `"last_used_at":null}]`)
		if !hasEvent(e.Events(u.ID), profile.CategoryMFAEnabled, "passkey", "Laptop") {
			t.Error("no mfa_enabled event of the passkey")
		}
		e.h.Wait()
		if m := e.box.To("ann@example.com"); len(m) == 0 || !strings.Contains(m[len(m)-1].Subject, "passkey was added") {
			t.Errorf("no notice mail of the new passkey: %+v", m)
		}

		e.Clock.Add(time.Minute)
		fresh := e.Browser("198.51.100.7")
		res = signIn(fresh, k, "/profile/events")
		profiletest.WantStatus(t, "passkey sign-in", res, http.StatusOK)
		if got := decode[loginAnswer](t, res); got.Redirect != "/profile/events" {
			t.Errorf("redirect %q, want return_to", got.Redirect)
		}
		s, ok := fresh.Current()
		if !ok || s.UserID != u.ID {
			t.Fatalf("no session after the passkey sign-in: %+v", s)
		}
		if !slices.Equal(s.AMR, []string{"hwk", "mfa"}) {
			t.Errorf("amr = %v, want [hwk mfa]", s.AMR)
		}
		if !hasEvent(e.Events(u.ID), profile.CategoryLogin, "method", "passkey") {
			t.Error("no login event with method passkey")
		}
		views, _ = e.h.Passkeys(ctx, u.ID)
		if views[0].LastUsedAt == nil || !views[0].LastUsedAt.Equal(e.Clock.Now()) {
			t.Errorf("last_used_at = %v, want %v", views[0].LastUsedAt, e.Clock.Now())
		}
		stored, err := e.Store.GetPasskeyByCredentialID(ctx, k.CredentialID)
		if err != nil || stored.SignCount != k.Count {
			t.Errorf("stored counter %d, %v; want %d", stored.SignCount, err, k.Count)
		}

		// A synced passkey (backup eligible) is "swk"; an unsafe return_to goes home.
		synced := e.key()
		synced.BE, synced.BS = true, true
		res = register(owner, synced, "")
		profiletest.WantStatus(t, "register synced", res, http.StatusCreated, `"name":"Passkey 2"`)
		if strings.Contains(res.Body, "recovery_codes") {
			t.Errorf("a second passkey brought new recovery codes: %s", res.Body)
		}
		other := e.Browser("198.51.100.8")
		synced.Count = 5
		res = signIn(other, synced, "https://evil.example/")
		profiletest.WantStatus(t, "synced sign-in", res, http.StatusOK)
		if got := decode[loginAnswer](t, res); got.Redirect != "/" {
			t.Errorf("an unsafe return_to led to %q", got.Redirect)
		}
		if s, _ := other.Current(); !slices.Equal(s.AMR, []string{"swk", "mfa"}) {
			t.Errorf("synced amr = %v, want [swk mfa]", s.AMR)
		}
	})
}

// TestPasskeyRefusals: every check of a passwordless sign-in refuses, and none leaves a
// session: a signature counter that did not move (a cloned authenticator), no user
// verification, a ceremony used twice or expired, another origin, an unknown credential, a
// tampered signature. Registering the same credential twice is 409 and its options exclude
// it.
func TestPasskeyRefusals(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		ctx := t.Context()
		owner, u := e.SignUp("bob@example.com", "Bob Example", "192.0.2.11")
		k := e.key()
		k.Count = 10
		profiletest.WantStatus(t, "register", register(owner, k, "Key"), http.StatusCreated)

		refused := func(what string, res profiletest.Response, status int, br *profiletest.Browser) {
			t.Helper()
			profiletest.WantStatus(t, what, res, status)
			if _, ok := br.Current(); ok {
				t.Errorf("%s: a session was started", what)
			}
		}
		br := e.Browser("198.51.100.20")
		// The counter did not increase: refused, and the stored counter stays.
		refused("counter regressed", signIn(br, k, "/"), http.StatusUnauthorized, br)
		k.Count = 9
		refused("counter lower", signIn(br, k, "/"), http.StatusUnauthorized, br)
		if p, _ := e.Store.GetPasskeyByCredentialID(ctx, k.CredentialID); p.SignCount != 10 {
			t.Errorf("counter after refusals = %d, want 10", p.SignCount)
		}
		// No user verification: a passwordless sign-in needs it.
		k.Count, k.UV = 11, false
		refused("no user verification", signIn(br, k, "/"), http.StatusUnauthorized, br)
		k.UV = true

		// The ceremony works once.
		begin := postJSON(br, "/login/passkey/begin", nil)
		k.Count = 12
		answer := k.Get([]byte(begin.Body))
		jar := br.Cookies()
		profiletest.WantStatus(t, "first finish", postJSON(br, "/login/passkey/finish", answer), http.StatusOK)
		replay := e.Browser("198.51.100.21")
		req := httptest.NewRequest(http.MethodPost, "/login/passkey/finish", bytes.NewReader(answer))
		req.Header.Set("Content-Type", "application/json")
		for _, c := range jar {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "ceremony_expired") {
			t.Errorf("a replayed ceremony: %d %s", rec.Code, rec.Body)
		}
		// Expired: five minutes later the ceremony is gone.
		begin = postJSON(replay, "/login/passkey/begin", nil)
		e.Clock.Add(ceremonyTTL)
		k.Count = 13
		refused("expired ceremony", postJSON(replay, "/login/passkey/finish", k.Get([]byte(begin.Body))), http.StatusBadRequest, replay)
		// Another origin.
		evil := passkeytest.New(t, "https://evil.example", testRPID)
		evil.CredentialID, evil.Private, evil.UserHandle, evil.Count = k.CredentialID, k.Private, k.UserHandle, 20
		refused("another origin", signIn(replay, evil, "/"), http.StatusUnauthorized, replay)
		// An unknown credential.
		refused("unknown credential", signIn(replay, e.key(), "/"), http.StatusUnauthorized, replay)
		// A tampered signature.
		begin = postJSON(replay, "/login/passkey/begin", nil)
		k.Count = 30
		tampered := bytes.Replace(k.Get([]byte(begin.Body)), []byte(`"signature":"`), []byte(`"signature":"AAAA`), 1)
		refused("tampered signature", postJSON(replay, "/login/passkey/finish", tampered), http.StatusUnauthorized, replay)

		// The same credential again: excluded in the options, 409 when finished anyway.
		begin = postJSON(owner, "/api/account/mfa/passkeys/register/begin", []byte("{}"))
		profiletest.WantStatus(t, "register begin", begin, http.StatusOK, `"excludeCredentials":[{"type":"public-key","id":"`+passkeytest.B64(k.CredentialID)+`"`)
		res := postJSON(owner, "/api/account/mfa/passkeys/register/finish", k.Create([]byte(begin.Body)))
		profiletest.WantStatus(t, "register twice", res, http.StatusConflict, "already_registered")
		// Nothing was added by the refusals.
		if views, _ := e.h.Passkeys(ctx, u.ID); len(views) != 1 {
			t.Errorf("passkeys after refusals: %+v", views)
		}
	})
}

// TestPasskeyManage: rename and remove are the owner's only (another user's id is 404);
// adding and removing need a recent sign-in, renaming does not; each change is recorded.
func TestPasskeyManage(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		ann, u := e.SignUp("ann@example.com", "Ann Example", "192.0.2.10")
		bob, _ := e.SignUp("bob@example.com", "Bob Example", "192.0.2.11")
		k := e.key()
		res := register(ann, k, "Phone")
		profiletest.WantStatus(t, "register", res, http.StatusCreated)
		id := decode[PasskeyView](t, res).ID

		patch := func(br *profiletest.Browser, id, body string) profiletest.Response {
			return br.Do(http.MethodPatch, "/api/account/mfa/passkeys/"+id, "application/json", strings.NewReader(body))
		}
		del := func(br *profiletest.Browser, id string) profiletest.Response {
			return br.Do(http.MethodDelete, "/api/account/mfa/passkeys/"+id, "", nil)
		}
		profiletest.WantStatus(t, "rename another's", patch(bob, id, `{"name":"mine"}`), http.StatusNotFound)
		profiletest.WantStatus(t, "remove another's", del(bob, id), http.StatusNotFound)
		profiletest.WantStatus(t, "empty name", patch(ann, id, `{"name":"  "}`), http.StatusUnprocessableEntity)
		profiletest.WantStatus(t, "long name", patch(ann, id, `{"name":"`+strings.Repeat("x", maxPasskeyName+1)+`"}`), http.StatusUnprocessableEntity)
		profiletest.WantStatus(t, "rename", patch(ann, id, `{"name":"Old phone"}`), http.StatusOK, `"name":"Old phone"`)

		// Twenty minutes on, the sign-in is not recent: adding and removing are refused.
		e.Clock.Add(20 * time.Minute)
		profiletest.WantStatus(t, "register, login old", postJSON(ann, "/api/account/mfa/passkeys/register/begin", []byte("{}")), http.StatusForbidden, "login_required")
		profiletest.WantStatus(t, "remove, login old", del(ann, id), http.StatusForbidden, "login_required")
		profiletest.WantStatus(t, "rename, login old", patch(ann, id, `{"name":"Phone"}`), http.StatusOK)
		// Signing in again (with the passkey) makes it recent.
		again := e.Browser("192.0.2.10")
		k.Count++
		profiletest.WantStatus(t, "sign in again", signIn(again, k, "/profile"), http.StatusOK)
		profiletest.WantStatus(t, "remove", del(again, id), http.StatusNoContent)
		profiletest.WantStatus(t, "remove twice", del(again, id), http.StatusNotFound)
		evs := e.Events(u.ID)
		for _, want := range []struct{ category, key, value string }{
			{profile.CategoryMFAEnabled, "factor", "passkey"},
			{CategoryPasskeyRenamed, "passkey", "Old phone"},
			{profile.CategoryMFADisabled, "factor", "passkey"},
		} {
			if !hasEvent(evs, want.category, want.key, want.value) {
				t.Errorf("no %s event with %s %q", want.category, want.key, want.value)
			}
		}
		// The removed passkey signs in no more.
		k.Count++
		profiletest.WantStatus(t, "removed passkey", signIn(e.Browser("192.0.2.12"), k, "/"), http.StatusUnauthorized)
	})
}

// TestPasskeyThrottle: failed passkey sign-ins count per IP; past the limit the IP waits
// (429, Retry-After) whatever it sends, other IPs do not. Begins are bounded per IP as well.
func TestPasskeyThrottle(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		owner, _ := e.SignUp("cat@example.com", "Cat Example", "192.0.2.10")
		k := e.key()
		profiletest.WantStatus(t, "register", register(owner, k, "Key"), http.StatusCreated)
		stranger := e.Browser("203.0.113.9")
		for i := range passkeyFailuresPerIP {
			profiletest.WantStatus(t, "failure "+strconv.Itoa(i), signIn(stranger, e.key(), "/"), http.StatusUnauthorized)
		}
		k.Count++
		res := signIn(stranger, k, "/")
		profiletest.WantStatus(t, "over the limit", res, http.StatusTooManyRequests, "too_many_attempts")
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		profiletest.WantStatus(t, "another IP", signIn(e.Browser("203.0.113.10"), k, "/"), http.StatusOK)
		e.Clock.Add(passkeyWindow + time.Second)
		k.Count++
		profiletest.WantStatus(t, "after the window", signIn(stranger, k, "/"), http.StatusOK)

		// Beginning is bounded too: each begin stores a ceremony.
		e.Clock.Add(time.Hour)
		flood := e.Browser("203.0.113.11")
		for i := range passkeyBeginsPerIP {
			profiletest.WantStatus(t, "begin "+strconv.Itoa(i), postJSON(flood, "/login/passkey/begin", nil), http.StatusOK)
		}
		res = postJSON(flood, "/login/passkey/begin", nil)
		profiletest.WantStatus(t, "begins over the limit", res, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After on begins")
		}
	})
}

// TestPasskeyPendingDeletion: a passkey sign-in of an account pending deletion opens only the
// restore page, and through an app it starts no session and leads to the page that explains.
func TestPasskeyPendingDeletion(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		ctx := t.Context()
		owner, u := e.SignUp("dan@example.com", "Dan Example", "192.0.2.10")
		k := e.key()
		profiletest.WantStatus(t, "register", register(owner, k, "Key"), http.StatusCreated)
		if err := e.Store.MarkDeletion(ctx, storage.Deletion{UserID: u.ID, RequestedAt: e.Clock.Now(), PurgeAfter: e.Clock.Now().Add(30 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		app := e.Browser("192.0.2.20")
		k.Count++
		res := signIn(app, k, "/oauth2/auth?client_id=demo&response_type=code")
		profiletest.WantStatus(t, "through an app", res, http.StatusOK, profile.PendingDeletionPath)
		if _, ok := app.Current(); ok {
			t.Error("a session was started for an app")
		}
		own := e.Browser("192.0.2.21")
		k.Count++
		res = signIn(own, k, "/profile")
		if got := decode[loginAnswer](t, res); got.Redirect != profile.RestorePath {
			t.Errorf("redirect %q, want the restore page", got.Redirect)
		}
		if _, ok := own.Current(); !ok {
			t.Error("no session for the personal account")
		}
	})
}

// TestPasskeySecondFactor: the second-factor ceremony allows only the pending login's
// account's passkeys and prefers, not requires, user verification; another account's
// passkey and an account without passkeys are refused.
func TestPasskeySecondFactor(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		ctx := t.Context()
		ann, a := e.SignUp("ann@example.com", "Ann Example", "192.0.2.10")
		bob, b := e.SignUp("bob@example.com", "Bob Example", "192.0.2.11")
		_, c := e.SignUp("cyd@example.com", "Cyd Example", "192.0.2.12")
		ka, kb := e.key(), e.key()
		profiletest.WantStatus(t, "register ann", register(ann, ka, "A"), http.StatusCreated)
		profiletest.WantStatus(t, "register bob", register(bob, kb, "B"), http.StatusCreated)

		// begin answers on a recorder; finish sends its cookie back with the answer.
		step := func(userID string, k *passkeytest.Key) (passkeyUse, error) {
			t.Helper()
			rec := httptest.NewRecorder()
			options, ok, err := e.h.beginSecondFactor(ctx, rec, userID)
			if err != nil || !ok {
				t.Fatalf("begin second factor: %v %v", ok, err)
			}
			raw, err := json.Marshal(options)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), `"userVerification":"preferred"`) || !strings.Contains(string(raw), `"allowCredentials":[{`) {
				t.Errorf("second factor options: %s", raw)
			}
			k.Count++
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login/mfa/passkey/finish", nil)
			for _, ck := range rec.Result().Cookies() {
				req.AddCookie(ck)
			}
			return e.h.finishSecondFactor(httptest.NewRecorder(), req, userID, k.Get(raw))
		}
		ka.UV = false // preferred: a security key without a PIN still serves as a second factor
		use, err := step(a.ID, ka)
		if err != nil || use.user.ID != a.ID || use.passkey.Name != "A" {
			t.Fatalf("second factor: %+v, %v", use, err)
		}
		if _, err := step(a.ID, kb); err == nil {
			t.Error("bob's passkey completed ann's login")
		}
		if _, ok, err := e.h.beginSecondFactor(ctx, httptest.NewRecorder(), c.ID); ok || err != nil {
			t.Errorf("an account without passkeys: ok %v, %v", ok, err)
		}
		// The ceremony is bound to the account it began for.
		rec := httptest.NewRecorder()
		if _, _, err := e.h.beginSecondFactor(ctx, rec, a.ID); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
		for _, ck := range rec.Result().Cookies() {
			req.AddCookie(ck)
		}
		if _, err := e.h.finishSecondFactor(httptest.NewRecorder(), req, b.ID, nil); err != errCeremony {
			t.Errorf("another account finishing ann's ceremony: %v, want errCeremony", err)
		}
	})
}

// TestPasskeysOff: an issuer passkeys cannot work with (an IP address, plain http elsewhere
// than localhost) has none, and New still succeeds.
func TestPasskeysOff(t *testing.T) {
	for issuer, usable := range map[string]bool{
		"http://localhost:8080": true, "https://id.example.com": true,
		"http://127.0.0.1:8080": false, "https://192.0.2.1": false, "http://id.example.com": false, "not a url": false,
	} {
		if got := PasskeysUsable(issuer); got != usable {
			t.Errorf("PasskeysUsable(%q) = %v, want %v", issuer, got, usable)
		}
	}
}

// TestPasskeySecondStep: a right password of an account with a passkey leads to the second
// step, which offers the passkey; the passkey completes it (the session's amr is pwd, hwk and
// mfa; the login is recorded once, by the second step) and the answer names return_to. Without
// a pending login the begin is refused, and a passkey of another account does not complete it.
func TestPasskeySecondStep(t *testing.T) {
	eachPasskeyBackend(t, func(t *testing.T, e *pEnv) {
		owner, u := e.SignUp("fay@example.com", "Fay Example", "192.0.2.10")
		k := e.key()
		profiletest.WantStatus(t, "register", register(owner, k, "Key"), http.StatusCreated)
		other, _ := e.SignUp("gus@example.com", "Gus Example", "192.0.2.11")
		kOther := e.key()
		profiletest.WantStatus(t, "register other", register(other, kOther, "Other"), http.StatusCreated)

		br := e.Browser("198.51.100.30")
		profiletest.WantStatus(t, "begin without a pending login", postJSON(br, "/login/mfa/passkey/begin", nil), http.StatusBadRequest, "login_expired")
		res := br.Post("/login", url.Values{"email": {"fay@example.com"}, "password": {profiletest.Password}, "return_to": {"/profile/events"}})
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Location, PathLogin) {
			t.Fatalf("password of an account with a passkey: %d %q", res.Status, res.Location)
		}
		if _, ok := br.Current(); ok {
			t.Fatal("the password alone started a session")
		}
		profiletest.WantStatus(t, "second step page", br.Get(res.Location), http.StatusOK,
			`data-passkey-login`, `data-begin="/login/mfa/passkey/begin"`, "Use a passkey")

		// Another account's passkey is not allowed.
		begin := postJSON(br, "/login/mfa/passkey/begin", nil)
		profiletest.WantStatus(t, "begin", begin, http.StatusOK, `"allowCredentials":[{"type":"public-key","id":"`+passkeytest.B64(k.CredentialID)+`"`)
		kOther.Count++
		profiletest.WantStatus(t, "another account's passkey", postJSON(br, "/login/mfa/passkey/finish", kOther.Get([]byte(begin.Body))), http.StatusUnauthorized)
		if _, ok := br.Current(); ok {
			t.Fatal("another account's passkey started a session")
		}

		begin = postJSON(br, "/login/mfa/passkey/begin", nil)
		k.Count++
		k.UV = false // the second factor prefers user verification, it does not need it
		res = postJSON(br, "/login/mfa/passkey/finish", k.Get([]byte(begin.Body)))
		profiletest.WantStatus(t, "second factor", res, http.StatusOK)
		if got := decode[loginAnswer](t, res); got.Redirect != "/profile/events" {
			t.Errorf("redirect %q, want return_to", got.Redirect)
		}
		s, ok := br.Current()
		if !ok || s.UserID != u.ID || !slices.Equal(s.AMR, []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("session after the second factor: %v %+v", ok, s)
		}
		if !hasEvent(e.Events(u.ID), profile.CategoryLogin, "method", "password_hwk") {
			t.Error("no login event of password and passkey")
		}
		// The pending login is spent.
		profiletest.WantStatus(t, "begin again", postJSON(br, "/login/mfa/passkey/begin", nil), http.StatusBadRequest)
	})
}

// FuzzCleanName: a passkey name as typed is refused or comes out trimmed, valid UTF-8, at
// most maxPasskeyName characters and free of control characters.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"", "  Laptop  ", "a\x00b", "\xff", strings.Repeat("я", maxPasskeyName+1), "Work\tkey"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := cleanName(s, "fallback")
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > maxPasskeyName || got != strings.TrimSpace(got) || got == "" {
			t.Fatalf("cleanName(%q) = %q", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("cleanName(%q) kept a control character: %q", s, got)
			}
		}
	})
}
