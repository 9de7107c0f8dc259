package contact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/facetid/facet/profile"
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

// phoneKind is the phone number as a contactKind.
type phoneKind struct{ h *Handler }

func (phoneKind) spec() contactSpec {
	return contactSpec{Kind: storage.ContactPhone, Name: "phone", Field: "phone_number", TTL: phoneCodeTTL,
		Changed: profile.CategoryPhoneChanged, Deleted: profile.CategoryPhoneDeleted}
}

func (k phoneKind) start(ctx context.Context, u storage.User, form url.Values) (string, error) {
	return k.h.startPhoneChange(ctx, u, form)
}

func (k phoneKind) free(ctx context.Context, userID, value string) error {
	return k.h.phoneFree(ctx, userID, value)
}

func (k phoneKind) save(ctx context.Context, v storage.Verification) (saved, error) {
	return k.h.savePhone(ctx, v)
}

// lost does nothing: no account holds an unconfirmed phone number.
func (phoneKind) lost(context.Context, string, []string) {}

func (k phoneKind) current(ctx context.Context, u storage.User) (string, error) {
	current, _, err := k.h.kit.FieldLevel(ctx, u.ID, "phone_number")
	return current, err
}

func (k phoneKind) clear(ctx context.Context, userID string) error {
	if err := k.h.store.DeleteProfileField(ctx, userID, "phone_number"); err != nil {
		return fmt.Errorf("delete phone number: %w", err)
	}
	return nil
}

// changed and deleted tell the account's email address of both.
func (k phoneKind) changed(ctx context.Context, userID, _, value string) {
	k.h.kit.AccountNotice(ctx, userID, "contacts.mail.phone_changed.subject", "contacts.mail.phone_changed.text", value)
}

func (k phoneKind) deleted(ctx context.Context, userID, old string) {
	k.h.kit.AccountNotice(ctx, userID, "contacts.mail.phone_deleted.subject", "contacts.mail.phone_deleted.text", old)
}

func (k phoneKind) page(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error) {
	return k.h.newPhonePage(ctx, u, s, form)
}

// phonePage is contacts_phone.html's data.
type phonePage struct {
	contactPanel
	Phone     string // current verified number
	NewPhone  string
	Channel   string
	Channels  []string // offered channels; more than one shows the choice
	Available bool     // a sender is configured
	Region    string
}

// startPhoneChange sends a code to the number typed into form, by its channel ("sms",
// "call", or "" for the first one the sender offers).
func (h *Handler) startPhoneChange(ctx context.Context, u storage.User, form url.Values) (string, error) {
	typed, channel := form.Get("phone_number"), form.Get("channel")
	sender, ok := h.phoneSender()
	if !ok {
		return "", profile.Refuse(http.StatusServiceUnavailable, "temporarily_unavailable", "contacts.phone.unavailable")
	}
	number, ok := normalizePhone(typed, h.phoneRegion())
	if !ok {
		if strings.TrimSpace(typed) == "" {
			return "", profile.InvalidField("phone_number", "contacts.phone.required")
		}
		return "", profile.InvalidField("phone_number", "contacts.phone.invalid")
	}
	ch := notify.Channel(channel)
	if channel == "" {
		ch = notify.SMS
		if !sender.Supports(ch) {
			ch = notify.Call
		}
	}
	if !ch.Valid() || !sender.Supports(ch) {
		return "", profile.InvalidField("channel", "contacts.phone.channel")
	}
	current, _, err := h.kit.FieldLevel(ctx, u.ID, "phone_number")
	if err != nil {
		return "", err
	}
	if number == current {
		return "", profile.InvalidField("phone_number", "contacts.phone.same")
	}
	if err := h.phoneFree(ctx, u.ID, number); err != nil {
		return "", err
	}
	err = h.sendCode(ctx, phoneKind{h}, u.ID, number, string(ch), func(p pending) error {
		text := templates.Tr(ctx, "contacts.sms.code", p.Code, int(phoneCodeTTL/time.Minute))
		if ch == notify.Call {
			// Digits read one by one: "1, 2, 3, 4, 5, 6".
			text = templates.Tr(ctx, "contacts.call.code", strings.Join(strings.Split(p.Code, ""), ", "))
		}
		return sender.Send(ctx, number, text, ch)
	})
	if err != nil {
		return "", err
	}
	return number, nil
}

// phoneFree refuses a number another account has verified.
func (h *Handler) phoneFree(ctx context.Context, userID, number string) error {
	owner, err := h.store.PhoneOwner(ctx, number)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("phone owner: %w", err)
	case owner != userID:
		return phoneKind{}.spec().taken()
	}
	return nil
}

// savePhone stores a confirmed number as phone_number, keeping the field's privacy level.
func (h *Handler) savePhone(ctx context.Context, v storage.Verification) (saved, error) {
	// The value only: the level stays the one the person chose, or the catalog default when
	// they never chose one (a stored default would outlive a change of default_privacy).
	err := h.store.PutProfileValues(ctx, v.UserID, map[string]string{"phone_number": v.Value}, h.now())
	if errors.Is(err, storage.ErrAlreadyExists) {
		return saved{}, phoneKind{}.spec().taken()
	}
	if err != nil {
		return saved{}, fmt.Errorf("put phone number: %w", err)
	}
	return saved{}, nil
}

// newPhonePage builds the panel for u: the number, a pending one, the channels offered.
func (h *Handler) newPhonePage(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error) {
	p := &phonePage{Region: h.phoneRegion(), NewPhone: form.Get("phone_number")}
	current, _, err := h.kit.FieldLevel(ctx, u.ID, "phone_number")
	if err != nil {
		return nil, err
	}
	p.Phone = profile.FormatPhone(current)
	if err := h.fillPanel(ctx, phoneKind{h}, u.ID, s, &p.contactPanel); err != nil {
		return nil, err
	}
	p.Shown = profile.FormatPhone(p.Pending)
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
	if ch := form.Get("channel"); ch != "" {
		p.Channel = ch
	}
	return p, nil
}

// apiPhoneStart: POST /api/account/phone {"phone_number","channel"} → 202.
func (h *Handler) apiPhoneStart(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PhoneNumber string `json:"phone_number"`
		Channel     string `json:"channel"`
	}
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	h.apiContactStart(w, r, phoneKind{h}, url.Values{"phone_number": {body.PhoneNumber}, "channel": {body.Channel}})
}
