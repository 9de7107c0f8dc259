package profile

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// NormalizeEmail trims and lower-cases an address; users' emails are stored this way.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidEmail is a basic syntax check: a bare address (no display name, no spaces) that
// net/mail accepts, with a dot in the domain. Whether it receives mail is for verification.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	return local != "" && strings.Contains(domain, ".") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// VerifiedOwner returns the id of the account holding addr verified, "" when none does.
func (h *Handler) VerifiedOwner(ctx context.Context, addr string) (string, error) {
	users, err := h.Store.UsersByEmail(ctx, addr, 1)
	if err != nil {
		return "", fmt.Errorf("users by email: %w", err)
	}
	if len(users) == 0 || !users[0].EmailVerified {
		return "", nil
	}
	return users[0].ID, nil
}

// PurgeUnverified deletes the accounts older than cfg.UnverifiedAccountTTL that have no way
// in but an unconfirmed email address (no confirmed address, phone number or username), with
// their tokens, and returns how many. cmd runs it in its periodic cleanup, on one node at a
// time.
func (h *Handler) PurgeUnverified(ctx context.Context) (int, error) {
	ids, err := h.Store.DeleteUnverifiedUsers(ctx, h.Now().Add(-h.cfg.UnverifiedAccountTTL))
	if err != nil {
		return 0, fmt.Errorf("purge unverified accounts: %w", err)
	}
	for _, id := range ids {
		h.Logger.InfoContext(ctx, "unverified account expired", "user_id", id)
	}
	return len(ids), nil
}
