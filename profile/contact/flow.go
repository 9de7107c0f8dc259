package contact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The flow every contact confirmed with a code goes through, written once for the email
// address (email.go) and the phone number (phone.go): send a code, check it, apply the
// confirmed value, delete it; and the panel and JSON handlers around them. A contactKind is
// what differs between the two.

// contactKind is one kind of contact confirmed with a code: emailKind or phoneKind. Its
// messages are the catalog's "contacts.<Name>.*" keys.
type contactKind interface {
	// spec is what the flow needs to know of the kind.
	spec() contactSpec
	// start checks the value typed into form and sends a code for it; it returns the value
	// as normalised.
	start(ctx context.Context, u storage.User, form url.Values) (string, error)
	// free refuses a value another account holds.
	free(ctx context.Context, userID, value string) error
	// save makes a confirmed value the account's, inside the confirming transaction.
	save(ctx context.Context, v storage.Verification) (saved, error)
	// lost tells the accounts that lost value to the one that confirmed it.
	lost(ctx context.Context, value string, losers []string)
	// current is the account's value, "" for none.
	current(ctx context.Context, u storage.User) (string, error)
	// clear removes the account's value, inside the deleting transaction.
	clear(ctx context.Context, userID string) error
	// changed and deleted tell the account about a change; a failure is logged only.
	changed(ctx context.Context, userID, old, value string)
	deleted(ctx context.Context, userID, old string)
	// page builds the panel for u, keeping what form held when it is shown again.
	page(ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error)
}

// contactSpec is what differs between the kinds as data.
type contactSpec struct {
	Kind    string        // storage.ContactEmail or storage.ContactPhone
	Name    string        // "email", "phone": the panel's path, its template, messages and logs
	Field   string        // the value's form field and JSON member
	TTL     time.Duration // how long a code lives
	Link    bool          // the code mail also carries a one-click link
	Changed string        // the event recorded when a new value is confirmed
	// Verified is the event recorded when the confirmed value already was the account's
	// (unconfirmed until now): confirming it changes nothing. "" records Changed.
	Verified string
	Deleted  string // the event recorded when the value is deleted
}

// saved is what a kind's save did.
type saved struct {
	old    string   // the value it replaced, when the change notice goes to it; else ""
	same   bool     // the confirmed value already was the account's: confirmed, not changed
	losers []string // the accounts that held the value unconfirmed and lost it
}

// msg is the catalog key of one of the kind's messages.
func (k contactSpec) msg(name string) string { return "contacts." + k.Name + "." + name }

// path is the kind's panel.
func (k contactSpec) path() string { return "/profile/" + k.Name }

// taken refuses a value that belongs to another account (one verified value, one account).
func (k contactSpec) taken() *profile.Error {
	return &profile.Error{Status: http.StatusConflict, Code: k.Name + "_taken", Msg: k.msg("taken"), Field: k.Field}
}

// contactPanel is what the email and phone panels share.
type contactPanel struct {
	Pending   string // value waiting for its code
	Shown     string // Pending as people read it (a phone number grouped)
	Errors    map[string]string
	Alert     string
	Notice    string
	Reauth    bool
	ReauthURL string
	Delete    profile.Confirmation // the Delete button's confirmation
}

func (p *contactPanel) panel() *contactPanel { return p }

// deleteConfirmation is the confirmation of deleting k's value, in l.
func deleteConfirmation(l templates.Lang, k contactKind) profile.Confirmation {
	sp := k.spec()
	return profile.Confirmation{
		ID:          sp.Name + "-delete-dialog",
		Title:       l.T(sp.msg("delete.title")),
		Consequence: l.T(sp.msg("delete.consequence")),
		Button:      l.T(sp.msg("delete.button")),
		Action:      sp.path() + "/delete",
		CancelURL:   sp.path(),
	}
}

// contactDeletePage is GET /profile/<Name>/delete: the confirmation without JavaScript.
func (h *Handler) contactDeletePage(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, ok := h.kit.SignedIn(w, r)
		if !ok {
			return
		}
		h.kit.ConfirmPage(w, r, u, deleteConfirmation(templates.LangFrom(r.Context()), k))
	}
}

// contactPage is a panel's data (*emailPage, *phonePage).
type contactPage interface{ panel() *contactPanel }

