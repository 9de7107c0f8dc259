package mfa

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"math/big"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// The authenticator app (RFC 6238): a 160-bit secret, 6 digits, 30-second steps, SHA-1 (what
// every authenticator app reads from the QR code). A code is accepted for the current step
// and one step either side (RFC 6238 §5.2, clock drift), and only for a step later than the
// last one accepted, so no code works twice (the store moves the step forward atomically).
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSkew       = 1
	totpSecretSize = 20
	qrSize         = 240
)

// Errors of the second factors.
var (
	// ErrBadCode: the code is not the authenticator app's, nor an unused recovery code.
	ErrBadCode = errors.New("mfa: code not correct")
	// ErrCodeUsed: the code was right but its time step was used already (a replay).
	ErrCodeUsed = errors.New("mfa: code already used")
	// ErrNoTOTP: the account has no authenticator app (or it is not confirmed).
	ErrNoTOTP = errors.New("mfa: no authenticator app")
	// ErrTOTPExists: the account has a confirmed authenticator app already.
	ErrTOTPExists = errors.New("mfa: authenticator app already set up")
)

// factorKeys are the keys derived from the system secret: one encrypts the TOTP secrets at
// rest (AES-GCM, the user id as associated data, so a secret cannot be moved onto another
// account's row), one keys the recovery code hashes.
type factorKeys struct {
	totp cipher.AEAD
	code []byte
}

func newFactorKeys(secret []byte) (factorKeys, error) {
	ek, err := profile.DeriveKey(secret, "facet totp secret v1", 32)
	if err != nil {
		return factorKeys{}, err
	}
	block, err := aes.NewCipher(ek)
	if err != nil {
		return factorKeys{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return factorKeys{}, err
	}
	ck, err := profile.DeriveKey(secret, "facet recovery code v1", 32)
	if err != nil {
		return factorKeys{}, err
	}
	return factorKeys{totp: aead, code: ck}, nil
}

func (k factorKeys) seal(userID string, secret []byte) []byte {
	nonce := make([]byte, k.totp.NonceSize())
	rand.Read(nonce)
	return k.totp.Seal(nonce, nonce, secret, []byte(userID))
}

func (k factorKeys) open(userID string, sealed []byte) ([]byte, error) {
	n := k.totp.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("mfa: sealed totp secret too short")
	}
	return k.totp.Open(nil, sealed[:n], sealed[n:], []byte(userID))
}

// TOTPSetup is a new authenticator app waiting for its first code: the secret in base32 (to
// type in), the otpauth:// URI and its QR code as a PNG data: URL.
type TOTPSetup struct {
	Secret string       `json:"secret"`
	URI    string       `json:"otpauth_uri"`
	QR     template.URL `json:"-"` // a data: URL made here, safe to put in src
}

// beginTOTP stores a new unconfirmed authenticator app for u (replacing an unconfirmed one)
// and returns what the person scans or types. ErrTOTPExists when one is confirmed already.
func (h *Handler) beginTOTP(ctx context.Context, u storage.User) (TOTPSetup, error) {
	key, err := h.totpKey(u, nil)
	if err != nil {
		return TOTPSetup{}, err
	}
	raw, err := base32NoPad.DecodeString(key.Secret())
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("decode totp secret: %w", err)
	}
	err = h.store.PutTOTP(ctx, storage.TOTP{UserID: u.ID, Secret: h.keys.seal(u.ID, raw), CreatedAt: h.now()})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return TOTPSetup{}, ErrTOTPExists
	}
	if err != nil {
		return TOTPSetup{}, err
	}
	return setupOf(key)
}

// pendingTOTP returns the setup of u's unconfirmed authenticator app (the page shown again
// after a wrong first code); ErrNoTOTP when there is none, ErrTOTPExists when it is confirmed.
func (h *Handler) pendingTOTP(ctx context.Context, u storage.User) (TOTPSetup, error) {
	t, err := h.store.GetTOTP(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return TOTPSetup{}, ErrNoTOTP
	}
	if err != nil {
		return TOTPSetup{}, err
	}
	if t.Confirmed {
		return TOTPSetup{}, ErrTOTPExists
	}
	raw, err := h.keys.open(u.ID, t.Secret)
	if err != nil {
		return TOTPSetup{}, err
	}
	key, err := h.totpKey(u, raw)
	if err != nil {
		return TOTPSetup{}, err
	}
	return setupOf(key)
}

