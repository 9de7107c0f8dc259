package profile

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

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The Contacts block: the email address and the phone number, each confirmed with a one-time
// code before it applies (SECURITY.md 15), and the profile photo (photo*.go).
//
// A code is 6 CSPRNG digits. Only an HMAC of it is stored, keyed by a key derived from the
// system secret and bound to the user, the kind and the pending value, so a code confirms
// nothing but the change it was sent for. It lives 10 minutes (email) or 5 (SMS, call), allows
// 5 attempts counted by one atomic UPDATE before the comparison, and is deleted when used.
// A new code is sent at most once a minute and 10 times an hour per user and kind.

// MailSender delivers one email (notify.Mailer and notify.LogMailer implement it).
type MailSender interface {
	Send(ctx context.Context, m notify.Message) error
}

// Limits of contact verification.
const (
	codeDigits        = 6
	emailCodeTTL      = 10 * time.Minute
	phoneCodeTTL      = 5 * time.Minute
	maxCodeAttempts   = 5
	resendAfter       = time.Minute
	sendsPerHour      = 10
	linkTokenBytes    = 32 // 256 bits
	defaultRecentAuth = 15 * time.Minute
	defaultRegion     = "US"
)

// contactRoutes registers this area's pages on r and its JSON routes on api (under APIPrefix,
// authenticated by apiAuth).
func (h *Handler) contactRoutes(r, api *mux.Router) {
	email, phone := emailContact(), phoneContact()
	r.HandleFunc("/profile/email", h.contactPageHandler(email)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/email", h.contactStart(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/email/verify", h.contactVerify(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/email/confirm", h.emailConfirmLink).Methods(http.MethodGet)
	r.HandleFunc("/profile/email/delete", h.contactDelete(email)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone", h.contactPageHandler(phone)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/phone", h.contactStart(phone)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone/verify", h.contactVerify(phone)).Methods(http.MethodPost)
	r.HandleFunc("/profile/phone/delete", h.contactDelete(phone)).Methods(http.MethodPost)
	r.HandleFunc(photoPagePath, h.photoPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(photoPagePath, h.photoUpload).Methods(http.MethodPost)
	r.HandleFunc("/profile/photo/available", h.photoAvailable).Methods(http.MethodPost)
	r.HandleFunc("/profile/photo/delete", h.photoDelete).Methods(http.MethodPost)
	r.HandleFunc(PhotoPathPrefix+"{id}", h.photoServe).Methods(http.MethodGet, http.MethodHead)
	if h.cfg.Development {
		r.HandleFunc("/dev/mail", h.devMail).Methods(http.MethodGet, http.MethodHead)
	}

	api.HandleFunc("/email", h.apiEmailStart).Methods(http.MethodPost)
	api.HandleFunc("/email/verify", h.apiContactVerify(email)).Methods(http.MethodPost)
	api.HandleFunc("/email", h.apiContactDelete(email)).Methods(http.MethodDelete)
	api.HandleFunc("/phone", h.apiPhoneStart).Methods(http.MethodPost)
	api.HandleFunc("/phone/verify", h.apiContactVerify(phone)).Methods(http.MethodPost)
	api.HandleFunc("/phone", h.apiContactDelete(phone)).Methods(http.MethodDelete)
	api.HandleFunc(apiPhotoPath, h.apiPhotoPut).Methods(http.MethodPut)
	api.HandleFunc(apiPhotoPath, h.apiPhotoDelete).Methods(http.MethodDelete)
}

// contactError is a refusal of a contact operation: the HTTP status and API error code, the
// catalog message a person reads (with its arguments), the form field it belongs to (empty
// for the whole form), and for 429 how long to wait.
type contactError struct {
	Status     int
	Code       string
	Msg        string
	Args       []any
	Field      string
	RetryAfter time.Duration
}

func (e *contactError) Error() string { return e.Code }

// Text is the message a person reads.
func (e *contactError) Text() string { return templates.T(e.Msg, e.Args...) }

func refuse(status int, code, msg string, args ...any) *contactError {
	return &contactError{Status: status, Code: code, Msg: msg, Args: args}
}

func invalidField(field, msg string, args ...any) *contactError {
	return &contactError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Msg: msg, Args: args, Field: field}
}

// asContactError returns err's contactError, if it is one.
func asContactError(err error) (*contactError, bool) {
	var ce *contactError
	ok := errors.As(err, &ce)
	return ce, ok
}

// recentAuth returns how recent a session's login must be to change a contact.
func (h *Handler) recentAuth() time.Duration {
	if h.cfg.RecentAuth > 0 {
		return h.cfg.RecentAuth
	}
	return defaultRecentAuth
}

// needsReauth reports whether the browser session s logged in too long ago to change a
// contact. Bearer calls (zero session) are checked on their token's login time instead
// (apiReauth).
func (h *Handler) needsReauth(s storage.Session) bool {
	return s.ID != "" && h.Now().Sub(s.AuthTime) > h.recentAuth()
}

// reauthURL is the login page that asks for the password again and comes back to page.
func reauthURL(page string) string {
	return "/login?prompt=login&return_to=" + page
}

// mailer returns the configured mail sender, or in development the log mailer.
func (h *Handler) mailer() (MailSender, bool) {
	if h.Mail != nil {
		return h.Mail, true
	}
	if h.cfg.Development {
		l := notify.NewLogMailer(h.Store, h.Logger)
		l.Now = h.Now
		return l, true
	}
	return nil, false
}

// phoneSender returns the configured SMS/voice sender, or in development the log sender.
func (h *Handler) phoneSender() (notify.Sender, bool) {
	if h.Phone != nil {
		return h.Phone, true
	}
	if h.cfg.Development {
		l := notify.NewLogSender(h.Store, h.Logger)
		l.Now = h.Now
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
	key, err := deriveKey(h.cfg.Secret, "facet contact verification code", 32)
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
	now := h.Now()
	n, err := h.Store.Hit(ctx, "verify:send:"+kind+":"+userID, now.Truncate(time.Hour))
	if err != nil {
		return pending{}, fmt.Errorf("count sends: %w", err)
	}
	if n > sendsPerHour {
		ce := refuse(http.StatusTooManyRequests, "too_many_requests", "contacts.code.hourly_limit")
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
	stored, err := h.Store.PutVerification(ctx, p.V, now.Add(-resendAfter))
	if err != nil {
		return pending{}, fmt.Errorf("store verification: %w", err)
	}
	if !stored {
		wait := resendAfter
		if prev, err := h.Store.GetVerification(ctx, userID, kind); err == nil {
			wait = prev.LastSentAt.Add(resendAfter).Sub(now)
		}
		wait = max(wait, time.Second)
		ce := refuse(http.StatusTooManyRequests, "too_many_requests", "contacts.code.wait", int(wait.Round(time.Second)/time.Second))
		ce.RetryAfter = wait
		return pending{}, ce
	}
	return p, nil
}

// abandon removes a verification whose message could not be sent.
func (h *Handler) abandon(ctx context.Context, p pending) {
	if err := h.Store.ConsumeVerification(context.WithoutCancel(ctx), p.V); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.Logger.WarnContext(ctx, "remove unsent verification", "err", err)
	}
}

// checkCode checks a typed code against userID's pending verification of kind: it counts
// the attempt first (atomically, so concurrent guesses cannot pass the limit) and then
// compares in constant time. It returns the verification the code confirms.
func (h *Handler) checkCode(ctx context.Context, userID, kind, typed string) (storage.Verification, error) {
	code, ok := cleanCode(typed)
	if !ok {
		return storage.Verification{}, invalidField("code", "contacts.code.format")
	}
	v, err := h.Store.GetVerification(ctx, userID, kind)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get verification: %w", err)
	}
	if !h.Now().Before(v.ExpiresAt) {
		if err := h.Store.DeleteVerification(ctx, userID, kind); err != nil {
			return storage.Verification{}, fmt.Errorf("delete expired verification: %w", err)
		}
		return storage.Verification{}, refuse(http.StatusUnprocessableEntity, "code_expired", "contacts.code.expired")
	}
	n, err := h.Store.CountVerificationAttempt(ctx, userID, kind, maxCodeAttempts)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Verification{}, refuse(http.StatusTooManyRequests, "too_many_attempts", "contacts.code.attempts")
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
			ce := invalidField("code", "contacts.code.wrong", left)
			return storage.Verification{}, ce
		}
		return storage.Verification{}, refuse(http.StatusTooManyRequests, "too_many_attempts", "contacts.code.attempts")
	}
	return v, nil
}

// checkLink finds userID's pending email verification for a one-click link token. A token of
// another user's verification is "not found", like an unknown one.
func (h *Handler) checkLink(ctx context.Context, userID, token string) (storage.Verification, error) {
	if token == "" || len(token) > 128 {
		return storage.Verification{}, refuse(http.StatusNotFound, "no_pending_verification", "contacts.link.invalid")
	}
	v, err := h.Store.GetVerificationByLink(ctx, linkHash(token))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (v.UserID != userID || v.Kind != storage.ContactEmail)) {
		return storage.Verification{}, refuse(http.StatusNotFound, "no_pending_verification", "contacts.link.invalid")
	}
	if err != nil {
		return storage.Verification{}, fmt.Errorf("get verification by link: %w", err)
	}
	if !h.Now().Before(v.ExpiresAt) {
		if err := h.Store.DeleteVerification(ctx, userID, storage.ContactEmail); err != nil {
			return storage.Verification{}, fmt.Errorf("delete expired verification: %w", err)
		}
		return storage.Verification{}, refuse(http.StatusUnprocessableEntity, "code_expired", "contacts.link.expired")
	}
	return v, nil
}

