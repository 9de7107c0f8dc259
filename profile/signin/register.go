package signin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// ErrEmailTaken: an account with this email exists.
var ErrEmailTaken = errors.New("an account with this email already exists")

// FieldError is a problem with one input a person can fix; Msg is the text to show next to
// the field (from the message catalog).
type FieldError struct {
	Field string // "email", "password", "name"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// maxNameLen bounds the optional name, in characters.
const maxNameLen = 200

// Register creates an active account with a password (the CLI's `facet users create` and the
// registration page). email is trimmed and lower-cased. name, when given, is split into the
// given_name and family_name profile fields, visible to apps only with consent
// ("on_request"). The address starts unverified. Errors a caller can show: ErrEmailTaken
// (another account holds the address, confirmed or not: an administrator creating a second
// account for one address is a mistake to point out) and *FieldError.
// The registration is recorded in the account's activity log as coming from o.
func (h *Handler) Register(ctx context.Context, o profile.Origin, email, pw, name string, admin bool) (storage.User, error) {
	u, _, err := h.createAccount(ctx, email, pw, name, admin, true)
	if err != nil {
		return storage.User{}, err
	}
	h.events.Record(ctx, o, u.ID, profile.Event{Category: profile.CategoryRegistration, Details: map[string]string{"method": "password"}})
	return u, nil
}

// createAccount is Register. With refuseTaken false (the registration page) it refuses no
// address: an unconfirmed one reserves nothing, so several accounts may hold it until one
// confirms it (storage.AccountStore); for an address another account has confirmed it
// creates the account all the same, holding the address unverified (it cannot confirm it
// while the owner keeps it), and returns the confirmed holder's id as owner, so that the page answers alike
// whether an address is taken or not.
func (h *Handler) createAccount(ctx context.Context, email, pw, name string, admin, refuseTaken bool) (u storage.User, owner string, err error) {
	email = profile.NormalizeEmail(email)
	errs := h.checkRegistration(templates.LangFrom(ctx), email, pw, name)
	for _, field := range []string{"email", "password", "name"} {
		if msg, ok := errs[field]; ok {
			return storage.User{}, "", &FieldError{Field: field, Msg: msg}
		}
	}
	// Checked before the expensive hash.
	holders, err := h.store.UsersByEmail(ctx, email, 1)
	if err != nil {
		return storage.User{}, "", fmt.Errorf("users by email: %w", err)
	}
	if len(holders) > 0 && refuseTaken {
		return storage.User{}, "", ErrEmailTaken
	}
	if len(holders) > 0 && holders[0].EmailVerified {
		owner = holders[0].ID
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return storage.User{}, "", err
	}
	now := h.now().UTC()
	u = storage.User{
		ID:           profile.NewID(),
		Email:        email,
		PasswordHash: hash,
		Admin:        admin,
		Status:       storage.UserActive,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.store.CreateUser(ctx, u); err != nil {
			// An unverified address never collides: only the id could.
			return fmt.Errorf("create user: %w", err)
		}
		fields := nameFields(u.ID, name)
		if len(fields) == 0 {
			return nil
		}
		for i := range fields {
			fields[i].UpdatedAt = now
		}
		if err := h.store.PutProfileFields(ctx, fields); err != nil {
			return fmt.Errorf("store name: %w", err)
		}
		return nil
	})
	if err != nil {
		return storage.User{}, "", err
	}
	return u, owner, nil
}

// checkRegistration returns the catalog text, in l, for each invalid field of an already
// normalized email, the password and the optional name.
func (h *Handler) checkRegistration(l templates.Lang, email, pw, name string) map[string]string {
	errs := map[string]string{}
	switch {
	case email == "":
		errs["email"] = l.T("register.email_required")
	case !profile.ValidEmail(email):
		errs["email"] = l.T("register.email_invalid")
	}
	if key := h.policy.Check(pw); key != "" {
		errs["password"] = l.T(key)
	}
	switch {
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs["name"] = l.T("register.name_invalid")
	case utf8.RuneCountInString(strings.TrimSpace(name)) > maxNameLen:
		errs["name"] = l.T("register.name_long")
	}
	return errs
}

