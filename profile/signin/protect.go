package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
)

// Login protection without lockout (OWASP Authentication Cheat Sheet, "Account lockout";
// OWASP "Slow Down Online Guessing Attacks with Device Cookies"; NIST SP 800-63B 5.2.2):
//
//   - per client IP only failed attempts count, PerIP in Window;
//   - per account, after AccountFree failures every further attempt waits a delay that
//     doubles from BaseDelay up to MaxDelay — slowed, never locked for good; a tally is
//     forgotten AccountMemory after its last failure;
//   - a browser that signed in to the account before carries a signed device cookie and is
//     not slowed by the account's tally: its own failures count against the cookie, which
//     stops being trusted after DeviceFailures;
//   - an attempt refused by a throttle never reaches the password check and counts as
//     nothing.

// LoginLimits are the login throttles; zero fields take DefaultLoginLimits' values.
type LoginLimits struct {
	Window         time.Duration // the per-IP window
	PerIP          int           // failed logins per IP per Window
	AccountFree    int           // failures of an account before its delay starts
	BaseDelay      time.Duration // the first delay; it doubles with every further failure
	MaxDelay       time.Duration // the longest delay
	AccountMemory  time.Duration // a tally is forgotten this long after its last failure
	DeviceFailures int           // failures through one device cookie before it is no longer trusted
	RegisterPerIP  int           // registration attempts per IP per the kit's window
}

// DefaultLoginLimits: 20 failures per IP per 15 minutes; 5 free failures per account, then
// 2 s doubling up to 15 minutes, forgotten after 24 hours; 10 failures per device cookie.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{Window: 15 * time.Minute, PerIP: 20, AccountFree: 5, BaseDelay: 2 * time.Second,
		MaxDelay: 15 * time.Minute, AccountMemory: 24 * time.Hour, DeviceFailures: 10, RegisterPerIP: 10}
}

// RegisterCounter is the per-IP counter of new accounts asked for from ip: the registration
// form and sign-ups through upstream login methods (oauth/federation) share it, so one
// address gets RegisterPerIP new accounts per window whichever way it asks.
func (l LoginLimits) RegisterCounter(ip string) profile.Counter {
	return profile.Counter{Key: "register:ip:" + profile.RateKey(ip), Limit: l.withDefaults().RegisterPerIP}
}

// withDefaults fills the zero fields.
func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits()
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.PerIP <= 0 {
		l.PerIP = d.PerIP
	}
	if l.AccountFree <= 0 {
		l.AccountFree = d.AccountFree
	}
	if l.BaseDelay <= 0 {
		l.BaseDelay = d.BaseDelay
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = d.MaxDelay
	}
	if l.AccountMemory <= 0 {
		l.AccountMemory = d.AccountMemory
	}
	if l.DeviceFailures <= 0 {
		l.DeviceFailures = d.DeviceFailures
	}
	if l.RegisterPerIP <= 0 {
		l.RegisterPerIP = d.RegisterPerIP
	}
	return l
}

// Delay is how long an account with failures failed logins waits after its last one.
func (l LoginLimits) Delay(failures int) time.Duration {
	if failures < l.AccountFree {
		return 0
	}
	d := l.BaseDelay
	for i := l.AccountFree; i < failures && d < l.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.MaxDelay)
}

// Tally keys; accounts and logins are hashed so the table holds no identifier.
func ipKey(ip string) string          { return "login:ip:" + profile.RateKey(ip) }
func accountKey(userID string) string { return "login:account:" + profile.KeyHash(userID) }
func unknownKey(login string) string {
	return "login:unknown:" + profile.KeyHash(normalizeLogin(login))
}
func deviceKey(nonce string) string { return "login:device:" + profile.KeyHash(nonce) }

// wait is how long until key's tally lets an attempt through under delay, 0 when it does.
func (h *Handler) wait(ctx context.Context, key string, delay func(int) time.Duration) (time.Duration, error) {
	n, last, err := h.store.LoginFailures(ctx, key)
	if err != nil {
		return 0, err
	}
	d := delay(n)
	if n == 0 || d <= 0 {
		// Under the threshold nothing waits, whatever the clocks: a failure recorded by a
		// node whose clock runs ahead must not hold back an attempt on another.
		return 0, nil
	}
	until := last.Add(d)
	if now := h.now(); now.Before(until) {
		return until.Sub(now), nil
	}
	return 0, nil
}

// ipDelay: an IP over its failures waits until its last failure leaves the window.
func (h *Handler) ipDelay(n int) time.Duration {
	if n < h.limits.PerIP {
		return 0
	}
	return h.limits.Window
}

// deviceCookieName is the device cookie's name (__Host- when cookies are secure).
func (h *Handler) deviceCookieName() string {
	if h.secureCookies {
		return "__Host-facet_device"
	}
	return "facet_device"
}

// deviceMAC signs a device cookie for userID and nonce.
func (h *Handler) deviceMAC(userID, nonce string) []byte {
	mac := hmac.New(sha256.New, h.deviceKey)
	mac.Write([]byte(userID))
	mac.Write([]byte{0})
	mac.Write([]byte(nonce))
	return mac.Sum(nil)
}

// device returns the nonce of r's device cookie when it is signed by us for userID, else "".
func (h *Handler) device(r *http.Request, userID string) string {
	if len(h.deviceKey) == 0 {
		return ""
	}
	c, err := r.Cookie(h.deviceCookieName())
	if err != nil || len(c.Value) > 256 {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return ""
	}
	uid, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	mac, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || string(uid) != userID {
		return ""
	}
	if !hmac.Equal(mac, h.deviceMAC(userID, parts[1])) {
		return ""
	}
	return parts[1]
}

// setDevice gives the browser a fresh device cookie for userID after a successful password
// check (one account per browser: the last one that signed in).
func (h *Handler) setDevice(w http.ResponseWriter, userID string) {
	if len(h.deviceKey) == 0 {
		return
	}
	raw := make([]byte, 16)
	rand.Read(raw) // never fails since Go 1.24
	nonce := base64.RawURLEncoding.EncodeToString(raw)
	v := base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + nonce + "." +
		base64.RawURLEncoding.EncodeToString(h.deviceMAC(userID, nonce))
	http.SetCookie(w, &http.Cookie{Name: h.deviceCookieName(), Value: v, Path: "/", MaxAge: int((365 * 24 * time.Hour) / time.Second),
		HttpOnly: true, Secure: h.secureCookies, SameSite: http.SameSiteLaxMode})
}

// fail counts a failed password check: against the IP, and against the device cookie when
// the browser has a trusted one, else against the account (or the unknown login). When an
// existing account's tally reaches the point where its delay starts, the account's activity
// log says so.
func (h *Handler) fail(ctx context.Context, o profile.Origin, key, device, userID string) error {
	now := h.now()
	if _, err := h.store.AddLoginFailure(ctx, ipKey(o.IP), now, now.Add(-h.limits.Window)); err != nil {
		return fmt.Errorf("count IP failure: %w", err)
	}
	if device != "" {
		if _, err := h.store.AddLoginFailure(ctx, deviceKey(device), now, now.Add(-h.limits.AccountMemory)); err != nil {
			return fmt.Errorf("count device failure: %w", err)
		}
		return nil
	}
	n, err := h.store.AddLoginFailure(ctx, key, now, now.Add(-h.limits.AccountMemory))
	if err != nil {
		return fmt.Errorf("count account failure: %w", err)
	}
	if n == h.limits.AccountFree && userID != "" {
		h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryLoginThrottled,
			Details: map[string]string{"failures": fmt.Sprint(n)}})
	}
	return nil
}
