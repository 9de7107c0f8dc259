package contact

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The Email panel: the account's address (users.email) changes only when the new address
// confirms a code or a one-click link; the old address is told. An unconfirmed address
// (one typed at registration) reserves nothing: the first account to confirm an address
// takes it from the accounts holding it unconfirmed, so nobody can lock an address's owner
// out by registering it first (account pre-hijacking). Login is by email today, so
// deleting the address needs another way to sign in: a preferred_username (login by
// username is not built yet; see clearEmail).

// emailKind is the email address as a contactKind.
type emailKind struct{ h *Handler }

func (emailKind) spec() contactSpec {
	return contactSpec{Kind: storage.ContactEmail, Name: "email", Field: "email", TTL: emailCodeTTL, Link: true,
		Changed: profile.CategoryEmailChanged, Verified: profile.CategoryEmailVerified, Deleted: profile.CategoryEmailDeleted}
}

func (k emailKind) start(ctx context.Context, u storage.User, form url.Values) (string, error) {
	return k.h.startEmailChange(ctx, u, form)
}

func (k emailKind) free(ctx context.Context, userID, value string) error {
	return k.h.emailFree(ctx, userID, value)
}

func (k emailKind) save(ctx context.Context, v storage.Verification) (saved, error) {
	return k.h.saveEmail(ctx, v)
}

func (k emailKind) lost(ctx context.Context, value string, losers []string) {
	k.h.emailLost(ctx, value, losers)
}

func (emailKind) current(_ context.Context, u storage.User) (string, error) {
	if !storage.HasEmail(u) {
		return "", nil
	}
	return u.Email, nil
}

func (k emailKind) clear(ctx context.Context, userID string) error {
	return k.h.clearEmail(ctx, userID)
}

func (k emailKind) changed(ctx context.Context, userID, old, value string) {
	if old != "" && old != value {
		k.h.kit.Notice(ctx, userID, old, "contacts.mail.changed.subject", "contacts.mail.changed.text", value)
	}
}

func (k emailKind) deleted(ctx context.Context, userID, old string) {
	k.h.kit.Notice(ctx, userID, old, "contacts.mail.deleted.subject", "contacts.mail.deleted.text")
}

func (k emailKind) page(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error) {
	return k.h.newEmailPage(ctx, u, s, form)
}

// emailPage is contacts_email.html's data.
type emailPage struct {
	contactPanel
	Email     string // current address, "" when deleted
	Verified  bool
	NewEmail  string // the form's value
	CanDelete bool
	// ExpiryDays is cfg.UnverifiedAccountTTL in whole days, for the unconfirmed-address hint.
	ExpiryDays int
}

// startEmailChange sends a code and a one-click link to the address typed into form. The
// answer is the same whether another account has confirmed the address or not, or it would
// tell anyone which addresses have accounts (OWASP ASVS 5.0 V6.3.8): for a taken address
// the code is stored all the same (the send throttle counts it) but the address receives a
// notice instead, and confirming can only fail.
func (h *Handler) startEmailChange(ctx context.Context, u storage.User, form url.Values) (string, error) {
	addr := profile.NormalizeEmail(form.Get("email"))
	switch {
	case addr == "":
		return "", profile.InvalidField("email", "contacts.email.required")
	case !profile.ValidEmail(addr):
		return "", profile.InvalidField("email", "contacts.email.invalid")
	case addr == u.Email && u.EmailVerified:
		return "", profile.InvalidField("email", "contacts.email.same")
	}
	mailer, ok := h.kit.Mailer()
	if !ok {
		return "", profile.Refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.email.unavailable")
	}
	owner, err := h.kit.VerifiedOwner(ctx, addr)
	if err != nil {
		return "", err
	}
	err = h.sendCode(ctx, emailKind{h}, u.ID, addr, "email", func(p pending) error {
		if owner != "" && owner != u.ID {
			h.logger.InfoContext(ctx, "email change to an address another account confirmed", "user_id", u.ID)
			return h.kit.OwnerNotice(ctx, owner, addr, "contacts.mail.claimed.subject", "contacts.mail.claimed.text")
		}
		link := h.cfg.Issuer + "/profile/email/confirm?token=" + p.Token
		return mailer.Send(ctx, notify.Message{
			To:      addr,
			Subject: templates.Tr(ctx, "contacts.mail.code.subject"),
			Text:    templates.Tr(ctx, "contacts.mail.code.text", p.Code, link, int(emailCodeTTL/time.Minute)),
		})
	})
	if err != nil {
		return "", err
	}
	return addr, nil
}

