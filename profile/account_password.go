package profile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// errWrongPassword: the current password given to change it is not correct.
var errWrongPassword = errors.New("current password not correct")

// passwordChange is what a person sends to change their password. Confirm is checked only
// when CheckConfirm is set (the page has a confirmation field, the API does not).
type passwordChange struct {
	Current, New, Confirm string
	CheckConfirm          bool
	// RequestID names the request in the back-channel logouts' delivery logs.
	RequestID string
}

// changePassword is the one service behind the page and PUT /api/account/password. The
// current password is always required: it is the re-authentication a sensitive change needs
// (OWASP ASVS 5.0 V7.5), for browser sessions and bearer tokens alike. A wrong one counts
// toward the same per-account throttle as failed logins (ASVS V6.3). On success it replaces the hash
// and, in the same transaction, ends every browser session and every token of the user
// (ASVS V7.4: sessions end when the credential changes) and records password_changed; then it emails a notice to the account's
// address, when it has one.
//
// Errors: errValidation with a message key per field, errWrongPassword, errThrottled with
// the time to wait, or an internal error.
func (h *Handler) changePassword(ctx context.Context, o Origin, u storage.User, c passwordChange) (map[string]string, time.Duration, error) {
	errs := map[string]string{}
	if c.Current == "" {
		errs["current_password"] = "account.password.current_required"
	}
	if msg := h.policy.Check(c.New); msg != "" {
		errs["new_password"] = msg
	}
	if c.CheckConfirm && c.Confirm != c.New && errs["new_password"] == "" {
		errs["confirm"] = "register.confirm_mismatch"
	}
	if len(errs) > 0 {
		return errs, 0, errValidation
	}
	accountKey := AccountCounter(u.ID)
	retry, err := h.Hit(ctx, Counter{Key: accountKey, Limit: h.limits.PerAccount})
	if err != nil {
		return nil, 0, err
	}
	if retry > 0 {
		return nil, retry, errThrottled
	}
	ok, err := password.Check(u.PasswordHash, c.Current)
	if err != nil {
		h.Logger.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
	}
	if !ok {
		return nil, 0, errWrongPassword
	}
	if c.New == c.Current {
		return map[string]string{"new_password": "account.password.same"}, 0, errValidation
	}
	hash, err := password.Hash(c.New)
	if err != nil {
		return nil, 0, err
	}
	err = h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.SetPasswordHash(ctx, u.ID, hash, h.Now().UTC()); err != nil {
			return err
		}
		// Every app of the user hears of it (back-channel logout) before the sessions go.
		if h.Logouts != nil {
			if _, err := h.Logouts.LogoutUser(ctx, u.ID, "", c.RequestID); err != nil {
				return err
			}
		}
		if _, err := h.Store.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		if _, err := h.Store.RevokeSubject(ctx, u.ID, ""); err != nil {
			return err
		}
		h.Events.Record(ctx, o, u.ID, Event{Category: CategoryPasswordChanged})
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("change password: %w", err)
	}
	if err := h.Store.ResetCounter(ctx, accountKey); err != nil {
		h.Logger.WarnContext(ctx, "reset login counter", "user_id", u.ID, "err", err)
	}
	h.Logger.InfoContext(ctx, "password changed", "user_id", u.ID)
	// The spec's "A notice is emailed": someone who did not change it learns at once.
	if storage.HasEmail(u) {
		h.Notice(ctx, u.ID, u.Email, "account.mail.password.subject", "account.mail.password.text")
	}
	return nil, 0, nil
}

// passwordPageData is password.html's data.
type passwordPageData struct {
	Alert  string
	Errors map[string]string
}

// passwordForm shows the password change form.
func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	h.RenderAccount(w, r, http.StatusOK, "password", "/profile", u, passwordPageData{Errors: map[string]string{}})
}

// password changes the password; on success the person is logged out everywhere and sent to
// the login page (spec "Changing Password": "you will be logged out").
func (h *Handler) password(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	if !h.ParseForm(w, r) {
		return
	}
	errs, retry, err := h.changePassword(r.Context(), h.Origin(r), u, passwordChange{
		Current:      r.PostForm.Get("current_password"),
		New:          r.PostForm.Get("new_password"),
		Confirm:      r.PostForm.Get("confirm"),
		CheckConfirm: true,
		RequestID:    RequestID(w, r),
	})
	data := passwordPageData{Errors: map[string]string{}}
	switch {
	case err == nil:
		h.ClearCookie(w)
		http.Redirect(w, r, "/login?notice=password_changed", http.StatusSeeOther)
		return
	case errors.Is(err, errValidation):
		for k, v := range errs {
			data.Errors[k] = templates.Tr(r.Context(), v)
		}
		h.RenderAccount(w, r, http.StatusUnprocessableEntity, "password", "/profile", u, data)
	case errors.Is(err, errWrongPassword):
		data.Errors["current_password"] = templates.Tr(r.Context(), "account.password.wrong")
		h.RenderAccount(w, r, http.StatusUnprocessableEntity, "password", "/profile", u, data)
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		data.Alert = ThrottleMessage(templates.LangFrom(r.Context()), retry)
		h.RenderAccount(w, r, http.StatusTooManyRequests, "password", "/profile", u, data)
	default:
		h.ServerError(w, r, "change password", err)
	}
}
