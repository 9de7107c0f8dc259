package mfa

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Signing in with a passkey. Passwordless: the browser offers the discoverable credentials
// of the RP ID, the user picks one and verifies (PIN, biometrics); the response names the
// account by its user handle. As a second factor: the pending login's account is known, and
// only its passkeys are allowed. Either way the signature counter must have moved forward
// unless the authenticator keeps none (both zero, WebAuthn §6.1.1): a counter that did not
// move is a sign of a cloned authenticator, so the sign-in is refused and logged. The new
// counter is stored by compare-and-set, so a replayed response racing the real one on
// another node loses. Failed attempts count per IP (only failures, as for passwords).

// Refusals of a passkey sign-in. errPasskeyLogin is all a stranger learns: not whether the
// passkey exists, nor which check failed.
var (
	errPasskeyLogin = profile.Refuse(http.StatusUnauthorized, "passkey_failed", "passkey.err.login")
)

// passkeyUse is a sign-in with a passkey that checked out.
type passkeyUse struct {
	user    storage.User
	passkey storage.Passkey
}

// amr is the authentication methods of a sign-in with p (RFC 8176 §2): "hwk" for a key held
// by one device, "swk" for a synced passkey (backup eligible: its key leaves the device);
// with user verification it is a multi-factor sign-in on its own ("mfa").
func passkeyAMR(p storage.Passkey) []string {
	if p.BackupEligible {
		return []string{"swk", "mfa"}
	}
	return []string{"hwk", "mfa"}
}

// passkeyKey is the per-IP tally of failed passkey sign-ins.
func passkeyKey(ip string) string { return "passkey:ip:" + profile.RateKey(ip) }

// passkeyWait is how long until ip may try a passkey again, 0 when it may now.
func (h *Handler) passkeyWait(ctx context.Context, ip string) (time.Duration, error) {
	n, last, err := h.store.LoginFailures(ctx, passkeyKey(ip))
	if err != nil || n < passkeyFailuresPerIP {
		return 0, err
	}
	until := last.Add(passkeyWindow)
	if now := h.now(); now.Before(until) {
		return until.Sub(now), nil
	}
	return 0, nil
}

// passkeyFailed counts a failed passkey sign-in from ip.
func (h *Handler) passkeyFailed(ctx context.Context, ip string) error {
	now := h.now()
	if _, err := h.store.AddLoginFailure(ctx, passkeyKey(ip), now, now.Add(-passkeyWindow)); err != nil {
		return fmt.Errorf("count passkey failure: %w", err)
	}
	return nil
}

// beginLogin starts a passwordless sign-in: options without allowed credentials, user
// verification required.
func (h *Handler) beginLogin(ctx context.Context, w http.ResponseWriter) (*protocol.CredentialAssertion, error) {
	options, sd, err := h.rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin passkey login: %w", err)
	}
	if err := h.saveCeremony(ctx, w, storage.ChallengeLogin, "", sd); err != nil {
		return nil, err
	}
	return options, nil
}

// beginSecondFactor starts a passkey as the second factor of userID's pending login: only the
// account's passkeys are allowed, user verification preferred. ok is false when the account
// has none.
func (h *Handler) beginSecondFactor(ctx context.Context, w http.ResponseWriter, userID string) (*protocol.CredentialAssertion, bool, error) {
	u, err := h.store.GetUser(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	pu, err := h.loadPasskeyUser(ctx, u)
	if err != nil {
		return nil, false, err
	}
	if len(pu.keys) == 0 {
		return nil, false, nil
	}
	options, sd, err := h.rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, false, fmt.Errorf("begin passkey second factor: %w", err)
	}
	if err := h.saveCeremony(ctx, w, storage.ChallengeMFA, userID, sd); err != nil {
		return nil, false, err
	}
	return options, true, nil
}

// finishLogin checks a passwordless sign-in's response: the ceremony, the signature, user
// verification and the counter; it records the use. The user's status is the caller's
// business. Refusals are errPasskeyLogin (counted against the IP) or errCeremony.
func (h *Handler) finishPasskeyLogin(w http.ResponseWriter, r *http.Request, body []byte) (passkeyUse, error) {
	sd, err := h.takeCeremony(w, r, storage.ChallengeLogin, "")
	if err != nil {
		return passkeyUse{}, err
	}
	return h.checkAssertion(r, sd, body, "")
}

// finishSecondFactor checks a passkey response for userID's pending login, as finishLogin
// does, with userID's passkeys only.
func (h *Handler) finishSecondFactor(w http.ResponseWriter, r *http.Request, userID string, body []byte) (passkeyUse, error) {
	sd, err := h.takeCeremony(w, r, storage.ChallengeMFA, userID)
	if err != nil {
		return passkeyUse{}, err
	}
	return h.checkAssertion(r, sd, body, userID)
}