// emailFree refuses an address another account has confirmed (one verified address, one
// account); accounts holding it unconfirmed do not count.
func (h *Handler) emailFree(ctx context.Context, userID, addr string) error {
	owner, err := h.kit.VerifiedOwner(ctx, addr)
	if err != nil {
		return err
	}
	if owner != "" && owner != userID {
		return emailKind{}.spec().taken()
	}
	return nil
}

// saveEmail makes a confirmed address the account's verified users.email, taking it from the
// accounts that hold it unconfirmed. The confirmed address it replaced is told of the change:
// none for an unconfirmed one (it may be someone else's, the very address a squatter typed).
// Confirming the account's own unconfirmed address is saved as the same value.
func (h *Handler) saveEmail(ctx context.Context, v storage.Verification) (saved, error) {
	u, err := h.store.GetUser(ctx, v.UserID)
	if err != nil {
		return saved{}, fmt.Errorf("get user: %w", err)
	}
	res := saved{old: u.Email, same: storage.HasEmail(u) && u.Email == v.Value}
	if !storage.HasEmail(u) || !u.EmailVerified {
		res.old = ""
	}
	res.losers, err = h.store.VerifyEmail(ctx, v.UserID, v.Value, h.now())
	if errors.Is(err, storage.ErrAlreadyExists) {
		return saved{}, emailKind{}.spec().taken()
	} else if err != nil {
		return saved{}, fmt.Errorf("verify email: %w", err)
	}
	return res, nil
}

// emailLost tells the accounts that held addr unconfirmed that another account confirmed it.
// Their email is gone, and mail to addr would reach the new owner; an account with a
// confirmed phone number gets a text message, others nothing (the next login by email fails
// and the account expires unless it confirms another address).
func (h *Handler) emailLost(ctx context.Context, addr string, losers []string) {
	sender, ok := h.phoneSender()
	for _, id := range losers {
		h.logger.InfoContext(ctx, "unconfirmed email taken by the account that confirmed it", "user_id", id)
		if !ok {
			continue
		}
		phone, _, err := h.kit.FieldLevel(ctx, id, "phone_number")
		if err != nil {
			h.logger.ErrorContext(ctx, "notice: get phone number", "user_id", id, "err", err)
			continue
		}
		if phone == "" || !sender.Supports(notify.SMS) {
			continue
		}
		if err := sender.Send(context.WithoutCancel(ctx), phone, h.kit.RecipientLang(ctx, id).T("contacts.sms.lost", addr), notify.SMS); err != nil {
			h.logger.ErrorContext(ctx, "send notice", "user_id", id, "notice", "contacts.sms.lost", "err", err)
		}
	}
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
		return profile.Refuse(http.StatusConflict, "sign_in_method_required", "contacts.email.delete_refused")
	}
	u, err := h.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	u.Email, u.EmailVerified, u.UpdatedAt = "", false, h.now()
	if err := h.store.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// hasUsername reports whether userID has a preferred_username to sign in with.
func (h *Handler) hasUsername(ctx context.Context, userID string) (bool, error) {
	username, _, err := h.kit.FieldLevel(ctx, userID, "preferred_username")
	return username != "", err
}

// newEmailPage builds the panel for u, with the pending address if a code is waiting.
func (h *Handler) newEmailPage(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error) {
	p := &emailPage{NewEmail: form.Get("email"), ExpiryDays: int(math.Ceil(h.cfg.UnverifiedAccountTTL.Hours() / 24))}
	if storage.HasEmail(u) {
		p.Email, p.Verified = u.Email, u.EmailVerified
	}
	if err := h.fillPanel(ctx, emailKind{h}, u.ID, s, &p.contactPanel); err != nil {
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
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v, err := h.checkLink(ctx, u.ID, r.URL.Query().Get("token"))
	if ce, ok := profile.AsError(err); ok && ce.Status == http.StatusNotFound {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err == nil {
		err = h.confirmContact(ctx, h.kit.Origin(r), emailKind{h}, v, "")
	}
	h.contactDone(w, r, emailKind{h}, u, s, nil, err, "saved")
}

// apiEmailStart: POST /api/account/email {"email"} → 202 {"status":"code_sent","email"}.
func (h *Handler) apiEmailStart(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Email string `json:"email"`
	}
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	h.apiContactStart(w, r, emailKind{h}, url.Values{"email": {body.Email}})
}
