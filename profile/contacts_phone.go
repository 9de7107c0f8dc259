package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The Phone Number panel: a number is normalised to E.164, confirmed with a code sent by SMS
// or read out by a voice call, and only then stored as the profile field phone_number (so
// phone_number_verified is "the field is present"). A number belongs to one account.

// maxPhoneInput bounds what the number parser reads.
const maxPhoneInput = 64

// normalizePhone reads a typed number in region (used when it has no +country code) and
// returns it in E.164, or ok=false when it is not a valid number.
func normalizePhone(typed, region string) (string, bool) {
	typed = strings.TrimSpace(typed)
	if typed == "" || len(typed) > maxPhoneInput {
		return "", false
	}
	num, err := phonenumbers.Parse(typed, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// phoneRegion is the configured default region.
func (h *Handler) phoneRegion() string {
	if h.cfg.PhoneRegion != "" {
		return strings.ToUpper(h.cfg.PhoneRegion)
	}
	return defaultRegion
}

// phonePage is contacts_phone.html's data.
type phonePage struct {
	Phone     string // current verified number
	Pending   string
	NewPhone  string
	Channel   string
	Channels  []string // offered channels; more than one shows the choice
	Available bool     // a sender is configured
	Region    string
	Errors    map[string]string
	Alert     string
	Notice    string
	Reauth    bool
	ReauthURL string
}

// startPhoneChange sends a code to the number the user typed, by channel ("sms", "call",
// or "" for the first one the sender offers).
func (h *Handler) startPhoneChange(ctx context.Context, u storage.User, typed, channel string) (string, error) {
	sender, ok := h.phoneSender()
	if !ok {
		return "", refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.phone.unavailable")
	}
	number, ok := normalizePhone(typed, h.phoneRegion())
	if !ok {
		if strings.TrimSpace(typed) == "" {
			return "", invalidField("phone_number", "contacts.phone.required")
		}
		return "", invalidField("phone_number", "contacts.phone.invalid")
	}
	ch := notify.Channel(channel)
	if channel == "" {
		ch = notify.SMS
		if !sender.Supports(ch) {
			ch = notify.Call
		}
	}
	if !ch.Valid() || !sender.Supports(ch) {
		return "", invalidField("channel", "contacts.phone.channel")
	}
	current, _, err := h.fieldLevel(ctx, u.ID, "phone_number")
	if err != nil {
		return "", err
	}
	if number == current {
		return "", invalidField("phone_number", "contacts.phone.same")
	}
	if err := h.phoneFree(ctx, u.ID, number); err != nil {
		return "", err
	}
	p, err := h.startVerification(ctx, u.ID, storage.ContactPhone, number, string(ch), phoneCodeTTL, false)
	if err != nil {
		return "", err
	}
	minutes := int(phoneCodeTTL / time.Minute)
	text := templates.T("contacts.sms.code", p.Code, minutes)
	if ch == notify.Call {
		// Digits read one by one: "1, 2, 3, 4, 5, 6".
		text = templates.T("contacts.call.code", strings.Join(strings.Split(p.Code, ""), ", "))
	}
	if err := sender.Send(ctx, number, text, ch); err != nil {
		h.abandon(ctx, p)
		h.Logger.ErrorContext(ctx, "send phone code", "user_id", u.ID, "channel", string(ch), "err", err)
		return "", refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.phone.send_failed")
	}
	return number, nil
}

// phoneFree refuses a number another account has verified.
func (h *Handler) phoneFree(ctx context.Context, userID, number string) error {
	owner, err := h.Store.PhoneOwner(ctx, number)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("phone owner: %w", err)
	case owner != userID:
		return &contactError{Status: http.StatusConflict, Code: "phone_taken", Msg: "contacts.phone.taken", Field: "phone_number"}
	}
	return nil
}

// applyPhone stores a confirmed number as phone_number (keeping the field's privacy level)
// and uses the code up, in one transaction, then tells the account's email address. The unique index on verified numbers settles a
// race between two accounts.
func (h *Handler) applyPhone(ctx context.Context, r *http.Request, v storage.Verification, clientID string) error {
	err := h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.ConsumeVerification(ctx, v); errors.Is(err, storage.ErrNotFound) {
			return refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
		} else if err != nil {
			return fmt.Errorf("consume verification: %w", err)
		}
		if err := h.phoneFree(ctx, v.UserID, v.Value); err != nil {
			return err
		}
		_, level, err := h.fieldLevel(ctx, v.UserID, "phone_number")
		if err != nil {
			return err
		}
		err = h.Store.PutProfileFields(ctx, []storage.ProfileField{{UserID: v.UserID, Field: "phone_number", Value: v.Value, Privacy: level, UpdatedAt: h.Now()}})
		if errors.Is(err, storage.ErrAlreadyExists) {
			return &contactError{Status: http.StatusConflict, Code: "phone_taken", Msg: "contacts.phone.taken", Field: "phone_number"}
		}
		if err != nil {
			return fmt.Errorf("put phone number: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, v.UserID, Event{Category: CategoryPhoneChanged, ClientID: clientID})
	h.accountNotice(ctx, v.UserID, "contacts.mail.phone_changed.subject", "contacts.mail.phone_changed.text", v.Value)
	return nil
}

// deletePhone removes the verified number and any pending one, and tells the account's email
// address.
func (h *Handler) deletePhone(ctx context.Context, r *http.Request, u storage.User, clientID string) error {
	current, _, err := h.fieldLevel(ctx, u.ID, "phone_number")
	if err != nil {
		return err
	}
	if current == "" {
		return refuse(http.StatusNotFound, "not_found", "contacts.phone.none")
	}
	err = h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.DeleteProfileField(ctx, u.ID, "phone_number"); err != nil {
			return fmt.Errorf("delete phone number: %w", err)
		}
		return h.Store.DeleteVerification(ctx, u.ID, storage.ContactPhone)
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, u.ID, Event{Category: CategoryPhoneDeleted, ClientID: clientID})
	h.accountNotice(ctx, u.ID, "contacts.mail.phone_deleted.subject", "contacts.mail.phone_deleted.text", current)
	return nil
}

func (h *Handler) newPhonePage(ctx context.Context, u storage.User, s storage.Session) (phonePage, error) {
	p := phonePage{Errors: map[string]string{}, Region: h.phoneRegion()}
	current, _, err := h.fieldLevel(ctx, u.ID, "phone_number")
	if err != nil {
		return p, err
	}
	p.Phone = current
	v, err := h.Store.GetVerification(ctx, u.ID, storage.ContactPhone)
	switch {
	case err == nil && h.Now().Before(v.ExpiresAt):
		p.Pending = v.Value
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return p, fmt.Errorf("get verification: %w", err)
	}
	if sender, ok := h.phoneSender(); ok {
		p.Available = true
		for _, ch := range []notify.Channel{notify.SMS, notify.Call} {
			if sender.Supports(ch) {
				p.Channels = append(p.Channels, string(ch))
			}
		}
		if len(p.Channels) > 0 {
			p.Channel = p.Channels[0]
		}
	}
	if h.needsReauth(s) {
		p.Reauth, p.ReauthURL = true, reauthURL("/profile/phone")
	}
	return p, nil
}

func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	page, err := h.newPhonePage(r.Context(), u, s)
	if err != nil {
		h.serverError(w, r, "phone page", err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "sent":
		page.Notice = templates.T("contacts.phone.sent", page.Pending)
	case "saved":
		page.Notice = templates.T("contacts.phone.saved")
	case "deleted":
		page.Notice = templates.T("contacts.phone.deleted")
	}
	h.render(w, r, http.StatusOK, "contacts_phone", page)
}

func (h *Handler) phoneError(w http.ResponseWriter, r *http.Request, u storage.User, s storage.Session, typed, channel string, err error) {
	ce, ok := asContactError(err)
	if !ok {
		h.serverError(w, r, "phone change", err)
		return
	}
	page, perr := h.newPhonePage(r.Context(), u, s)
	if perr != nil {
		h.serverError(w, r, "phone page", perr)
		return
	}
	page.NewPhone = typed
	if channel != "" {
		page.Channel = channel
	}
	if ce.Field != "" {
		page.Errors[ce.Field] = ce.Text()
	} else {
		page.Alert = ce.Text()
	}
	setRetryAfter(w, ce)
	h.render(w, r, ce.Status, "contacts_phone", page)
}

func (h *Handler) phoneStart(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if h.needsReauth(s) {
		http.Redirect(w, r, reauthURL("/profile/phone"), http.StatusSeeOther)
		return
	}
	typed, channel := r.PostForm.Get("phone_number"), r.PostForm.Get("channel")
	if _, err := h.startPhoneChange(r.Context(), u, typed, channel); err != nil {
		h.phoneError(w, r, u, s, typed, channel, err)
		return
	}
	http.Redirect(w, r, "/profile/phone?done=sent", http.StatusSeeOther)
}

func (h *Handler) phoneVerify(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	v, err := h.checkCode(ctx, u.ID, storage.ContactPhone, r.PostForm.Get("code"))
	if err == nil {
		err = h.applyPhone(ctx, r, v, "")
	}
	if err != nil {
		h.phoneError(w, r, u, s, "", "", err)
		return
	}
	http.Redirect(w, r, "/profile/phone?done=saved", http.StatusSeeOther)
}

func (h *Handler) phoneDelete(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if h.needsReauth(s) {
		http.Redirect(w, r, reauthURL("/profile/phone"), http.StatusSeeOther)
		return
	}
	if err := h.deletePhone(r.Context(), r, u, ""); err != nil {
		h.phoneError(w, r, u, s, "", "", err)
		return
	}
	http.Redirect(w, r, "/profile/phone?done=deleted", http.StatusSeeOther)
}

// apiPhoneStart: POST /api/account/phone {"phone_number","channel"} → 202.
func (h *Handler) apiPhoneStart(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	var body struct {
		PhoneNumber string `json:"phone_number"`
		Channel     string `json:"channel"`
	}
	if !decodeJSON(w, r, &body) || h.apiReauth(w, c) {
		return
	}
	number, err := h.startPhoneChange(r.Context(), c.User, body.PhoneNumber, body.Channel)
	if err != nil {
		h.writeContactAPIError(w, r, "phone change", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent", "phone_number": number, "expires_in": int(phoneCodeTTL / time.Second)})
}

// apiPhoneVerify: POST /api/account/phone/verify {"code"} → 200.
func (h *Handler) apiPhoneVerify(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	var body struct {
		Code string `json:"code"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	ctx := r.Context()
	v, err := h.checkCode(ctx, c.User.ID, storage.ContactPhone, body.Code)
	if err == nil {
		err = h.applyPhone(ctx, r, v, c.ClientID)
	}
	if err != nil {
		h.writeContactAPIError(w, r, "phone verify", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone_number": v.Value, "verified": true})
}

// apiPhoneDelete: DELETE /api/account/phone → 204.
func (h *Handler) apiPhoneDelete(w http.ResponseWriter, r *http.Request) {
	c := apiCaller(r.Context())
	if h.apiReauth(w, c) {
		return
	}
	if err := h.deletePhone(r.Context(), r, c.User, c.ClientID); err != nil {
		h.writeContactAPIError(w, r, "phone delete", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
