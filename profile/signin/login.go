package signin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Errors of authenticate.
var (
	errLoginFailed = errors.New("login or password not correct")
	errThrottled   = errors.New("too many attempts")
	// errPendingDeletion: the password is right, and the account waits out its recovery
	// window after its owner deleted it.
	errPendingDeletion = errors.New("account pending deletion")
)

// pathSecondStep is profile/mfa's second login step (mfa.PathLogin).
const pathSecondStep = "/login/mfa"

// loginPage is login.html's data.
type loginPage struct {
	ReturnTo    string
	AppName     string
	Login       string // as typed: an email address or a username
	Alert       string // what went wrong
	Notice      string // a success notice another page asked for (logged out, password changed)
	Errors      map[string]string
	RegisterURL string
	Methods     []LoginButton // the upstream login methods' buttons
}

// loginForm shows the login form, or goes straight on when someone is signed in and the
// caller did not ask for a fresh login (prompt=login, OIDC Core 3.1.2.1).
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo := profile.SafeReturnTo(q.Get("return_to"))
	s, ok, err := h.kit.Current(r)
	if err != nil {
		h.kit.ServerError(w, r, "current session", err)
		return
	}
	if ok && !hasWord(q.Get("prompt"), "login") {
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	// A fresh login of a signed-in account with a second factor is that factor (the second
	// step elevates the session); method=password asks for the password instead.
	if ok && h.second != nil && q.Get("method") != "password" {
		has, err := h.second.HasFactor(r.Context(), s.UserID)
		if err != nil {
			h.kit.ServerError(w, r, "second factor", err)
			return
		}
		if has {
			http.Redirect(w, r, profile.WithReturnTo(pathSecondStep, returnTo), http.StatusSeeOther)
			return
		}
	}
	page := h.newLoginPage(r.Context(), returnTo)
	if key, ok := loginNotices[q.Get("notice")]; ok {
		page.Notice = templates.Tr(r.Context(), key)
	}
	h.kit.Render(w, r, http.StatusOK, "login", page)
}

// loginNotices are the messages another page may ask the login form to show after a
// redirect (e.g. after a password change ended every session).
var loginNotices = map[string]string{
	"password_changed": "account.password.changed",
	"logged_out":       "login.logged_out",
	"password_reset":   "login.password_reset",
	"account_deleted":  "lifecycle.deleted.notice",
}

func (h *Handler) newLoginPage(ctx context.Context, returnTo string) loginPage {
	p := loginPage{
		ReturnTo:    returnTo,
		AppName:     h.appName(ctx, returnTo),
		Errors:      map[string]string{},
		RegisterURL: profile.WithReturnTo("/register", returnTo),
	}
	if h.methods != nil {
		// The password form works without the buttons: a failure to list them only hides them.
		buttons, err := h.methods.LoginButtons(ctx, returnTo)
		if err != nil {
			h.logger.WarnContext(ctx, "list login methods", "err", err)
		}
		p.Methods = buttons
	}
	return p
}

