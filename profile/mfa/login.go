package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The second login step. A right password of an account with a second factor (or, under
// the installation policy "required", without one yet) does not start a session: it stores
// a login challenge (a DB row, so any node continues it; the browser holds a random token
// whose SHA-256 names the row) and goes to /login/mfa, which asks for an authenticator app
// code, a recovery code or a passkey. A signed-in session comes to /login/mfa too when an
// app asks for more than it has (the authorization endpoint's step-up: acr_values, a client
// that requires MFA, a fresh login by max_age or prompt=login) or a sensitive change wants
// a recent sign-in: the session is then elevated in place once the factor is proven.
const (
	// PathLogin is the second step's page.
	PathLogin         = "/login/mfa"
	challengeTTL      = 5 * time.Minute
	maxCodeAttempts   = 5  // wrong codes per challenge
	maxCodeFailures   = 10 // wrong codes per account within codeFailureWindow
	codeFailureWindow = 15 * time.Minute
	challengeTokenLen = 32
)

// PendingLogin is a sign-in waiting for its second factor (passkeys complete it too).
type PendingLogin = storage.LoginChallenge

// Policies of the installation (Config.Policy).
const (
	PolicyOptional = "optional"
	PolicyRequired = "required"
)

// Factor methods, as the amr claim (RFC 8176) and the activity log name them.
const (
	amrOTP = "otp"
	amrMFA = "mfa"
)

// loginPage is login_mfa.html's data.
type loginPage struct {
	ReturnTo string
	// Enrol: the account has no factor yet and must set up an authenticator app first (the
	// installation or the app requires two-factor sign-in); Setup is what to scan.
	Enrol bool
	Setup TOTPSetup
	// TOTP: the account has an authenticator app; Recovery: it has recovery codes left.
	TOTP, Recovery bool
	// Passkeys: the account has passkeys (profile/mfa passkey step).
	Passkeys bool
	// StepUp: a signed-in session proves a second factor again; PasswordURL signs in with the
	// password instead.
	StepUp      bool
	PasswordURL string
	CancelURL   string
	Alert       string
	Errors      map[string]string
}

// codesPage is mfa_codes.html's data: recovery codes shown once.
type codesPage struct {
	Codes []string
	Next  string // where Continue goes
	Login bool   // shown inside a sign-in (no account sidebar)
}

// HasFactor reports whether userID has a confirmed second factor.
func (h *Handler) HasFactor(ctx context.Context, userID string) (bool, error) {
	t, err := h.store.GetTOTP(ctx, userID)
	switch {
	case err == nil && t.Confirmed:
		return true, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	if h.passkeys == nil {
		return false, nil
	}
	list, err := h.passkeys(ctx, userID)
	return len(list) > 0, err
}

// Challenge is signin's question after a right password: when userID must prove a second
// factor (or enrol one), it stores the challenge, gives the browser its token and returns
// the page to go to; "" when the password is enough.
func (h *Handler) Challenge(w http.ResponseWriter, r *http.Request, userID, returnTo string, amr []string) (string, error) {
	ctx := r.Context()
	has, err := h.HasFactor(ctx, userID)
	if err != nil {
		return "", err
	}
	if !has && h.cfg.Policy != PolicyRequired {
		return "", nil
	}
	if err := h.putChallenge(w, r, PendingLogin{UserID: userID, AMR: amr, ReturnTo: returnTo}); err != nil {
		return "", err
	}
	return PathLogin, nil
}

// putChallenge stores c with a new token and sets the browser's cookie.
func (h *Handler) putChallenge(w http.ResponseWriter, r *http.Request, c PendingLogin) error {
	raw := make([]byte, challengeTokenLen)
	rand.Read(raw)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := h.now()
	c.IDHash, c.CreatedAt, c.ExpiresAt = challengeHash(tok), now, now.Add(challengeTTL)
	if err := h.store.PutLoginChallenge(r.Context(), c); err != nil {
		return fmt.Errorf("put login challenge: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: tok, Path: "/", MaxAge: int(challengeTTL.Seconds()),
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

func challengeHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

func (h *Handler) cookieName() string {
	if h.cfg.SecureCookies {
		return "__Host-facet_mfa"
	}
	return "facet_mfa"
}

func (h *Handler) clearChallengeCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// pendingLogin returns the live challenge r's cookie names. A step-up challenge counts only
// while the browser still holds the session it was made for.
func (h *Handler) pendingLogin(r *http.Request) (PendingLogin, bool, error) {
	ck, err := r.Cookie(h.cookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return PendingLogin{}, false, nil
	}
	c, err := h.store.GetLoginChallenge(r.Context(), challengeHash(ck.Value), h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return PendingLogin{}, false, nil
	}
	if err != nil {
		return PendingLogin{}, false, err
	}
	if c.SessionID != "" {
		s, ok, err := h.kit.Current(r)
		if err != nil {
			return PendingLogin{}, false, err
		}
		if !ok || s.ID != c.SessionID {
			return PendingLogin{}, false, nil
		}
	}
	return c, true, nil
}

// loginForm shows the second step: for the challenge the browser holds, or, for a signed-in
// session (step-up), a new challenge of that session's account.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	returnTo := profile.SafeReturnTo(r.URL.Query().Get("return_to"))
	c, ok, err := h.pendingLogin(r)
	if err != nil {
		h.kit.ServerError(w, r, "login challenge", err)
		return
	}
	if !ok {
		s, signedIn, err := h.kit.Current(r)
		if err != nil {
			h.kit.ServerError(w, r, "current session", err)
			return
		}
		if !signedIn {
			http.Redirect(w, r, profile.WithReturnTo("/login", returnTo), http.StatusSeeOther)
			return
		}
		c = PendingLogin{UserID: s.UserID, AMR: s.AMR, SessionID: s.ID, ReturnTo: returnTo}
		if err := h.putChallenge(w, r, c); err != nil {
			h.kit.ServerError(w, r, "login challenge", err)
			return
		}
	}
	page, err := h.newLoginPage(ctx, c)
	if err != nil {
		h.kit.ServerError(w, r, "second step", err)
		return
	}
	h.kit.Render(w, r, http.StatusOK, "login_mfa", page)
}

// newLoginPage describes the factors c's account can use, or the enrolment when it has none.
func (h *Handler) newLoginPage(ctx context.Context, c PendingLogin) (loginPage, error) {
	p := loginPage{ReturnTo: c.ReturnTo, StepUp: c.SessionID != "", CancelURL: "/login", Errors: map[string]string{}}
	if p.StepUp {
		p.PasswordURL = "/login?prompt=login&method=password&return_to=" + url.QueryEscape(c.ReturnTo)
		p.CancelURL = "/profile"
		// Signed in: the header shows the account, as on the account pages.
		u, err := h.store.GetUser(ctx, c.UserID)
		if err != nil {
			return p, err
		}
		templates.SetAccount(ctx, templates.NewAccount(u.Email))
	}
	f, err := h.factorsOf(ctx, c.UserID)
	if err != nil {
		return p, err
	}
	p.TOTP, p.Recovery, p.Passkeys = f.TOTP, f.Left > 0, len(f.Passkeys) > 0
	if !p.TOTP && !p.Passkeys {
		u, err := h.store.GetUser(ctx, c.UserID)
		if err != nil {
			return p, err
		}
		p.Enrol = true
		p.Setup, err = h.pendingTOTP(ctx, u)
		if errors.Is(err, ErrNoTOTP) {
			p.Setup, err = h.beginTOTP(ctx, u)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// login checks the code of the second step: an authenticator app code, a recovery code, or
// during enrolment the new app's first code (which then shows the new recovery codes).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	r = h.kit.FormLanguage(r)
	ctx := r.Context()
	c, ok, err := h.pendingLogin(r)
	if err != nil {
		h.kit.ServerError(w, r, "login challenge", err)
		return
	}
	if !ok {
		h.expired(w, r)
		return
	}
	page, err := h.newLoginPage(ctx, c)
	if err != nil {
		h.kit.ServerError(w, r, "second step", err)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if code == "" || len(code) > 32 {
		page.Errors["code"] = templates.Tr(ctx, "mfa.code_required")
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "login_mfa", page)
		return
	}
	// Wrong codes are counted before the comparison, per challenge and per account, so
	// neither a reload nor a new password sign-in gives more guesses.
	if retry, err := h.codeWait(ctx, c.UserID); err != nil {
		h.kit.ServerError(w, r, "count code failures", err)
		return
	} else if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		page.Alert = profile.ThrottleMessage(templates.LangFrom(ctx), retry)
		h.kit.Render(w, r, http.StatusTooManyRequests, "login_mfa", page)
		return
	}
	n, err := h.store.CountChallengeAttempt(ctx, c.IDHash)
	if errors.Is(err, storage.ErrNotFound) {
		h.expired(w, r)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "count challenge attempt", err)
		return
	}
	if n > maxCodeAttempts {
		_ = h.store.DeleteLoginChallenge(ctx, c.IDHash)
		h.clearChallengeCookie(w)
		h.message(w, r, http.StatusTooManyRequests, "mfa.too_many")
		return
	}

	method := ""
	switch {
	case page.Enrol:
		err = h.checkTOTP(ctx, c.UserID, code, false)
		method = "totp"
	case isRecoveryCode(code) && page.Recovery:
		err = h.useRecoveryCode(ctx, c.UserID, code)
		method = "recovery_code"
	case page.TOTP:
		err = h.checkTOTP(ctx, c.UserID, code, true)
		method = "totp"
	default:
		err = ErrBadCode
	}
	switch {
	case errors.Is(err, ErrBadCode), errors.Is(err, ErrCodeUsed), errors.Is(err, ErrNoTOTP):
		if _, ferr := h.store.AddLoginFailure(ctx, codeFailureKey(c.UserID), h.now(), h.now().Add(-codeFailureWindow)); ferr != nil {
			h.kit.ServerError(w, r, "count code failure", ferr)
			return
		}
		h.events.Record(ctx, h.kit.Origin(r), c.UserID, profile.Event{Category: profile.CategoryLoginFailed,
			ClientID: h.flowClientID(ctx, c.ReturnTo), Details: map[string]string{"method": method}})
		key := "mfa.code_wrong"
		if errors.Is(err, ErrCodeUsed) {
			key = "mfa.code_used"
		}
		page.Errors["code"] = templates.Tr(ctx, key)
		h.kit.Render(w, r, http.StatusOK, "login_mfa", page)
		return
	case err != nil:
		h.kit.ServerError(w, r, "check code", err)
		return
	}
	if err := h.store.ResetLoginFailures(ctx, codeFailureKey(c.UserID)); err != nil {
		h.kit.ServerError(w, r, "reset code failures", err)
		return
	}
	next, ok := h.finishLogin(w, r, c, method)
	if !ok {
		return
	}
	if page.Enrol {
		// The first factor: its recovery codes are shown once, then the sign-in goes on.
		h.events.Record(ctx, h.kit.Origin(r), c.UserID, profile.Event{Category: profile.CategoryMFAEnabled,
			Details: map[string]string{"factor": "totp"}})
		codes, err := h.newRecoveryCodes(ctx, c.UserID)
		if err != nil {
			h.kit.ServerError(w, r, "recovery codes", err)
			return
		}
		h.kit.Render(w, r, http.StatusOK, "mfa_codes", codesPage{Codes: codes, Next: next, Login: true})
		return
	}
	if method == "recovery_code" {
		h.kit.AccountNotice(ctx, c.UserID, "mfa.notice.recovery_used.subject", "mfa.notice.recovery_used.text")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func codeFailureKey(userID string) string { return "mfa:" + userID }

// codeWait is how long userID's second step must wait: zero under maxCodeFailures wrong
// codes in codeFailureWindow.
func (h *Handler) codeWait(ctx context.Context, userID string) (time.Duration, error) {
	n, last, err := h.store.LoginFailures(ctx, codeFailureKey(userID))
	if err != nil || n < maxCodeFailures {
		return 0, err
	}
	if d := last.Add(codeFailureWindow).Sub(h.now()); d > 0 {
		return d, nil
	}
	return 0, nil
}

// finishLogin completes c once its second factor (methods, as amr values: "otp", "hwk",
// "swk"; "totp" and "recovery_code" name the authenticator app and a recovery code) is
// proven: it consumes the challenge (a challenge completes once, on any node), starts the
// session (or elevates the step-up's session in place) with c's methods, the new ones and
// "mfa", records the sign-in and returns where the browser goes next. On failure it has
// answered and returns false.
func (h *Handler) finishLogin(w http.ResponseWriter, r *http.Request, c PendingLogin, methods ...string) (string, bool) {
	ctx := r.Context()
	err := h.store.DeleteLoginChallenge(ctx, c.IDHash)
	if errors.Is(err, storage.ErrNotFound) {
		h.expired(w, r)
		return "", false
	}
	if err != nil {
		h.kit.ServerError(w, r, "complete login challenge", err)
		return "", false
	}
	h.clearChallengeCookie(w)
	amr := slices.Clone(c.AMR)
	event := []string{}
	if slices.Contains(amr, "pwd") && c.SessionID == "" {
		event = append(event, "password")
	}
	for _, m := range methods {
		event = append(event, m)
		switch m {
		case "totp", "recovery_code":
			m = amrOTP
		}
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	if !slices.Contains(amr, amrMFA) {
		amr = append(amr, amrMFA)
	}
	if c.SessionID != "" {
		if err := h.store.ElevateSession(ctx, c.SessionID, amr, h.now()); err != nil {
			h.kit.ServerError(w, r, "elevate session", err)
			return "", false
		}
	} else if _, err := h.kit.StartSession(w, r, c.UserID, amr); err != nil {
		h.kit.ServerError(w, r, "start session", err)
		return "", false
	}
	h.events.Record(ctx, h.kit.Origin(r), c.UserID, profile.Event{Category: profile.CategoryLogin, ClientID: h.flowClientID(ctx, c.ReturnTo),
		Details: map[string]string{"method": strings.Join(event, "_")}})
	next := c.ReturnTo
	if next == "" {
		next = "/"
	}
	switch need, err := h.kit.NeedsCompletion(ctx, c.UserID); {
	case err != nil:
		h.logger.ErrorContext(ctx, "check profile completion", "user_id", c.UserID, "err", err)
	case need:
		next = profile.CompletionURL(next)
	}
	return next, true
}

// expired answers a second step whose challenge is gone (expired, used, or another browser's).
func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	h.clearChallengeCookie(w)
	h.message(w, r, http.StatusBadRequest, "mfa.expired")
}

// messagePage is mfa_message.html's data.
type messagePage struct{ Text string }

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.kit.Render(w, r, status, "mfa_message", messagePage{Text: templates.Tr(r.Context(), key)})
}

// flowClientID is the client_id of an authorization request's return_to when that app is
// registered, "" for another page (the activity log names only real apps).
func (h *Handler) flowClientID(ctx context.Context, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != "/oauth2/auth" {
		return ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return ""
	}
	if _, err := h.store.GetClient(ctx, id); err != nil {
		return ""
	}
	return id
}
