package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The Email panel: the account's address (users.email) changes only when the new address
// confirms a code or a one-click link; the old address is told. Login is by email today, so
// deleting the address needs another way to sign in: a preferred_username (login by
// username is not built yet; see deleteEmail).

// emailPage is contacts_email.html's data.
type emailPage struct {
	Email     string // current address, "" when deleted
	Verified  bool
	Pending   string // address waiting for its code
	NewEmail  string // the form's value
	Errors    map[string]string
	Alert     string
	Notice    string
	Reauth    bool
	ReauthURL string
	CanDelete bool
}

// startEmailChange sends a code and a one-click link to the address the user typed.
func (h *Handler) startEmailChange(ctx context.Context, u storage.User, typed string) (string, error) {
	addr := normalizeEmail(typed)
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
	p, err := h.startVerification(ctx, u.ID, storage.ContactEmail, addr, "email", emailCodeTTL, true)
	if err != nil {
		return "", err
	}
	link := h.cfg.Issuer + "/profile/email/confirm?token=" + p.Token
	msg := notify.Message{
		To:      addr,
		Subject: templates.T("contacts.mail.code.subject"),
		Text:    templates.T("contacts.mail.code.text", p.Code, link, int(emailCodeTTL/time.Minute)),
	}
	if err := mailer.Send(ctx, msg); err != nil {
		h.abandon(ctx, p)
		h.Logger.ErrorContext(ctx, "send email code", "user_id", u.ID, "err", err)
		return "", refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.email.send_failed")
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
		return &contactError{Status: http.StatusConflict, Code: "email_taken", Msg: "contacts.email.taken", Field: "email"}
	}
	return nil
}

// applyEmail makes a confirmed verification the account's address: it uses the code up and
// updates users.email in one transaction, then tells the old address.
func (h *Handler) applyEmail(ctx context.Context, r *http.Request, v storage.Verification, clientID string) error {
	var old string
	err := h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.ConsumeVerification(ctx, v); errors.Is(err, storage.ErrNotFound) {
			return refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
		} else if err != nil {
			return fmt.Errorf("consume verification: %w", err)
		}
		if err := h.emailFree(ctx, v.UserID, v.Value); err != nil {
			return err
		}
		u, err := h.Store.GetUser(ctx, v.UserID)
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		old = u.Email
		if !storage.HasEmail(u) {
			old = ""
		}
		u.Email, u.EmailVerified, u.UpdatedAt = v.Value, true, h.Now()
		if err := h.Store.UpdateUser(ctx, u); errors.Is(err, storage.ErrAlreadyExists) {
			return &contactError{Status: http.StatusConflict, Code: "email_taken", Msg: "contacts.email.taken", Field: "email"}
		} else if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, v.UserID, Event{Category: CategoryEmailChanged, ClientID: clientID})
	if old != "" && old != v.Value {
		h.notice(ctx, v.UserID, old, "contacts.mail.changed.subject", "contacts.mail.changed.text", v.Value)
	}
	return nil
}

