package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/facetid/facet/templates"
)

// limits throttle password guessing across nodes with storage counters (OWASP ASVS 5.0 V6.3,
// NIST SP 800-63B 5.2.2) in fixed windows: failed logins and wrong current passwords per
// account.
type limits struct {
	Window     time.Duration
	PerAccount int // failed logins per account per window
}

// defaultLimits: 5 failures per account per 15 minutes.
func defaultLimits() limits {
	return limits{Window: 15 * time.Minute, PerAccount: 5}
}

// errThrottled: a counter is over its limit.
var errThrottled = errors.New("too many attempts")

// PerAccountLimit is how many failed logins (by email, by username, or a wrong current
// password) one account takes per window before it is throttled.
func (h *Handler) PerAccountLimit() int { return h.limits.PerAccount }

// AccountCounter is the key of userID's failed-login counter: logins by email and by username
// and wrong current passwords all count toward it.
func AccountCounter(userID string) string { return "login:account:" + KeyHash(userID) }

// Counter is one rate-limit key and its limit per window.
type Counter struct {
	Key   string
	Limit int
}

// Hit adds one to each counter in the current window and returns how long until the window
// ends when any counter is over its limit, or 0. Windows are fixed (aligned to the window
// length since the zero time), so every node agrees on them.
func (h *Handler) Hit(ctx context.Context, counters ...Counter) (time.Duration, error) {
	now := h.Now()
	start := now.Truncate(h.limits.Window)
	over := false
	for _, c := range counters {
		n, err := h.Store.Hit(ctx, c.Key, start)
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", strings.SplitN(c.Key, ":", 3)[1], err)
		}
		if n > c.Limit {
			over = true
		}
	}
	if !over {
		return 0, nil
	}
	return start.Add(h.limits.Window).Sub(now), nil
}

// ThrottleMessage says how long to wait, in whole minutes (at least one), in l.
func ThrottleMessage(l templates.Lang, retry time.Duration) string {
	return l.N("login.throttled", max(int(math.Ceil(retry.Minutes())), 1))
}

// KeyHash keeps email addresses and usernames out of the counters table.
func KeyHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
