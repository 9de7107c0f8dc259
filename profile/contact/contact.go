package contact

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
)

// Package contact owns the verified contacts of an account: the email address and the phone
// number, their panels and account API routes, and the development outbox page. How mail and
// texts are delivered is notify's business; the notices the core sends are the core's.
//
// The Contacts block: the email address and the phone number, each confirmed with a one-time
// code before it applies (OWASP ASVS 5.0 V6.2: a change of an authentication factor needs
// the owner's confirmation).
//
// A code is 6 CSPRNG digits. Only an HMAC of it is stored, keyed by a key derived from the
// system secret and bound to the user, the kind and the pending value, so a code confirms
// nothing but the change it was sent for. It lives 10 minutes (email) or 5 (SMS, call), allows
// 5 attempts counted by one atomic UPDATE before the comparison, and is deleted when used.
// A new code is sent at most once a minute and 10 times an hour per user and kind.

// Limits of contact verification.
const (
	codeDigits      = 6
	emailCodeTTL    = 10 * time.Minute
	phoneCodeTTL    = 5 * time.Minute
	maxCodeAttempts = 5
	resendAfter     = time.Minute
	sendsPerHour    = 10
	linkTokenBytes  = 32 // 256 bits
	defaultRegion   = "US"
)

// Routes registers the email and phone panels on the page router (and /dev/mail in
// development) and their JSON routes on the account API.
func (h *Handler) Routes(r, api *mux.Router) {
	email, phone := emailKind{h}, phoneKind{h}
	r.HandleFunc("/profile/email", h.contactPageHandler(email)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/email", h.contactStart(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/email/verify", h.contactVerify(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/email/confirm", h.emailConfirmLink).Methods(http.MethodGet)
	r.HandleFunc("/profile/email/delete", h.contactDeletePage(email)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/email/delete", h.contactDelete(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone", h.contactPageHandler(phone)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/phone", h.contactStart(phone)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone/verify", h.contactVerify(phone)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone/delete", h.contactDeletePage(phone)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/phone/delete", h.contactDelete(phone)).Methods(http.MethodPost)
	if h.cfg.Development {
		r.HandleFunc("/dev/mail", h.devMail).Methods(http.MethodGet, http.MethodHead)
	}

	api.HandleFunc("/email", h.apiEmailStart).Methods(http.MethodPost)
	api.HandleFunc("/email/verify", h.apiContactVerify(email)).Methods(http.MethodPost)
	api.HandleFunc("/email", h.apiContactDelete(email)).Methods(http.MethodDelete)
	api.HandleFunc("/phone", h.apiPhoneStart).Methods(http.MethodPost)
	api.HandleFunc("/phone/verify", h.apiContactVerify(phone)).Methods(http.MethodPost)
	api.HandleFunc("/phone", h.apiContactDelete(phone)).Methods(http.MethodDelete)
}

// phoneSender returns the configured SMS/voice sender, or in development the log sender.
func (h *Handler) phoneSender() (notify.Sender, bool) {
	if h.phone != nil {
		return h.phone, true
	}
	if h.cfg.Development {
		l := notify.NewLogSender(h.store, h.logger)
		l.Now = h.now
		return l, true
	}
	return nil, false
}

// newCode returns 6 uniformly random decimal digits from the CSPRNG.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil { // crypto/rand does not fail since Go 1.24; keep the error path honest
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeMAC is the stored form of a code: HMAC-SHA256 under a key derived from the system
// secret, over the user, the kind and the pending value as well as the code, so a code only
// confirms the change it was sent for.
func (h *Handler) codeMAC(userID, kind, value, code string) ([]byte, error) {
	key, err := profile.DeriveKey(h.cfg.Secret, "facet contact verification code", 32)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	for _, part := range []string{userID, kind, value, code} {
		mac.Write([]byte(strconv.Itoa(len(part))))
		mac.Write([]byte{':'})
		mac.Write([]byte(part))
	}
	return mac.Sum(nil), nil
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
	if len(s) != codeDigits {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

// pending is a verification just stored: the row, the code and (email) the link token, for
// the message that carries them.
type pending struct {
	V     storage.Verification
	Code  string
	Token string
}

// startVerification throttles, stores a new code for (user, kind, value) and returns it for
// sending. The caller sends it and calls abandon when sending fails, so the user can try
// again at once.
func (h *Handler) startVerification(ctx context.Context, userID, kind, value, channel string, ttl time.Duration, link bool) (pending, error) {
	now := h.now()
	n, err := h.store.Hit(ctx, "verify:send:"+kind+":"+userID, now.Truncate(time.Hour))
	if err != nil {
		return pending{}, fmt.Errorf("count sends: %w", err)
	}
	if n > sendsPerHour {
		ce := profile.Refuse(http.StatusTooManyRequests, "too_many_requests", "contacts.code.hourly_limit")
		ce.RetryAfter = now.Truncate(time.Hour).Add(time.Hour).Sub(now)
		return pending{}, ce
	}
	p := pending{Code: newCode()}
	mac, err := h.codeMAC(userID, kind, value, p.Code)
	if err != nil {
		return pending{}, err
	}
	p.V = storage.Verification{
		UserID: userID, Kind: kind, Value: value, Channel: channel, CodeHash: mac,
		ExpiresAt: now.Add(ttl), LastSentAt: now, CreatedAt: now,
	}
	if link {
		raw := make([]byte, linkTokenBytes)
		rand.Read(raw) // never fails since Go 1.24
		p.Token = base64.RawURLEncoding.EncodeToString(raw)
		p.V.LinkHash = linkHash(p.Token)
	}
	stored, err := h.store.PutVerification(ctx, p.V, now.Add(-resendAfter))
	if err != nil {
		return pending{}, fmt.Errorf("store verification: %w", err)
	}
	if !stored {
		wait := resendAfter
		if prev, err := h.store.GetVerification(ctx, userID, kind); err == nil {
			wait = prev.LastSentAt.Add(resendAfter).Sub(now)
		}
		wait = max(wait, time.Second)
		ce := profile.Refuse(http.StatusTooManyRequests, "too_many_requests", "contacts.code.wait", int(wait.Round(time.Second)/time.Second))
		ce.RetryAfter = wait
		return pending{}, ce
	}
	return p, nil
}

// abandon removes a verification whose message could not be sent.
func (h *Handler) abandon(ctx context.Context, p pending) {
	if err := h.store.ConsumeVerification(context.WithoutCancel(ctx), p.V); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.logger.WarnContext(ctx, "remove unsent verification", "err", err)
	}
}

// checkCode checks a typed code against userID's pending verification of kind: it counts
// the attempt first (atomically, so concurrent guesses cannot pass the limit) and then
// compares in constant time. It returns the verification the code confirms.
func (h *Handler) checkCode(ctx context.Context, userID, kind, typed string) (storage.Verification, error) {
	code, ok := cleanCode(typed)
	if !ok {
		return storage.Verification{}, profile.InvalidField("code", "contacts.code.format")
	}
	v, err := h.store.GetVerification(ctx, userID, kind)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, profile.Refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get verification: %w", err)
	}
	if !h.now().Before(v.ExpiresAt) {
		if err := h.store.DeleteVerification(ctx, userID, kind); err != nil {
			return storage.Verification{}, fmt.Errorf("delete expired verification: %w", err)
		}
		return storage.Verification{}, profile.Refuse(http.StatusUnprocessableEntity, "code_expired", "contacts.code.expired")
	}
	n, err := h.store.CountVerificationAttempt(ctx, userID, kind, maxCodeAttempts)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, profile.Refuse(http.StatusTooManyRequests, "too_many_attempts", "contacts.code.attempts")
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("count attempt: %w", err)
	}
	want, err := h.codeMAC(userID, kind, v.Value, code)
	if err != nil {
		return storage.Verification{}, err
	}
	if !hmac.Equal(want, v.CodeHash) {
		if left := maxCodeAttempts - n; left > 0 {
			ce := profile.InvalidField("code", "contacts.code.wrong", left)
			return storage.Verification{}, ce
		}
		return storage.Verification{}, profile.Refuse(http.StatusTooManyRequests, "too_many_attempts", "contacts.code.attempts")
	}
	return v, nil
}

// checkLink finds userID's pending email verification for a one-click link token. A token of
// another user's verification is "not found", like an unknown one.
func (h *Handler) checkLink(ctx context.Context, userID, token string) (storage.Verification, error) {
	if token == "" || len(token) > 128 {
		return storage.Verification{}, profile.Refuse(http.StatusNotFound, "no_pending_verification", "contacts.link.invalid")
	}
	v, err := h.store.GetVerificationByLink(ctx, linkHash(token))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (v.UserID != userID || v.Kind != storage.ContactEmail)) {
		return storage.Verification{}, profile.Refuse(http.StatusNotFound, "no_pending_verification", "contacts.link.invalid")
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get verification by link: %w", err)
	}
	if !h.now().Before(v.ExpiresAt) {
		if err := h.store.DeleteVerification(ctx, userID, storage.ContactEmail); err != nil {
			return storage.Verification{}, fmt.Errorf("delete expired verification: %w", err)
		}
		return storage.Verification{}, profile.Refuse(http.StatusUnprocessableEntity, "code_expired", "contacts.link.expired")
	}
	return v, nil
}
