package profile

import (
	"context"
	"fmt"

	"github.com/facetid/facet/profile/locale"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// MailSender delivers one email (notify.Mailer and notify.LogMailer implement it).
type MailSender interface {
	Send(ctx context.Context, m notify.Message) error
}

// Mailer returns the configured mail sender, or in development the log mailer.
func (h *Handler) Mailer() (MailSender, bool) {
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

// Notice emails userID a short notice in their language (RecipientLang); a failure is
// logged, the change stands.
func (h *Handler) Notice(ctx context.Context, userID, to, subjectKey, textKey string, args ...any) {
	mailer, ok := h.Mailer()
	if !ok {
		h.Logger.WarnContext(ctx, "no mailer for a notice", "user_id", userID, "notice", subjectKey)
		return
	}
	l := h.RecipientLang(ctx, userID)
	msg := notify.Message{To: to, Subject: l.T(subjectKey), Text: l.T(textKey, args...)}
	if err := mailer.Send(context.WithoutCancel(ctx), msg); err != nil {
		h.Logger.ErrorContext(ctx, "send notice", "user_id", userID, "notice", subjectKey, "err", err)
	}
}

// AccountNotice emails a notice to userID's current address; an account without one gets
// none. A failure is logged, the change stands.
func (h *Handler) AccountNotice(ctx context.Context, userID, subjectKey, textKey string, args ...any) {
	u, err := h.Store.GetUser(ctx, userID)
	if err != nil {
		h.Logger.ErrorContext(ctx, "notice: get user", "user_id", userID, "notice", subjectKey, "err", err)
		return
	}
	if storage.HasEmail(u) {
		h.Notice(ctx, userID, u.Email, subjectKey, textKey, args...)
	}
}

// ownerNoticesPerWindow bounds the notices one address receives about others' attempts to
// use it, so registering or adding someone's address in a loop does not flood their inbox.
const ownerNoticesPerWindow = 3

// OwnerNotice mails the confirmed address addr of ownerID a notice, in the owner's language
// (not that of the request, which someone else sent), about someone else's
// attempt to use it, at most ownerNoticesPerWindow per rate-limit window (past that it sends
// nothing and returns nil). It returns the mailer's error, so that a caller answering as if
// it had sent a code can fail as a failed code would.
func (h *Handler) OwnerNotice(ctx context.Context, ownerID, addr, subjectKey, textKey string) error {
	retry, err := h.Hit(ctx, Counter{Key: "notice:email:" + KeyHash(addr), Limit: ownerNoticesPerWindow})
	if err != nil {
		return err
	}
	if retry > 0 {
		h.Logger.InfoContext(ctx, "notice throttled", "user_id", ownerID, "notice", subjectKey)
		return nil
	}
	mailer, ok := h.Mailer()
	if !ok {
		h.Logger.WarnContext(ctx, "no mailer for a notice", "user_id", ownerID, "notice", subjectKey)
		return nil
	}
	l := h.RecipientLang(ctx, ownerID)
	msg := notify.Message{To: addr, Subject: l.T(subjectKey), Text: l.T(textKey)}
	if err := mailer.Send(context.WithoutCancel(ctx), msg); err != nil {
		return fmt.Errorf("send notice %s: %w", subjectKey, err)
	}
	return nil
}

// RecipientLang is the language of a message to userID that is not an answer to their own
// request (a notice mailed to the account's owner): their locale profile field when the
// catalog speaks it, else ctx's language. A profile that cannot be read is logged and falls
// back the same way; the notice still goes out.
func (h *Handler) RecipientLang(ctx context.Context, userID string) templates.Lang {
	fields, err := h.Store.GetProfileFields(ctx, userID)
	if err != nil {
		h.Logger.WarnContext(ctx, "read locale for a notice", "user_id", userID, "err", err)
		return templates.LangFrom(ctx)
	}
	if l, ok := locale.Of(fields); ok {
		return l
	}
	return templates.LangFrom(ctx)
}
