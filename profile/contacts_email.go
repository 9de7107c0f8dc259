package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The Email panel: the account's address (users.email) changes only when the new address
// confirms a code or a one-click link; the old address is told. Login is by email today, so
// deleting the address needs another way to sign in: a preferred_username (login by
// username is not built yet; see clearEmail).

// emailContact is the email address as a contactKind.
func emailContact() contactKind {
	return contactKind{
		Kind: storage.ContactEmail, Name: "email", Field: "email", TTL: emailCodeTTL, Link: true,
		Changed: CategoryEmailChanged, Deleted: CategoryEmailDeleted,
		start: (*Handler).startEmailChange,
		free:  (*Handler).emailFree,
		save:  (*Handler).saveEmail,
		current: func(_ *Handler, _ context.Context, u storage.User) (string, error) {
			if !storage.HasEmail(u) {
				return "", nil
			}
			return u.Email, nil
		},
		clear: (*Handler).clearEmail,
		changed: func(h *Handler, ctx context.Context, userID, old, value string) {
			if old != "" && old != value {
				h.notice(ctx, userID, old, "contacts.mail.changed.subject", "contacts.mail.changed.text", value)
			}
		},
		deleted: func(h *Handler, ctx context.Context, userID, old string) {
			h.notice(ctx, userID, old, "contacts.mail.deleted.subject", "contacts.mail.deleted.text")
		},
		page: (*Handler).newEmailPage,
	}
}

// emailPage is contacts_email.html's data.
type emailPage struct {
	contactPanel
	Email     string // current address, "" when deleted
	Verified  bool
	NewEmail  string // the form's value
	CanDelete bool
}

// startEmailChange sends a code and a one-click link to the address typed into form.
func (h *Handler) startEmailChange(ctx context.Context, u storage.User, form url.Values) (string, error) {
	addr := normalizeEmail(form.Get("email"))
	switch {
	case addr == "":
		return "", invalidField("email", "contacts.email.required")
	case !validEmail(addr):
		return "", invalidField("email", "contacts.email.invalid")
	case addr == u.Email && u.EmailVerified:
		return "", invalidField("email", "contacts.email.same")
	}
	if err := h.emailFree(ctx, u.ID, addr); err != nil {
		return "", err
	}
	mailer, ok := h.mailer()
	if !ok {
		return "", refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.email.unavailable")
	}
	err := h.sendCode(ctx, emailContact(), u.ID, addr, "email", func(p pending) error {
		link := h.cfg.Issuer + "/profile/email/confirm?token=" + p.Token
		return mailer.Send(ctx, notify.Message{
			To:      addr,
			Subject: templates.T("contacts.mail.code.subject"),
			Text:    templates.T("contacts.mail.code.text", p.Code, link, int(emailCodeTTL/time.Minute)),
		})
	})
	if err != nil {
		return "", err
	}
	return addr, nil
}

// emailFree refuses an address another account holds (one verified address, one account).
func (h *Handler) emailFree(ctx context.Context, userID, addr string) error {
	other, err := h.Store.GetUserByEmail(ctx, addr)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("get user by email: %w", err)
	case other.ID != userID:
		return emailContact().taken()
	}
	return nil
}

// saveEmail makes a confirmed address users.email and returns the address it replaced ("" for
// none), which is told of the change.
func (h *Handler) saveEmail(ctx context.Context, v storage.Verification) (string, error) {
	u, err := h.Store.GetUser(ctx, v.UserID)
	if err != nil {
		return "", fmt.Errorf("get user: %w", err)
	}
	old := u.Email
	if !storage.HasEmail(u) {
		old = ""
	}
	u.Email, u.EmailVerified, u.UpdatedAt = v.Value, true, h.Now()
	if err := h.Store.UpdateUser(ctx, u); errors.Is(err, storage.ErrAlreadyExists) {
		return "", emailContact().taken()
	} else if err != nil {
		return "", fmt.Errorf("update user: %w", err)
	}
	return old, nil
}

// clearEmail removes the account's address. Login is by email today, so the account must
// keep another way to sign in: a preferred_username (login by username is not built yet).
// Without one the deletion is refused.
func (h *Handler) clearEmail(ctx context.Context, userID string) error {
	ok, err := h.hasUsername(ctx, userID)
	if err != nil {
		return err
	}
	if !ok {
		return refuse(http.StatusConflict, "sign_in_method_required", "contacts.email.delete_refused")
	}
	u, err := h.Store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	u.Email, u.EmailVerified, u.UpdatedAt = "", false, h.Now()
	if err := h.Store.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// hasUsername reports whether userID has a preferred_username to sign in with.
func (h *Handler) hasUsername(ctx context.Context, userID string) (bool, error) {
	username, _, err := h.fieldLevel(ctx, userID, "preferred_username")
	return username != "", err
}

// notice emails a short notice; a failure is logged, the change stands.
func (h *Handler) notice(ctx context.Context, userID, to, subjectKey, textKey string, args ...any) {
	mailer, ok := h.mailer()
	if !ok {
		h.Logger.WarnContext(ctx, "no mailer for a notice", "user_id", userID, "notice", subjectKey)
		return
	}
	msg := notify.Message{To: to, Subject: templates.T(subjectKey), Text: templates.T(textKey, args...)}
	if err := mailer.Send(context.WithoutCancel(ctx), msg); err != nil {
		h.Logger.ErrorContext(ctx, "send notice", "user_id", userID, "notice", subjectKey, "err", err)
	}
}

// accountNotice emails a notice to userID's current address; an account without one gets
// none. A failure is logged, the change stands.
func (h *Handler) accountNotice(ctx context.Context, userID, subjectKey, textKey string, args ...any) {
	u, err := h.Store.GetUser(ctx, userID)
	if err != nil {
		h.Logger.ErrorContext(ctx, "notice: get user", "user_id", userID, "notice", subjectKey, "err", err)
		return
	}
	if storage.HasEmail(u) {
		h.notice(ctx, userID, u.Email, subjectKey, textKey, args...)
	}
}

// newEmailPage builds the panel for u, with the pending address if a code is waiting.
func (h *Handler) newEmailPage(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error) {
	p := &emailPage{NewEmail: form.Get("email")}
	if storage.HasEmail(u) {
		p.Email, p.Verified = u.Email, u.EmailVerified
	}
	if err := h.fillPanel(ctx, emailContact(), u.ID, s, &p.contactPanel); err != nil {
		return nil, err
	}
	ok, err := h.hasUsername(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	p.CanDelete = p.Email != "" && ok
	return p, nil
}

// emailConfirmLink is the one-click link of the code mail. It works for the signed-in user
// the link was sent to (after logging in, the login page comes back here); for anyone else
// the link does not exist.
func (h *Handler) emailConfirmLink(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v, err := h.checkLink(ctx, u.ID, r.URL.Query().Get("token"))
	if ce, ok := asContactError(err); ok && ce.Status == http.StatusNotFound {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	if err == nil {
		err = h.confirmContact(ctx, r, emailContact(), v, "")
	}
	h.contactDone(w, r, emailContact(), u, s, nil, err, "saved")
}

// apiEmailStart: POST /api/account/email {"email"} → 202 {"status":"code_sent","email"}.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email string `json:"email"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	h.apiContactStart(w, r, emailContact(), url.Values{"email": {body.Email}})
}
