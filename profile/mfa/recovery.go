package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Password recovery (OWASP ASVS 5.0 V6.4, OWASP Forgot Password Cheat Sheet): the forgot
// page answers the same whatever was typed, so it tells nobody whether an account exists;
// the code and link go out after the answer, so the time does not tell either. A code is 6
// CSPRNG digits stored as an HMAC bound to the user and the destination, with a one-click
// link token stored as a SHA-256; it lives 15 minutes, allows 5 attempts counted atomically
// before the comparison, and works once. A reset ends every session and token of the
// account (ASVS V7.4.3).
const (
	resetTTL         = 15 * time.Minute
	maxResetAttempts = 5
	resendAfter      = time.Minute
	forgotPerIP      = 10 // recovery requests per IP per throttle window
	forgotPerLogin   = 3  // recovery requests per typed address, username or number per window
	linkTokenBytes   = 32
)

// resetPage is reset.html's data.
type resetPage struct {
	Login  string
	Token  string // the one-click link's token: the code is not asked for
	Sent   bool   // just after the forgot form: "if an account matches, a code was sent"
	Alert  string
	Errors map[string]string
}

// forgotPage is forgot.html's data.
type forgotPage struct {
	Login  string
	Alert  string
	Errors map[string]string
}

func (h *Handler) forgotForm(w http.ResponseWriter, r *http.Request) {
	h.kit.Render(w, r, http.StatusOK, "forgot", forgotPage{Errors: map[string]string{}})
}

// forgot takes an email address, username or phone number and answers with the reset form,
// the same page whether or not an account matched; the code goes out in the background.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	r = h.kit.FormLanguage(r)
	ctx := r.Context()
	page := forgotPage{Login: strings.TrimSpace(r.PostForm.Get("login")), Errors: map[string]string{}}
	if page.Login == "" || len(page.Login) > 254 {
		page.Errors["login"] = templates.Tr(ctx, "recovery.login_required")
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "forgot", page)
		return
	}
	ip := h.kit.Origin(r).IP
	retry, err := h.kit.Hit(ctx,
		profile.Counter{Key: "forgot:ip:" + profile.RateKey(ip), Limit: forgotPerIP},
		profile.Counter{Key: "forgot:login:" + profile.KeyHash(normalize(page.Login)), Limit: forgotPerLogin},
	)
	if err != nil {
		h.kit.ServerError(w, r, "count recovery requests", err)
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		page.Alert = profile.ThrottleMessage(templates.LangFrom(ctx), retry)
		h.kit.Render(w, r, http.StatusTooManyRequests, "forgot", page)
		return
	}
	t, err := h.target(ctx, page.Login)
	if err != nil {
		h.kit.ServerError(w, r, "find recovery account", err)
		return
	}
	if t.user.ID != "" {
		lang := h.kit.RecipientLang(ctx, t.user.ID)
		h.sending.Add(1)
		go func() {
			defer h.sending.Done()
			h.send(context.WithoutCancel(ctx), t, lang)
		}()
	}
	h.kit.Render(w, r, http.StatusOK, "reset", resetPage{Login: page.Login, Sent: true, Errors: map[string]string{}})
}

// target is where a recovery code goes: the account and its verified address or number.
type target struct {
	user    storage.User
	to      string
	channel string // "email" or "sms"
}