// fillPanel sets up p for userID: the pending value if a code is waiting, and whether the
// session must log in again before changing anything.
func (h *Handler) fillPanel(ctx context.Context, k contactKind, userID string, s storage.Session, p *contactPanel) error {
	p.Errors = map[string]string{}
	v, err := h.store.GetVerification(ctx, userID, k.spec().Kind)
	switch {
	case err == nil && h.now().Before(v.ExpiresAt):
		p.Pending, p.Shown = v.Value, v.Value
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("get verification: %w", err)
	}
	if h.kit.NeedsReauth(s) {
		p.Reauth, p.ReauthURL = true, profile.ReauthURL(k.spec().path())
	}
	return nil
}

// sendCode stores a new code for value and hands it to send; when sending fails the code is
// removed again, so the user can try again at once.
func (h *Handler) sendCode(ctx context.Context, k contactKind, userID, value, channel string, send func(p pending) error) error {
	p, err := h.startVerification(ctx, userID, k.spec().Kind, value, channel, k.spec().TTL, k.spec().Link)
	if err != nil {
		return err
	}
	if err := send(p); err != nil {
		h.abandon(ctx, p)
		h.logger.ErrorContext(ctx, "send "+k.spec().Name+" code", "user_id", userID, "channel", channel, "err", err)
		return profile.Refuse(http.StatusServiceUnavailable, "temporarily_unavailable", k.spec().msg("send_failed"))
	}
	return nil
}

// confirmContact makes a confirmed verification the account's value: it uses the code up and
// saves the value in one transaction (the unique index on verified values settles a race
// between two accounts), then records the change and tells the account.
func (h *Handler) confirmContact(ctx context.Context, o profile.Origin, k contactKind, v storage.Verification, clientID string) error {
	var res saved
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.store.ConsumeVerification(ctx, v); errors.Is(err, storage.ErrNotFound) {
			return profile.Refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
		} else if err != nil {
			return fmt.Errorf("consume verification: %w", err)
		}
		if err := k.free(ctx, v.UserID, v.Value); err != nil {
			return err
		}
		var err error
		res, err = k.save(ctx, v)
		return err
	})
	if err != nil {
		return err
	}
	category := k.spec().Changed
	if res.same && k.spec().Verified != "" {
		category = k.spec().Verified
	}
	h.events.Record(ctx, o, v.UserID, profile.Event{Category: category, ClientID: clientID})
	k.changed(ctx, v.UserID, res.old, v.Value)
	if len(res.losers) > 0 {
		k.lost(ctx, v.Value, res.losers)
	}
	return nil
}

// deleteContact removes the account's value and any pending one, records it and tells the
// account.
func (h *Handler) deleteContact(ctx context.Context, o profile.Origin, k contactKind, u storage.User, clientID string) error {
	old, err := k.current(ctx, u)
	if err != nil {
		return err
	}
	if old == "" {
		return profile.Refuse(http.StatusNotFound, "not_found", k.spec().msg("none"))
	}
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		if err := k.clear(ctx, u.ID); err != nil {
			return err
		}
		return h.store.DeleteVerification(ctx, u.ID, k.spec().Kind)
	})
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, u.ID, profile.Event{Category: k.spec().Deleted, ClientID: clientID})
	k.deleted(ctx, u.ID, old)
	return nil
}

// contactPageHandler shows k's panel, with the notice of the step just done.
func (h *Handler) contactPageHandler(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.kit.SignedIn(w, r)
		if !ok {
			return
		}
		page, err := k.page(r.Context(), u, s, nil)
		if err != nil {
			h.kit.ServerError(w, r, k.spec().Name+" page", err)
			return
		}
		p := page.panel()
		p.Delete = deleteConfirmation(templates.LangFrom(r.Context()), k)
		switch done := r.URL.Query().Get("done"); done {
		case "sent":
			p.Notice = templates.Tr(r.Context(), k.spec().msg("sent"), p.Shown)
		case "saved", "deleted":
			p.Notice = templates.Tr(r.Context(), k.spec().msg(done))
		}
		h.kit.RenderAccount(w, r, http.StatusOK, "contacts_"+k.spec().Name, "/profile", u, page)
	}
}