// totpKey is u's authenticator app key: secret, or a new random one when nil. The account
// name the app shows is the email address (the id when there is none).
func (h *Handler) totpKey(u storage.User, secret []byte) (*otp.Key, error) {
	account := u.Email
	if account == "" {
		account = u.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: h.cfg.TOTPIssuer, AccountName: account,
		Period: totpPeriod, SecretSize: totpSecretSize, Secret: secret, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return key, nil
}

func setupOf(key *otp.Key) (TOTPSetup, error) {
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp qr code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return TOTPSetup{}, fmt.Errorf("encode qr code: %w", err)
	}
	return TOTPSetup{Secret: key.Secret(), URI: key.URL(),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))}, nil
}

// base32NoPad is the encoding of TOTP secrets in otpauth:// URIs (RFC 4648 base32, no padding).
var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// checkTOTP accepts code for userID's authenticator app when it is the code of the current
// time step or one either side, and that step is later than the last one used; using it
// confirms an app being set up. confirmed says whether the app must already be confirmed
// (a sign-in) or may not be (the first code of a setup).
func (h *Handler) checkTOTP(ctx context.Context, userID, code string, confirmed bool) error {
	code = strings.Join(strings.Fields(code), "")
	t, err := h.store.GetTOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoTOTP
	}
	if err != nil {
		return err
	}
	if confirmed && !t.Confirmed {
		return ErrNoTOTP
	}
	raw, err := h.keys.open(userID, t.Secret)
	if err != nil {
		return fmt.Errorf("open totp secret: %w", err)
	}
	secret := base32NoPad.EncodeToString(raw)
	now := h.now()
	step := now.Unix() / totpPeriod
	matched := int64(-1)
	// Every candidate is compared (constant time each), whichever matches.
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0),
			totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return fmt.Errorf("totp code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step + d
		}
	}
	if matched < 0 {
		return ErrBadCode
	}
	err = h.store.UseTOTPStep(ctx, userID, matched)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return ErrCodeUsed
	case errors.Is(err, storage.ErrNotFound):
		return ErrNoTOTP
	}
	return err
}

// Recovery codes: 10 codes of 10 characters from a 31-letter alphabet without look-alikes
// (about 49 bits each), shown once, stored as HMAC-SHA-256 under a key derived from the system
// secret and bound to the user, used once.
const (
	recoveryCodeCount = 10
	recoveryCodeLen   = 10
	recoveryAlphabet  = "abcdefghjkmnpqrstuvwxyz23456789"
)

// newRecoveryCodes replaces userID's recovery codes with a fresh set and returns them, formatted
// "xxxxx-xxxxx".
func (h *Handler) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		var b strings.Builder
		for range recoveryCodeLen {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(recoveryAlphabet))))
			if err != nil {
				return nil, err
			}
			b.WriteByte(recoveryAlphabet[n.Int64()])
		}
		c := b.String()
		codes[i] = c[:recoveryCodeLen/2] + "-" + c[recoveryCodeLen/2:]
		hashes[i] = h.recoveryHash(userID, c)
	}
	if err := h.store.ReplaceRecoveryCodes(ctx, userID, hashes, h.now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// normalizeRecoveryCode drops spaces and dashes and lower-cases, so "ABCDE-FGHJK" and
// "abcdefghjk" are one code.
func normalizeRecoveryCode(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// isRecoveryCode reports whether s looks like a recovery code rather than a TOTP code.
func isRecoveryCode(s string) bool { return len(normalizeRecoveryCode(s)) == recoveryCodeLen }

func (h *Handler) recoveryHash(userID, code string) []byte {
	m := hmac.New(sha256.New, h.keys.code)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(normalizeRecoveryCode(code)))
	return m.Sum(nil)
}

// useRecoveryCode spends one of userID's unused recovery codes; ErrBadCode when code is none.
func (h *Handler) useRecoveryCode(ctx context.Context, userID, code string) error {
	err := h.store.UseRecoveryCode(ctx, userID, h.recoveryHash(userID, code), h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return ErrBadCode
	}
	return err
}