// normalize is what was typed, trimmed and lower-cased (emails and usernames are stored so).
func normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// target resolves a typed login to an active account and the verified address or number the
// code goes to: an email address names the account holding it confirmed (never an
// unconfirmed holder, who may be a squatter), a phone number the account holding it verified
// (when an SMS sender is configured), a username its account's verified email, else its
// phone. No match is the zero target, not an error.
func (h *Handler) target(ctx context.Context, login string) (target, error) {
	login = normalize(login)
	var uid string
	switch {
	case strings.Contains(login, "@"):
		users, err := h.store.UsersByEmail(ctx, login, 1)
		if err != nil {
			return target{}, err
		}
		if len(users) == 0 || !users[0].EmailVerified || users[0].Status != storage.UserActive {
			return target{}, nil
		}
		return target{user: users[0], to: users[0].Email, channel: "email"}, nil
	case strings.HasPrefix(login, "+") || (login != "" && login[0] >= '0' && login[0] <= '9'):
		if h.phone == nil {
			return target{}, nil
		}
		num, err := phonenumbers.Parse(login, h.cfg.PhoneRegion)
		if err != nil || !phonenumbers.IsValidNumber(num) {
			return target{}, nil
		}
		e164 := phonenumbers.Format(num, phonenumbers.E164)
		id, err := h.store.PhoneOwner(ctx, e164)
		if errors.Is(err, storage.ErrNotFound) {
			return target{}, nil
		} else if err != nil {
			return target{}, err
		}
		u, err := h.store.GetUser(ctx, id)
		if err != nil {
			return target{}, err
		}
		if u.Status != storage.UserActive {
			return target{}, nil
		}
		return target{user: u, to: e164, channel: "sms"}, nil
	default:
		id, err := h.store.FindUserIDByField(ctx, "preferred_username", login)
		if errors.Is(err, storage.ErrNotFound) {
			return target{}, nil
		} else if err != nil {
			return target{}, err
		}
		uid = id
	}
	u, err := h.store.GetUser(ctx, uid)
	if err != nil {
		return target{}, err
	}
	if u.Status != storage.UserActive {
		return target{}, nil
	}
	if u.EmailVerified && storage.HasEmail(u) {
		return target{user: u, to: u.Email, channel: "email"}, nil
	}
	if h.phone != nil {
		phone, _, err := h.kit.FieldLevel(ctx, u.ID, "phone_number")
		if err != nil {
			return target{}, err
		}
		if phone != "" {
			return target{user: u, to: phone, channel: "sms"}, nil
		}
	}
	return target{}, nil
}

// send stores a new code for t (unless one went out less than a minute ago) and sends it;
// failures are logged only, the answer went out already.
func (h *Handler) send(ctx context.Context, t target, l templates.Lang) {
	now := h.now()
	code := newCode()
	v := storage.Verification{UserID: t.user.ID, Kind: storage.KindPasswordReset, Value: t.to, Channel: t.channel,
		CodeHash: h.codeMAC(t.user.ID, t.to, code), ExpiresAt: now.Add(resetTTL), LastSentAt: now, CreatedAt: now}
	var token string
	if t.channel == "email" {
		raw := make([]byte, linkTokenBytes)
		rand.Read(raw) // never fails since Go 1.24
		token = base64.RawURLEncoding.EncodeToString(raw)
		v.LinkHash = linkHash(token)
	}
	stored, err := h.store.PutVerification(ctx, v, now.Add(-resendAfter))
	if err != nil {
		h.logger.ErrorContext(ctx, "store recovery code", "user_id", t.user.ID, "err", err)
		return
	}
	if !stored {
		h.logger.InfoContext(ctx, "recovery code sent less than a minute ago", "user_id", t.user.ID)
		return
	}
	minutes := int(resetTTL / time.Minute)
	switch t.channel {
	case "email":
		mailer, ok := h.kit.Mailer()
		if !ok {
			h.logger.WarnContext(ctx, "no mailer for a recovery code", "user_id", t.user.ID)
			return
		}
		link := h.cfg.Issuer + "/login/reset?token=" + url.QueryEscape(token)
		err = mailer.Send(ctx, notify.Message{To: t.to, Subject: l.T("recovery.mail.subject"),
			Text: l.T("recovery.mail.text", code, link, minutes)})
	case "sms":
		err = h.phone.Send(ctx, t.to, l.T("recovery.sms.text", code, minutes), notify.SMS)
	}
	if err != nil {
		h.logger.ErrorContext(ctx, "send recovery code", "user_id", t.user.ID, "channel", t.channel, "err", err)
		if err := h.store.ConsumeVerification(ctx, v); err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.logger.WarnContext(ctx, "remove unsent recovery code", "err", err)
		}
	}
}