// checkAssertion verifies an assertion against the ceremony sd. For a second factor userID is
// the pending login's account; for a passwordless sign-in it is empty and the user handle
// names the account.
func (h *Handler) checkAssertion(r *http.Request, sd webauthn.SessionData, body []byte, userID string) (passkeyUse, error) {
	ctx := r.Context()
	ip := h.kit.Origin(r).IP
	refuse := func(what string, attrs ...any) (passkeyUse, error) {
		h.logger.InfoContext(ctx, "passkey sign-in refused: "+what, attrs...)
		if err := h.passkeyFailed(ctx, ip); err != nil {
			return passkeyUse{}, err
		}
		return passkeyUse{}, errPasskeyLogin
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return refuse("unreadable", "err", err)
	}
	stored, err := h.store.GetPasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, storage.ErrNotFound) {
		return refuse("unknown credential")
	} else if err != nil {
		return passkeyUse{}, err
	}
	if userID != "" && stored.UserID != userID {
		return refuse("another account's credential", "user_id", userID)
	}
	u, err := h.store.GetUser(ctx, stored.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return refuse("credential of no account")
	} else if err != nil {
		return passkeyUse{}, err
	}
	pu, err := h.loadPasskeyUser(ctx, u)
	if err != nil {
		return passkeyUse{}, err
	}
	var cred *webauthn.Credential
	if userID == "" {
		// The user handle must name the credential's account (WebAuthn §7.2 step 6).
		_, cred, err = h.rp.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
			if string(handle) != u.ID {
				return nil, errors.New("user handle does not name the credential's account")
			}
			return pu, nil
		}, sd, parsed)
	} else {
		cred, err = h.rp.ValidateLogin(pu, sd, parsed)
	}
	if err != nil {
		return refuse("assertion not valid", "user_id", u.ID, "err", err)
	}
	if cred.Authenticator.CloneWarning {
		h.logger.WarnContext(ctx, "passkey signature counter did not increase: possibly a cloned authenticator",
			"user_id", u.ID, "passkey_id", stored.ID, "stored", stored.SignCount, "received", parsed.Response.AuthenticatorData.Counter)
		return refuse("signature counter", "user_id", u.ID)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if sd.UserVerification == protocol.VerificationRequired && !flags.HasUserVerified() {
		return refuse("user not verified", "user_id", u.ID)
	}
	err = h.store.UsePasskey(ctx, stored.ID, stored.SignCount, cred.Authenticator.SignCount, uint8(flags), flags.HasBackupState(), h.now().UTC())
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return refuse("counter moved concurrently or passkey removed", "user_id", u.ID)
	} else if err != nil {
		return passkeyUse{}, err
	}
	p, _ := byPasskey(pu.keys, stored.CredentialID)
	return passkeyUse{user: u, passkey: p}, nil
}

// beginThrottled answers 429 when r's IP began more passkey sign-ins in the kit's window than
// passkeyBeginsPerIP (each stores a ceremony row, and no sign-in is needed to ask); then it
// returns true.
func (h *Handler) beginThrottled(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	retry, err := h.kit.Hit(ctx, profile.Counter{Key: "passkey:begin:" + profile.RateKey(h.kit.Origin(r).IP), Limit: passkeyBeginsPerIP})
	if err != nil {
		h.kit.APIError(w, r, "count passkey begins", err)
		return true
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		profile.WriteAPIError(w, http.StatusTooManyRequests, "too_many_attempts", profile.ThrottleMessage(templates.LangFrom(ctx), retry))
		return true
	}
	return false
}

// loginBegin: POST /login/passkey/begin → the request options of a passwordless sign-in.
func (h *Handler) loginBegin(w http.ResponseWriter, r *http.Request) {
	if h.beginThrottled(w, r) {
		return
	}
	options, err := h.beginLogin(r.Context(), w)
	if err != nil {
		h.kit.APIError(w, r, "begin passkey login", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, options)
}

// loginAnswer is the body of a successful sign-in: where the browser goes next.
type loginAnswer struct {
	Redirect string `json:"redirect"`
}

// loginFinish: POST /login/passkey/finish?return_to=... with the browser's assertion → the
// session, the login event, and {"redirect": URL}: return_to, the completion step, or for an
// account pending deletion the restore page (or, through an app, the page that explains).
func (h *Handler) loginFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	returnTo := profile.SafeReturnTo(r.URL.Query().Get("return_to"))
	o := h.kit.Origin(r)
	retry, err := h.passkeyWait(ctx, o.IP)
	if err != nil {
		h.kit.APIError(w, r, "passkey throttle", err)
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		profile.WriteAPIError(w, http.StatusTooManyRequests, "too_many_attempts", profile.ThrottleMessage(templates.LangFrom(ctx), retry))
		return
	}
	body, err := readCredential(w, r)
	var use passkeyUse
	if err == nil {
		use, err = h.finishPasskeyLogin(w, r, body)
	}
	if err != nil {
		h.kit.APIError(w, r, "finish passkey login", err)
		return
	}
	clientID := h.flowClientID(ctx, returnTo)
	switch use.user.Status {
	case storage.UserActive:
	case storage.UserPendingDeletion:
		// Recovery is for the personal account only: an app's sign-in ends on the page that
		// says so (as signin does for a password).
		if u, err := url.Parse(returnTo); err == nil && u.Path == authorizationPath {
			h.events.Record(ctx, o, use.user.ID, profile.Event{Category: profile.CategoryLoginFailed, ClientID: clientID,
				Details: map[string]string{"method": "passkey", "reason": "pending_deletion"}})
			h.kit.WriteJSON(w, r, http.StatusOK, loginAnswer{Redirect: profile.WithReturnTo(profile.PendingDeletionPath, returnTo)})
			return
		}
		if !h.startPasskeySession(w, r, use, "") {
			return
		}
		h.kit.WriteJSON(w, r, http.StatusOK, loginAnswer{Redirect: profile.RestorePath})
		return
	default:
		h.logger.InfoContext(ctx, "passkey sign-in of an account that is not active", "user_id", use.user.ID)
		h.kit.APIError(w, r, "passkey login", errPasskeyLogin)
		return
	}
	if !h.startPasskeySession(w, r, use, clientID) {
		return
	}
	next := returnTo
	switch need, err := h.kit.NeedsCompletion(ctx, use.user.ID); {
	case err != nil:
		h.logger.ErrorContext(ctx, "check profile completion", "user_id", use.user.ID, "err", err)
	case need:
		next = profile.CompletionURL(returnTo)
	}
	h.kit.WriteJSON(w, r, http.StatusOK, loginAnswer{Redirect: next})
}

