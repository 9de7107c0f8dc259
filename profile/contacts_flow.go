package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The flow every contact confirmed with a code goes through, written once for the email
// address (contacts_email.go) and the phone number (contacts_phone.go): send a code, check
// it, apply the confirmed value, delete it; and the panel and JSON handlers around them. A
// contactKind holds what differs between the two.

// contactKind describes one kind of contact. Its messages are the catalog's
// "contacts.<Name>.*" keys.
type contactKind struct {
	Kind    string        // storage.ContactEmail or storage.ContactPhone
	Name    string        // "email", "phone": the panel's path, its template, messages and logs
	Field   string        // the value's form field and JSON member
	TTL     time.Duration // how long a code lives
	Link    bool          // the code mail also carries a one-click link
	Changed string        // the event recorded when a value is confirmed
	Deleted string        // the event recorded when the value is deleted

	// start checks the value typed into form and sends a code for it; it returns the value
	// as normalised.
	start func(h *Handler, ctx context.Context, u storage.User, form url.Values) (string, error)
	// free refuses a value another account holds.
	free func(h *Handler, ctx context.Context, userID, value string) error
	// save makes a confirmed value the account's, inside the confirming transaction, and
	// returns the one it replaced if the notice needs it, and the accounts that held the
	// value unverified and lost it.
	save func(h *Handler, ctx context.Context, v storage.Verification) (old string, losers []string, err error)
	// lost tells the accounts that lost value to the one that confirmed it; nil when no
	// account holds an unconfirmed value of this kind.
	lost func(h *Handler, ctx context.Context, value string, losers []string)
	// current is the account's value, "" for none.
	current func(h *Handler, ctx context.Context, u storage.User) (string, error)
	// clear removes the account's value, inside the deleting transaction.
	clear func(h *Handler, ctx context.Context, userID string) error
	// changed and deleted tell the account about a change; a failure is logged only.
	changed func(h *Handler, ctx context.Context, userID, old, value string)
	deleted func(h *Handler, ctx context.Context, userID, old string)
	// page builds the panel for u, keeping what form held when it is shown again.
	page func(h *Handler, ctx context.Context, u storage.User, s storage.Session, form url.Values) (contactPage, error)
}

// msg is the catalog key of one of k's messages.
func (k contactKind) msg(name string) string { return "contacts." + k.Name + "." + name }

// path is k's panel.
func (k contactKind) path() string { return "/profile/" + k.Name }

// taken refuses a value that belongs to another account (one verified value, one account).
func (k contactKind) taken() *contactError {
	return &contactError{Status: http.StatusConflict, Code: k.Name + "_taken", Msg: k.msg("taken"), Field: k.Field}
}

// contactPanel is what the email and phone panels share.
type contactPanel struct {
	Pending   string // value waiting for its code
	Errors    map[string]string
	Alert     string
	Notice    string
	Reauth    bool
	ReauthURL string
}

func (p *contactPanel) panel() *contactPanel { return p }

// contactPage is a panel's data (*emailPage, *phonePage).
type contactPage interface{ panel() *contactPanel }

// fillPanel sets up p for userID: the pending value if a code is waiting, and whether the
// session must log in again before changing anything.
func (h *Handler) fillPanel(ctx context.Context, k contactKind, userID string, s storage.Session, p *contactPanel) error {
	p.Errors = map[string]string{}
	v, err := h.Store.GetVerification(ctx, userID, k.Kind)
	switch {
	case err == nil && h.Now().Before(v.ExpiresAt):
		p.Pending = v.Value
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("get verification: %w", err)
	}
	if h.needsReauth(s) {
		p.Reauth, p.ReauthURL = true, reauthURL(k.path())
	}
	return nil
}

// sendCode stores a new code for value and hands it to send; when sending fails the code is
// removed again, so the user can try again at once.
func (h *Handler) sendCode(ctx context.Context, k contactKind, userID, value, channel string, send func(p pending) error) error {
	p, err := h.startVerification(ctx, userID, k.Kind, value, channel, k.TTL, k.Link)
	if err != nil {
		return err
	}
	if err := send(p); err != nil {
		h.abandon(ctx, p)
		h.Logger.ErrorContext(ctx, "send "+k.Name+" code", "user_id", userID, "channel", channel, "err", err)
		return refuse(http.StatusServiceUnavailable, "temporarily_unavailable", k.msg("send_failed"))
	}
	return nil
}

// confirmContact makes a confirmed verification the account's value: it uses the code up and
// saves the value in one transaction (the unique index on verified values settles a race
// between two accounts), then records the change and tells the account.
func (h *Handler) confirmContact(ctx context.Context, r *http.Request, k contactKind, v storage.Verification, clientID string) error {
	var (
		old    string
		losers []string
	)
	err := h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.ConsumeVerification(ctx, v); errors.Is(err, storage.ErrNotFound) {
			return refuse(http.StatusNotFound, "no_pending_verification", "contacts.code.none")
		} else if err != nil {
			return fmt.Errorf("consume verification: %w", err)
		}
		if err := k.free(h, ctx, v.UserID, v.Value); err != nil {
			return err
		}
		var err error
		old, losers, err = k.save(h, ctx, v)
		return err
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, v.UserID, Event{Category: k.Changed, ClientID: clientID})
	k.changed(h, ctx, v.UserID, old, v.Value)
	if k.lost != nil && len(losers) > 0 {
		k.lost(h, ctx, v.Value, losers)
	}
	return nil
}