// newCode returns 6 uniformly random decimal digits from the CSPRNG.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil { // crypto/rand does not fail since Go 1.24
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeMAC is a code's stored form: HMAC-SHA256 under a key derived from the system secret,
// over the user and the destination as well as the code.
func (h *Handler) codeMAC(userID, to, code string) []byte {
	key, err := profile.DeriveKey(h.cfg.Secret, "facet password reset code", 32)
	if err != nil { // only for a secret HKDF refuses, which New rules out
		panic(err)
	}
	mac := hmac.New(sha256.New, key)
	for _, part := range []string{userID, storage.KindPasswordReset, to, code} {
		mac.Write([]byte(strconv.Itoa(len(part))))
		mac.Write([]byte{':'})
		mac.Write([]byte(part))
	}
	return mac.Sum(nil)
}

// linkHash is the stored form of a one-click link token.
func linkHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// cleanCode accepts the code as typed: spaces and dashes dropped; anything but 6 digits is
// not a code.
func cleanCode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) != 6 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// resetForm shows the reset form: with a link's token, only the new password is asked for.
func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page := resetPage{Token: r.URL.Query().Get("token"), Errors: map[string]string{}}
	if page.Token != "" {
		if _, err := h.byLink(ctx, page.Token); err != nil {
			h.answer(w, r, page, err)
			return
		}
	}
	h.kit.Render(w, r, http.StatusOK, "reset", page)
}

// Refusals of a reset.
var (
	errCodeWrong    = profile.InvalidField("code", "recovery.code.wrong")
	errCodeExpired  = profile.Refuse(http.StatusUnprocessableEntity, "code_expired", "recovery.code.expired")
	errCodeAttempts = profile.Refuse(http.StatusTooManyRequests, "too_many_attempts", "recovery.code.attempts")
	errLinkInvalid  = profile.Refuse(http.StatusNotFound, "link_invalid", "recovery.link.invalid")
)

// byLink finds the pending recovery of a one-click link token.
func (h *Handler) byLink(ctx context.Context, token string) (storage.Verification, error) {
	if len(token) > 128 {
		return storage.Verification{}, errLinkInvalid
	}
	v, err := h.store.GetVerificationByLink(ctx, linkHash(token))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && v.Kind != storage.KindPasswordReset) {
		return storage.Verification{}, errLinkInvalid
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get recovery by link: %w", err)
	}
	if !h.now().Before(v.ExpiresAt) {
		return storage.Verification{}, errLinkInvalid
	}
	return v, nil
}

// byCode checks a typed code for the account the typed login names. An unknown login is a
// wrong code, like any other.
func (h *Handler) byCode(ctx context.Context, login, typed string) (storage.Verification, error) {
	code, ok := cleanCode(typed)
	if !ok {
		return storage.Verification{}, profile.InvalidField("code", "recovery.code.format")
	}
	t, err := h.target(ctx, login)
	if err != nil {
		return storage.Verification{}, err
	}
	if t.user.ID == "" {
		return storage.Verification{}, errCodeWrong
	}
	v, err := h.store.GetVerification(ctx, t.user.ID, storage.KindPasswordReset)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, errCodeWrong
	} else if err != nil {
		return storage.Verification{}, fmt.Errorf("get recovery: %w", err)
	}
	if !h.now().Before(v.ExpiresAt) {
		if err := h.store.DeleteVerification(ctx, v.UserID, v.Kind); err != nil {
			return storage.Verification{}, fmt.Errorf("delete expired recovery: %w", err)
		}
		return storage.Verification{}, errCodeExpired
	}
	if _, err := h.store.CountVerificationAttempt(ctx, v.UserID, v.Kind, maxResetAttempts); errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, errCodeAttempts
	} else if err != nil {
		return storage.Verification{}, fmt.Errorf("count recovery attempt: %w", err)
	}
	if !hmac.Equal(h.codeMAC(v.UserID, v.Value, code), v.CodeHash) {
		return storage.Verification{}, errCodeWrong
	}
	return v, nil
}