// startPasskeySession starts the browser session of a passwordless sign-in and records it.
// On failure it has answered and returns false.
func (h *Handler) startPasskeySession(w http.ResponseWriter, r *http.Request, use passkeyUse, clientID string) bool {
	if _, err := h.kit.StartSession(w, r, use.user.ID, passkeyAMR(use.passkey)); err != nil {
		h.kit.APIError(w, r, "start session", err)
		return false
	}
	h.events.Record(r.Context(), h.kit.Origin(r), use.user.ID, profile.Event{Category: profile.CategoryLogin, ClientID: clientID,
		Details: map[string]string{"method": "passkey", "passkey": use.passkey.Name}})
	h.logger.InfoContext(r.Context(), "login", "user_id", use.user.ID, "method", "passkey")
	return true
}

// errNoPending: the browser holds no second step waiting (none began, it expired, or it was
// completed).
var errNoPending = profile.Refuse(http.StatusBadRequest, "login_expired", "mfa.expired")

// secondBegin: POST /login/mfa/passkey/begin → the request options of a passkey as the
// second factor of the browser's pending login (or step-up): only that account's passkeys.
func (h *Handler) secondBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.beginThrottled(w, r) {
		return
	}
	c, ok, err := h.pendingLogin(r)
	if err == nil && !ok {
		err = errNoPending
	}
	var options *protocol.CredentialAssertion
	if err == nil {
		options, ok, err = h.beginSecondFactor(ctx, w, c.UserID)
		if err == nil && !ok {
			err = errPasskeyNotFound
		}
	}
	if err != nil {
		h.kit.APIError(w, r, "begin passkey second factor", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, options)
}

// secondFinish: POST /login/mfa/passkey/finish with the browser's assertion → the pending
// login completes (finishLogin: the session with the password's amr, "hwk" or "swk", and
// "mfa"; the event) and the answer is {"redirect": URL}.
func (h *Handler) secondFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	retry, err := h.passkeyWait(ctx, h.kit.Origin(r).IP)
	if err != nil {
		h.kit.APIError(w, r, "passkey throttle", err)
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		profile.WriteAPIError(w, http.StatusTooManyRequests, "too_many_attempts", profile.ThrottleMessage(templates.LangFrom(ctx), retry))
		return
	}
	c, ok, err := h.pendingLogin(r)
	if err == nil && !ok {
		err = errNoPending
	}
	var body []byte
	if err == nil {
		body, err = readCredential(w, r)
	}
	var use passkeyUse
	if err == nil {
		use, err = h.finishSecondFactor(w, r, c.UserID, body)
	}
	if err != nil {
		if errors.Is(err, errPasskeyLogin) {
			h.events.Record(ctx, h.kit.Origin(r), c.UserID, profile.Event{Category: profile.CategoryLoginFailed,
				ClientID: h.flowClientID(ctx, c.ReturnTo), Details: map[string]string{"method": "passkey"}})
		}
		h.kit.APIError(w, r, "finish passkey second factor", err)
		return
	}
	next, ok := h.finishLogin(w, r, c, passkeyAMR(use.passkey)[0])
	if !ok {
		return
	}
	h.logger.InfoContext(ctx, "second factor", "user_id", c.UserID, "method", "passkey")
	h.kit.WriteJSON(w, r, http.StatusOK, loginAnswer{Redirect: next})
}

// authorizationPath is oauth's authorization endpoint (oauth.PathAuth).
const authorizationPath = "/oauth2/auth"