// login checks the credentials and starts a new session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	r = h.kit.FormLanguage(r)
	ctx := r.Context()
	page := h.newLoginPage(ctx, profile.SafeReturnTo(r.PostForm.Get("return_to")))
	// The field keeps its name "email" (password managers and links know it) but takes a
	// username too.
	page.Login = strings.TrimSpace(r.PostForm.Get("email"))
	pw := r.PostForm.Get("password")
	if page.Login == "" {
		page.Errors["email"] = templates.Tr(r.Context(), "login.email_required")
	}
	if pw == "" {
		page.Errors["password"] = templates.Tr(r.Context(), "login.password_required")
	}
	if len(page.Errors) > 0 {
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "login", page)
		return
	}

	o := h.kit.Origin(r)
	ip := o.IP
	u, retry, err := h.authenticate(r, o, page.Login, pw)
	switch {
	case errors.Is(err, errThrottled):
		h.logger.WarnContext(ctx, "login throttled", "ip", ip)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		page.Alert = profile.ThrottleMessage(templates.LangFrom(r.Context()), retry)
		h.kit.Render(w, r, http.StatusTooManyRequests, "login", page)
		return
	case errors.Is(err, errLoginFailed):
		if u.ID != "" {
			// Only for an existing account: unknown emails would let anyone fill the log.
			h.events.Record(ctx, h.kit.Origin(r), u.ID, profile.Event{Category: profile.CategoryLoginFailed, ClientID: flowClientID(page.ReturnTo, page.AppName),
				Details: map[string]string{"method": "password"}})
		}
		page.Alert = templates.Tr(r.Context(), "login.failed")
		h.kit.Render(w, r, http.StatusOK, "login", page)
		return
	case errors.Is(err, errPendingDeletion):
		h.pendingDeletion(w, r, u.ID, page.ReturnTo, page.AppName)
		return
	case err != nil:
		h.kit.ServerError(w, r, "authenticate", err)
		return
	}
	h.setDevice(w, u.ID)
	if h.second != nil {
		next, err := h.second.Challenge(w, r, u.ID, page.ReturnTo, []string{"pwd"})
		if err != nil {
			h.kit.ServerError(w, r, "second step", err)
			return
		}
		if next != "" {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	if !h.signedIn(w, r, u.ID, profile.CategoryLogin, flowClientID(page.ReturnTo, page.AppName)) {
		return
	}
	h.logger.InfoContext(ctx, "login", "user_id", u.ID)
	// Mandatory fields left empty are asked for before the flow goes on (spec: "The system
	// will request the missing data during your next login").
	switch need, err := h.kit.NeedsCompletion(ctx, u.ID); {
	case err != nil:
		h.logger.ErrorContext(ctx, "check profile completion", "user_id", u.ID, "err", err)
	case need:
		http.Redirect(w, r, profile.CompletionURL(page.ReturnTo), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, page.ReturnTo, http.StatusSeeOther)
}

// signedIn starts a browser session for userID after a password login or a registration and
// records it in the activity log under category, with the app the flow is for. On failure it
// has answered and returns false.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, userID string, category string, clientID string) bool {
	if _, err := h.kit.StartSession(w, r, userID, []string{"pwd"}); err != nil {
		h.kit.ServerError(w, r, "start session", err)
		return false
	}
	h.events.Record(r.Context(), h.kit.Origin(r), userID, profile.Event{Category: category, ClientID: clientID,
		Details: map[string]string{"method": "password"}})
	return true
}

// authenticate checks a login (an email address or a preferred_username) and a password. It
// resolves the login to an account first, so the account's tally is the same whichever
// identifier is typed; then, without counting anything, it refuses while the IP is over its
// failures or the account is within its delay (protect.go) — unless the browser holds the
// account's trusted device cookie, which the account's delay does not hold back. Only a
// password check that fails counts. An unknown login, a wrong password and an account that is
// not active all return errLoginFailed after the same work (one argon2id check for each
// account holding the login: one, but for an address several accounts hold unconfirmed), so
// neither text nor timing tells them apart; an unknown login is slowed like an account, on
// its own tally. With errLoginFailed the returned user carries only the ID of an existing
// account (for the activity log), empty for an unknown login.
func (h *Handler) authenticate(r *http.Request, o profile.Origin, login, pw string) (storage.User, time.Duration, error) {
	ctx := r.Context()
	candidates, err := h.findLogin(ctx, login)
	if err != nil {
		return storage.User{}, 0, err
	}
	found := len(candidates) > 0
	key, userID, device := unknownKey(login), "", ""
	if found {
		userID = candidates[0].ID
		key = accountKey(userID)
		device = h.device(r, userID)
	}
	retry, err := h.wait(ctx, ipKey(o.IP), h.ipDelay)
	if err != nil {
		return storage.User{}, 0, err
	}
	if device != "" {
		// A device cookie that failed too often is trusted no more: the browser is a fresh
		// one again.
		n, _, err := h.store.LoginFailures(ctx, deviceKey(device))
		if err != nil {
			return storage.User{}, 0, err
		}
		if n >= h.limits.DeviceFailures {
			device = ""
		}
	}
	if retry == 0 && device == "" {
		if retry, err = h.wait(ctx, key, h.limits.Delay); err != nil {
			return storage.User{}, 0, err
		}
	}
	if retry > 0 {
		return storage.User{}, retry, errThrottled
	}

	if !found {
		if _, err := password.Check(h.dummyHash, pw); err != nil {
			h.logger.ErrorContext(ctx, "dummy password hash unreadable", "err", err)
		}
		return storage.User{}, 0, h.failed(ctx, o, key, device, "")
	}
	// Several accounts can hold one address, one of them at most confirmed: the password
	// picks the account. The one holding it confirmed comes first, so an unconfirmed
	// duplicate (a squatter's) never stands in for the owner's account; a squatter's own
	// password opens only the squatter's own account. A duplicate registered after the
	// owner confirmed the address logs in like any account, so logging in does not tell a
	// registrant whether the address was taken.
	for _, u := range candidates {
		ok, err := password.Check(u.PasswordHash, pw)
		if err != nil {
			h.logger.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
			ok = false
		}
		if !ok {
			continue
		}
		if u.Status != storage.UserActive && u.Status != storage.UserPendingDeletion {
			return storage.User{ID: u.ID}, 0, errLoginFailed
		}
		// Success clears the account's tally (when it is this account's) and the device's;
		// the IP's is not cleared, or one valid account would let an attacker reset it.
		if u.ID == userID {
			if err := h.store.ResetLoginFailures(ctx, key); err != nil {
				return storage.User{}, 0, fmt.Errorf("reset login failures: %w", err)
			}
		}
		if device != "" {
			if err := h.store.ResetLoginFailures(ctx, deviceKey(device)); err != nil {
				return storage.User{}, 0, fmt.Errorf("reset device failures: %w", err)
			}
		}
		if u.Status == storage.UserPendingDeletion {
			return u, 0, errPendingDeletion
		}
		return u, 0, nil
	}
	return storage.User{ID: userID}, 0, h.failed(ctx, o, key, device, userID)
}

// failed counts a failed password check and returns errLoginFailed (or the storage error).
func (h *Handler) failed(ctx context.Context, o profile.Origin, key, device, userID string) error {
	if err := h.fail(ctx, o, key, device, userID); err != nil {
		return err
	}
	return errLoginFailed
}

// maxLoginCandidates bounds the accounts one login by email tries the password on (each try
// is an argon2id hash): the confirmed holder, else the oldest unconfirmed holders.
const maxLoginCandidates = 3

// normalizeLogin trims and lower-cases what was typed in the login field. Emails are stored
// lower-case and usernames may only use lower-case letters, so logins are case-insensitive.
func normalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// findLogin resolves a login to the accounts it may name: for an email address (it has an
// "@", a username cannot) the account holding it confirmed, then the accounts holding it
// unconfirmed, oldest first, at most maxLoginCandidates; for a preferred_username its
// account. None is not an error.
func (h *Handler) findLogin(ctx context.Context, login string) ([]storage.User, error) {
	login = normalizeLogin(login)
	if strings.Contains(login, "@") {
		users, err := h.store.UsersByEmail(ctx, login, maxLoginCandidates)
		if err != nil {
			return nil, fmt.Errorf("find login: %w", err)
		}
		return users, nil
	}
	id, err := h.store.FindUserIDByField(ctx, "preferred_username", login)
	if err == nil {
		var u storage.User
		if u, err = h.store.GetUser(ctx, id); err == nil {
			return []storage.User{u}, nil
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return nil, fmt.Errorf("find login: %w", err)
}

// hasWord reports whether the space-separated list s contains w (OIDC prompt values).
func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// logout ends the session and goes to a same-origin return_to or "/".
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	// End records the logout.
	if err := h.kit.End(w, r, ""); err != nil {
		h.kit.ServerError(w, r, "end session", err)
		return
	}
	next := profile.SafeReturnTo(r.PostForm.Get("return_to"))
	if next == "/" {
		// Without a page to go back to, the login form says the logout happened.
		next = "/login?notice=logged_out"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// pendingDeletion answers a right password for an account waiting out its recovery window
// (spec "Account Deletion and Recovery": recovery only in the personal account). Signing in
// to the personal account starts a session whose one page is the restore page; signing in
// through an app starts none and ends on a page that says where to restore the account and
// lets the person go back to the app, which then receives access_denied.
func (h *Handler) pendingDeletion(w http.ResponseWriter, r *http.Request, userID, returnTo, appName string) {
	if isAuthorization(returnTo) {
		h.events.Record(r.Context(), h.kit.Origin(r), userID, profile.Event{Category: profile.CategoryLoginFailed,
			ClientID: flowClientID(returnTo, appName), Details: map[string]string{"method": "password", "reason": "pending_deletion"}})
		http.Redirect(w, r, profile.WithReturnTo(profile.PendingDeletionPath, returnTo), http.StatusSeeOther)
		return
	}
	// Restoring needs the second factor too: the password alone does not bring an account
	// back.
	if h.second != nil {
		next, err := h.second.Challenge(w, r, userID, profile.RestorePath, []string{"pwd"})
		if err != nil {
			h.kit.ServerError(w, r, "second step", err)
			return
		}
		if next != "" {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	if !h.signedIn(w, r, userID, profile.CategoryLogin, "") {
		return
	}
	http.Redirect(w, r, profile.RestorePath, http.StatusSeeOther)
}