// reset sets the new password after the code or the link checks out.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	r = h.kit.FormLanguage(r)
	ctx := r.Context()
	f := r.PostForm
	page := resetPage{Login: strings.TrimSpace(f.Get("login")), Token: f.Get("token"), Errors: map[string]string{}}
	pw := f.Get("password")
	if msg := password.NewPolicy().Check(pw); msg != "" {
		page.Errors["password"] = templates.Tr(ctx, msg)
	} else if f.Get("confirm") != pw {
		page.Errors["confirm"] = templates.Tr(ctx, "register.confirm_mismatch")
	}
	if page.Token == "" && page.Login == "" {
		page.Errors["login"] = templates.Tr(ctx, "recovery.login_required")
	}
	if len(page.Errors) > 0 {
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "reset", page)
		return
	}
	var v storage.Verification
	var err error
	if page.Token != "" {
		v, err = h.byLink(ctx, page.Token)
	} else {
		v, err = h.byCode(ctx, page.Login, f.Get("code"))
	}
	if err == nil {
		err = h.setPassword(ctx, h.kit.Origin(r), v, pw, profile.RequestID(w, r))
	}
	if err != nil {
		h.answer(w, r, page, err)
		return
	}
	h.kit.ClearCookie(w)
	http.Redirect(w, r, "/login?notice=password_reset", http.StatusSeeOther)
}

// answer shows a refusal on the reset page, or the 5xx page.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, page resetPage, err error) {
	pe, ok := profile.AsError(err)
	if !ok {
		h.kit.ServerError(w, r, "password reset", err)
		return
	}
	msg := templates.Tr(r.Context(), pe.Msg, pe.Args...)
	if pe.Field != "" {
		page.Errors[pe.Field] = msg
	} else {
		page.Alert = msg
	}
	h.kit.Render(w, r, pe.Status, "reset", page)
}

// setPassword uses the recovery up and, in the same transaction, replaces the password, tells
// every app (back-channel logout), ends every browser session and token of the account and
// records it; then it clears the login throttles of the account and mails a notice.
func (h *Handler) setPassword(ctx context.Context, o profile.Origin, v storage.Verification, pw, requestID string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.store.ConsumeVerification(ctx, v); errors.Is(err, storage.ErrNotFound) {
			return errLinkInvalid
		} else if err != nil {
			return fmt.Errorf("consume recovery: %w", err)
		}
		if err := h.store.SetPasswordHash(ctx, v.UserID, hash, h.now().UTC()); err != nil {
			return err
		}
		if h.kit.Logouts != nil {
			if _, err := h.kit.Logouts.LogoutUser(ctx, v.UserID, "", requestID); err != nil {
				return err
			}
		}
		if _, err := h.store.DeleteUserSessions(ctx, v.UserID); err != nil {
			return err
		}
		if _, err := h.store.RevokeSubject(ctx, v.UserID, ""); err != nil {
			return err
		}
		h.events.Record(ctx, o, v.UserID, profile.Event{Category: profile.CategoryPasswordReset, Details: map[string]string{"channel": v.Channel}})
		return nil
	})
	if err != nil {
		return err
	}
	if err := h.store.ResetCounter(ctx, profile.AccountCounter(v.UserID)); err != nil {
		h.logger.WarnContext(ctx, "reset login counter", "user_id", v.UserID, "err", err)
	}
	h.logger.InfoContext(ctx, "password reset", "user_id", v.UserID, "channel", v.Channel)
	h.kit.AccountNotice(ctx, v.UserID, "recovery.notice.subject", "recovery.notice.text")
	return nil
}