// nameFields splits a full name into given_name (the first word) and family_name (the rest).
func nameFields(userID, name string) []storage.ProfileField {
	words := strings.Fields(name)
	if len(words) == 0 {
		return nil
	}
	fields := []storage.ProfileField{{UserID: userID, Field: "given_name", Value: words[0], Privacy: "on_request"}}
	if len(words) > 1 {
		fields = append(fields, storage.ProfileField{UserID: userID, Field: "family_name", Value: strings.Join(words[1:], " "), Privacy: "on_request"})
	}
	return fields
}

// registerPage is register.html's data. The password is never sent back.
type registerPage struct {
	ReturnTo string
	AppName  string
	Name     string
	Email    string
	Alert    string
	Errors   map[string]string
	LoginURL string
}

func (h *Handler) newRegisterPage(ctx context.Context, returnTo string) registerPage {
	return registerPage{
		ReturnTo: returnTo,
		AppName:  h.appName(ctx, returnTo),
		Errors:   map[string]string{},
		LoginURL: profile.WithReturnTo("/login", returnTo),
	}
}

// registerForm shows the registration form.
func (h *Handler) registerForm(w http.ResponseWriter, r *http.Request) {
	returnTo := profile.SafeReturnTo(r.URL.Query().Get("return_to"))
	page := h.newRegisterPage(r.Context(), returnTo)
	// A link may propose the address (an invitation names the invited one).
	if e := strings.TrimSpace(r.URL.Query().Get("email")); profile.ValidEmail(e) {
		page.Email = e
	}
	h.kit.Render(w, r, http.StatusOK, "register", page)
}

// register creates the account, logs the new user in and goes on to return_to.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	r = h.kit.FormLanguage(r)
	ctx := r.Context()
	page := h.newRegisterPage(ctx, profile.SafeReturnTo(r.PostForm.Get("return_to")))
	page.Name = strings.TrimSpace(r.PostForm.Get("name"))
	page.Email = strings.TrimSpace(r.PostForm.Get("email"))
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("confirm")

	// Registration costs a password hash and may mail an account's owner: throttled per IP
	// like login.
	retry, err := h.kit.Hit(ctx, h.limits.RegisterCounter(h.kit.Origin(r).IP))
	if err != nil {
		h.kit.ServerError(w, r, "count registration", err)
		return
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		page.Alert = profile.ThrottleMessage(templates.LangFrom(r.Context()), retry)
		h.kit.Render(w, r, http.StatusTooManyRequests, "register", page)
		return
	}

	page.Errors = h.checkRegistration(templates.LangFrom(r.Context()), profile.NormalizeEmail(page.Email), pw, page.Name)
	if _, bad := page.Errors["password"]; !bad && confirm != pw {
		page.Errors["confirm"] = templates.Tr(r.Context(), "register.confirm_mismatch")
	}
	if len(page.Errors) > 0 {
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "register", page)
		return
	}
	// An address another account has confirmed is not refused here: the answer would tell
	// anyone which addresses have accounts (OWASP ASVS 5.0 V6.3.8). The new account holds it
	// unverified and cannot confirm it; the owner is told instead.
	u, owner, err := h.createAccount(ctx, page.Email, pw, page.Name, false, false)
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		page.Errors[fe.Field] = fe.Msg
		h.kit.Render(w, r, http.StatusUnprocessableEntity, "register", page)
		return
	case err != nil:
		h.kit.ServerError(w, r, "register", err)
		return
	}
	if !h.signedIn(w, r, u.ID, profile.CategoryRegistration, flowClientID(page.ReturnTo, page.AppName)) {
		return
	}
	h.logger.InfoContext(ctx, "registered", "user_id", u.ID)
	if owner != "" {
		h.logger.InfoContext(ctx, "registered with an address another account confirmed", "user_id", u.ID)
		if err := h.kit.OwnerNotice(ctx, owner, u.Email, "contacts.mail.registered.subject", "contacts.mail.registered.text"); err != nil {
			h.logger.ErrorContext(ctx, "notice the owner of a registered address", "user_id", owner, "err", err)
		}
	}
	http.Redirect(w, r, page.ReturnTo, http.StatusSeeOther)
}