// contactFail shows k's panel again with err's message next to its field (or on top),
// keeping what form held.
func (h *Handler) contactFail(w http.ResponseWriter, r *http.Request, k contactKind, u storage.User, s storage.Session, form url.Values, err error) {
	ce, ok := profile.AsError(err)
	if !ok {
		h.kit.ServerError(w, r, k.spec().Name+" change", err)
		return
	}
	page, perr := k.page(r.Context(), u, s, form)
	if perr != nil {
		h.kit.ServerError(w, r, k.spec().Name+" page", perr)
		return
	}
	p := page.panel()
	p.Delete = deleteConfirmation(templates.LangFrom(r.Context()), k)
	if ce.Field != "" {
		p.Errors[ce.Field] = ce.Text(templates.LangFrom(r.Context()))
	} else {
		p.Alert = ce.Text(templates.LangFrom(r.Context()))
	}
	profile.SetRetryAfter(w, ce)
	h.kit.RenderAccount(w, r, ce.Status, "contacts_"+k.spec().Name, "/profile", u, page)
}

// contactForm reads a posted panel form: a signed-in user and a parsed form, and when
// recent, a login recent enough to change a contact (else it redirects to the login page).
func (h *Handler) contactForm(w http.ResponseWriter, r *http.Request, k contactKind, recent bool) (storage.User, storage.Session, bool) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return u, s, false
	}
	if recent && h.kit.NeedsReauth(s) {
		http.Redirect(w, r, profile.ReauthURL(k.spec().path()), http.StatusSeeOther)
		return u, s, false
	}
	return u, s, true
}

// contactDone answers a panel form: the panel again with err's message (keeping what form
// held), or after success back to the panel with the notice of done.
func (h *Handler) contactDone(w http.ResponseWriter, r *http.Request, k contactKind, u storage.User, s storage.Session, form url.Values, err error, done string) {
	if err != nil {
		h.contactFail(w, r, k, u, s, form, err)
		return
	}
	http.Redirect(w, r, k.spec().path()+"?done="+done, http.StatusSeeOther)
}

// contactStart is the panel's form that sends a code.
func (h *Handler) contactStart(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.contactForm(w, r, k, true)
		if !ok {
			return
		}
		_, err := k.start(r.Context(), u, r.PostForm)
		h.contactDone(w, r, k, u, s, r.PostForm, err, "sent")
	}
}

// contactVerify is the panel's form that confirms a code.
func (h *Handler) contactVerify(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.contactForm(w, r, k, false)
		if !ok {
			return
		}
		ctx := r.Context()
		v, err := h.checkCode(ctx, u.ID, k.spec().Kind, r.PostForm.Get("code"))
		if err == nil {
			err = h.confirmContact(ctx, h.kit.Origin(r), k, v, "")
		}
		h.contactDone(w, r, k, u, s, nil, err, "saved")
	}
}

// contactDelete is the panel's delete button.
func (h *Handler) contactDelete(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.contactForm(w, r, k, true)
		if !ok {
			return
		}
		err := h.deleteContact(r.Context(), h.kit.Origin(r), k, u, "")
		h.contactDone(w, r, k, u, s, nil, err, "deleted")
	}
}

// apiContactStart answers a decoded start call: 202 {"status":"code_sent", <Field>,
// "expires_in"}.
func (h *Handler) apiContactStart(w http.ResponseWriter, r *http.Request, k contactKind, form url.Values) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	value, err := k.start(r.Context(), c.User, form)
	if err != nil {
		h.kit.APIError(w, r, k.spec().Name+" change", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusAccepted, map[string]any{"status": "code_sent", k.spec().Field: value, "expires_in": int(k.spec().TTL / time.Second)})
}

// apiContactVerify: POST /api/account/<Name>/verify {"code"} → 200 {<Field>, "verified":true}.
func (h *Handler) apiContactVerify(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := profile.CallerFrom(r.Context())
		var body struct {
			Code string `json:"code"`
		}
		if !profile.DecodeJSON(w, r, &body) {
			return
		}
		ctx := r.Context()
		v, err := h.checkCode(ctx, c.User.ID, k.spec().Kind, body.Code)
		if err == nil {
			err = h.confirmContact(ctx, h.kit.Origin(r), k, v, c.ClientID)
		}
		if err != nil {
			h.kit.APIError(w, r, k.spec().Name+" verify", err)
			return
		}
		h.kit.WriteJSON(w, r, http.StatusOK, map[string]any{k.spec().Field: v.Value, "verified": true})
	}
}

// apiContactDelete: DELETE /api/account/<Name> → 204.
func (h *Handler) apiContactDelete(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := profile.CallerFrom(r.Context())
		if h.kit.APIReauth(w, r, c) {
			return
		}
		if err := h.deleteContact(r.Context(), h.kit.Origin(r), k, c.User, c.ClientID); err != nil {
			h.kit.APIError(w, r, k.spec().Name+" delete", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}