// fieldLevel returns the privacy level of userID's field key: the one the user chose (an
// existing row, even with an empty value), or the catalog's default.
func (h *Handler) fieldLevel(ctx context.Context, userID, key string) (string, string, error) {
	fields, err := h.Store.GetProfileFields(ctx, userID)
	if err != nil {
		return "", "", fmt.Errorf("get profile fields: %w", err)
	}
	for _, f := range fields {
		if f.Field == key {
			return f.Value, f.Privacy, nil
		}
	}
	level := string(consent.LevelPrivate)
	if h.Catalog != nil {
		if f, ok := h.Catalog.Field(key); ok && f.DefaultLevel != "" {
			level = string(f.DefaultLevel)
		}
	}
	return "", level, nil
}

// setRetryAfter writes the Retry-After header of a 429.
func setRetryAfter(w http.ResponseWriter, ce *contactError) {
	if ce.Status == http.StatusTooManyRequests && ce.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ce.RetryAfter+time.Second-1)/time.Second)))
	}
}

// writeContactAPIError answers an API call with err: its status and code for a
// contactError, a 500 otherwise.
func (h *Handler) writeContactAPIError(w http.ResponseWriter, r *http.Request, what string, err error) {
	ce, ok := asContactError(err)
	if !ok {
		h.apiServerError(w, r, what, err)
		return
	}
	setRetryAfter(w, ce)
	if ce.Field != "" {
		writeJSON(w, ce.Status, apiError{Error: ce.Code, Description: ce.Text(), Fields: map[string]string{ce.Field: ce.Text()}})
		return
	}
	writeAPIError(w, ce.Status, ce.Code, ce.Text())
}

// apiReauth answers 403 when an API call needs a fresh login. A bearer call is held to the
// same rule as a browser session, on the login time of the grant its token descends from
// (OIDC auth_time, kept through refreshes): a token is no fresher than the login behind it,
// and refresh tokens live far longer than recent_auth. The app gets a fresh login by sending
// the user through authorization with prompt=login or max_age (OIDC Core §3.1.2.1).
func (h *Handler) apiReauth(w http.ResponseWriter, r *http.Request, c caller) bool {
	if c.ClientID == "" {
		if !h.needsReauth(c.Session) {
			return false
		}
		writeAPIError(w, http.StatusForbidden, "login_required", templates.T("contacts.reauth.api"))
		return true
	}
	var authTime time.Time
	if v, ok := h.Tokens.(AuthTimeVerifier); ok {
		t, err := v.AccessTokenAuthTime(r.Context(), c.token)
		if err != nil {
			h.apiServerError(w, r, "token auth time", err)
			return true
		}
		authTime = t
	}
	if !authTime.IsZero() && h.Now().Sub(authTime) <= h.recentAuth() {
		return false
	}
	writeAPIError(w, http.StatusForbidden, "login_required", templates.T("contacts.reauth.bearer"))
	return true
}