// deleteContact removes the account's value and any pending one, records it and tells the
// account.
func (h *Handler) deleteContact(ctx context.Context, r *http.Request, k contactKind, u storage.User, clientID string) error {
	old, err := k.current(h, ctx, u)
	if err != nil {
		return err
	}
	if old == "" {
		return refuse(http.StatusNotFound, "not_found", k.msg("none"))
	}
	err = h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := k.clear(h, ctx, u.ID); err != nil {
			return err
		}
		return h.Store.DeleteVerification(ctx, u.ID, k.Kind)
	})
	if err != nil {
		return err
	}
	h.Record(ctx, r, u.ID, Event{Category: k.Deleted, ClientID: clientID})
	k.deleted(h, ctx, u.ID, old)
	return nil
}

// contactPageHandler shows k's panel, with the notice of the step just done.
func (h *Handler) contactPageHandler(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.signedIn(w, r)
		if !ok {
			return
		}
		page, err := k.page(h, r.Context(), u, s, nil)
		if err != nil {
			h.serverError(w, r, k.Name+" page", err)
			return
		}
		p := page.panel()
		switch done := r.URL.Query().Get("done"); done {
		case "sent":
			p.Notice = templates.T(k.msg("sent"), p.Pending)
		case "saved", "deleted":
			p.Notice = templates.T(k.msg(done))
		}
		h.render(w, r, http.StatusOK, "contacts_"+k.Name, page)
	}
}

// contactFail shows k's panel again with err's message next to its field (or on top),
// keeping what form held.
func (h *Handler) contactFail(w http.ResponseWriter, r *http.Request, k contactKind, u storage.User, s storage.Session, form url.Values, err error) {
	ce, ok := asContactError(err)
	if !ok {
		h.serverError(w, r, k.Name+" change", err)
		return
	}
	page, perr := k.page(h, r.Context(), u, s, form)
	if perr != nil {
		h.serverError(w, r, k.Name+" page", perr)
		return
	}
	p := page.panel()
	if ce.Field != "" {
		p.Errors[ce.Field] = ce.Text()
	} else {
		p.Alert = ce.Text()
	}
	setRetryAfter(w, ce)
	h.render(w, r, ce.Status, "contacts_"+k.Name, page)
}

// contactForm reads a posted panel form: a signed-in user and a parsed form, and when
// recent, a login recent enough to change a contact (else it redirects to the login page).
func (h *Handler) contactForm(w http.ResponseWriter, r *http.Request, k contactKind, recent bool) (storage.User, storage.Session, bool) {
	u, s, ok := h.signedIn(w, r)
	if !ok || !h.parseForm(w, r) {
		return u, s, false
	}
	if recent && h.needsReauth(s) {
		http.Redirect(w, r, reauthURL(k.path()), http.StatusSeeOther)
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
	http.Redirect(w, r, k.path()+"?done="+done, http.StatusSeeOther)
}

// contactStart is the panel's form that sends a code.
func (h *Handler) contactStart(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.contactForm(w, r, k, true)
		if !ok {
			return
		}
		_, err := k.start(h, r.Context(), u, r.PostForm)
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
		v, err := h.checkCode(ctx, u.ID, k.Kind, r.PostForm.Get("code"))
		if err == nil {
			err = h.confirmContact(ctx, r, k, v, "")
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
		err := h.deleteContact(r.Context(), r, k, u, "")
		h.contactDone(w, r, k, u, s, nil, err, "deleted")
	}
}

// apiContactStart answers a decoded start call: 202 {"status":"code_sent", <Field>,
// "expires_in"}.
func (h *Handler) apiContactStart(w http.ResponseWriter, r *http.Request, k contactKind, form url.Values) {
	c := apiCaller(r.Context())
	if h.apiReauth(w, r, c) {
		return
	}
	value, err := k.start(h, r.Context(), c.User, form)
	if err != nil {
		h.writeContactAPIError(w, r, k.Name+" change", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent", k.Field: value, "expires_in": int(k.TTL / time.Second)})
}

// apiContactVerify: POST /api/account/<Name>/verify {"code"} → 200 {<Field>, "verified":true}.
func (h *Handler) apiContactVerify(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := apiCaller(r.Context())
		var body struct {
			Code string `json:"code"`
		}
		if !decodeJSON(w, r, &body) {
			return
		}
		ctx := r.Context()
		v, err := h.checkCode(ctx, c.User.ID, k.Kind, body.Code)
		if err == nil {
			err = h.confirmContact(ctx, r, k, v, c.ClientID)
		}
		if err != nil {
			h.writeContactAPIError(w, r, k.Name+" verify", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{k.Field: v.Value, "verified": true})
	}
}

// apiContactDelete: DELETE /api/account/<Name> → 204.
func (h *Handler) apiContactDelete(k contactKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := apiCaller(r.Context())
		if h.apiReauth(w, r, c) {
			return
		}
		if err := h.deleteContact(r.Context(), r, k, c.User, c.ClientID); err != nil {
			h.writeContactAPIError(w, r, k.Name+" delete", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}