// deleteEmail removes the account's address. Login is by email today, so the account must
// keep another way to sign in: a preferred_username. Without one the deletion is refused.
func (h *Handler) deleteEmail(ctx context.Context, r *http.Request, u storage.User, clientID string) error {
	if !storage.HasEmail(u) {
		return refuse(http.StatusNotFound, "not_found", "contacts.email.none")
	}
	username, _, err := h.fieldLevel(ctx, u.ID, "preferred_username")
	if err != nil {
		return err
	}
	if username == "" {
		return refuse(http.StatusConflict, "sign_in_method_required", "contacts.email.delete_refused")
	}
	old := u.Email
	err = h.Store.InTx(ctx, func(ctx context.Context) error {
		cur, err := h.Store.GetUser(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		cur.Email, cur.EmailVerified, cur.UpdatedAt = "", false, h.Now()
		if err := h.Store.UpdateUser(ctx, cur); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		return h.Store.DeleteVerification(ctx, u.ID, storage.ContactEmail)
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, u.ID, Event{Category: CategoryEmailDeleted, ClientID: clientID})
	h.notice(ctx, u.ID, old, "contacts.mail.deleted.subject", "contacts.mail.deleted.text")
	return nil
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

// newEmailPage builds the page for u, with the pending address if a code is waiting.
func (h *Handler) newEmailPage(ctx context.Context, u storage.User, s storage.Session) (emailPage, error) {
	p := emailPage{Errors: map[string]string{}}
	if storage.HasEmail(u) {
		p.Email, p.Verified = u.Email, u.EmailVerified
	}
	v, err := h.Store.GetVerification(ctx, u.ID, storage.ContactEmail)
	switch {
	case err == nil && h.Now().Before(v.ExpiresAt):
		p.Pending = v.Value
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return p, fmt.Errorf("get verification: %w", err)
	}
	if h.needsReauth(s) {
		p.Reauth, p.ReauthURL = true, reauthURL("/profile/email")
	}
	username, _, err := h.fieldLevel(ctx, u.ID, "preferred_username")
	if err != nil {
		return p, err
	}
	p.CanDelete = p.Email != "" && username != ""
	return p, nil
}

func (h *Handler) emailPage(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	page, err := h.newEmailPage(r.Context(), u, s)
	if err != nil {
		h.serverError(w, r, "email page", err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "sent":
		page.Notice = templates.T("contacts.email.sent", page.Pending)
	case "saved":
		page.Notice = templates.T("contacts.email.saved")
	case "deleted":
		page.Notice = templates.T("contacts.email.deleted")
	}
	h.render(w, r, http.StatusOK, "contacts_email", page)
}

// emailError shows the email page again with err's message next to its field (or on top).
func (h *Handler) emailError(w http.ResponseWriter, r *http.Request, u storage.User, s storage.Session, typed string, err error) {
	ce, ok := asContactError(err)
	if !ok {
		h.serverError(w, r, "email change", err)
		return
	}
	page, perr := h.newEmailPage(r.Context(), u, s)
	if perr != nil {
		h.serverError(w, r, "email page", perr)
		return
	}
	page.NewEmail = typed
	if ce.Field != "" {
		page.Errors[ce.Field] = ce.Text()
	} else {
		page.Alert = ce.Text()
	}
	setRetryAfter(w, ce)
	h.render(w, r, ce.Status, "contacts_email", page)
}

func (h *Handler) emailStart(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if h.needsReauth(s) {
		http.Redirect(w, r, reauthURL("/profile/email"), http.StatusSeeOther)
		return
	}
	typed := r.PostForm.Get("email")
	if _, err := h.startEmailChange(r.Context(), u, typed); err != nil {
		h.emailError(w, r, u, s, typed, err)
		return
	}
	http.Redirect(w, r, "/profile/email?done=sent", http.StatusSeeOther)
}

func (h *Handler) emailVerify(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	v, err := h.checkCode(ctx, u.ID, storage.ContactEmail, r.PostForm.Get("code"))
	if err == nil {
		err = h.applyEmail(ctx, r, v, "")
	}
	if err != nil {
		h.emailError(w, r, u, s, "", err)
		return
	}
	http.Redirect(w, r, "/profile/email?done=saved", http.StatusSeeOther)
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
		err = h.applyEmail(ctx, r, v, "")
	}
	if err != nil {
		h.emailError(w, r, u, s, "", err)
		return
	}
	http.Redirect(w, r, "/profile/email?done=saved", http.StatusSeeOther)
}

func (h *Handler) emailDelete(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if h.needsReauth(s) {
		http.Redirect(w, r, reauthURL("/profile/email"), http.StatusSeeOther)
		return
	}
	if err := h.deleteEmail(r.Context(), r, u, ""); err != nil {
		h.emailError(w, r, u, s, "", err)
		return
	}
	http.Redirect(w, r, "/profile/email?done=deleted", http.StatusSeeOther)
}

// apiEmailStart: POST /api/account/email {"email"} → 202 {"status":"code_sent","email"}.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	var body struct {
		Email string `json:"email"`
	}
	if !decodeJSON(w, r, &body) || h.apiReauth(w, c) {
		return
	}
	addr, err := h.startEmailChange(r.Context(), c.User, body.Email)
	if err != nil {
		h.writeContactAPIError(w, r, "email change", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent", "email": addr, "expires_in": int(emailCodeTTL / time.Second)})
}

// apiEmailVerify: POST /api/account/email/verify {"code"} → 200 {"email","verified":true}.
func (h *Handler) apiEmailVerify(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	var body struct {
		Code string `json:"code"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	ctx := r.Context()
	v, err := h.checkCode(ctx, c.User.ID, storage.ContactEmail, body.Code)
	if err == nil {
		err = h.applyEmail(ctx, r, v, c.ClientID)
	}
	if err != nil {
		h.writeContactAPIError(w, r, "email verify", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"email": v.Value, "verified": true})
}

// apiEmailDelete: DELETE /api/account/email → 204.
func (h *Handler) apiEmailDelete(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	if h.apiReauth(w, c) {
		return
	}
	if err := h.deleteEmail(r.Context(), r, c.User, c.ClientID); err != nil {
		h.writeContactAPIError(w, r, "email delete", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
