package mfa

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// The factors in the personal account: the authenticator app's setup and removal and the
// recovery codes, as pages (from the Security block of /profile) and as the account API.
// Every change needs a recent sign-in (recent_auth), which a second factor satisfies
// (the login form sends a signed-in account with a factor to the second step).
const (
	PathTOTP          = "/profile/security/totp"
	PathTOTPVerify    = "/profile/security/totp/verify"
	PathTOTPRemove    = "/profile/security/totp/remove"
	PathRecoveryCodes = "/profile/security/recovery-codes"
	securityBlock     = "/profile#security"
)

// PasskeyInfo is one passkey as GET /api/account/mfa lists it.
type PasskeyInfo struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (h *Handler) factorRoutes(r, api *mux.Router) {
	r.HandleFunc(PathTOTP, h.totpIntro).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathTOTP, h.totpStart).Methods(http.MethodPost)
	r.HandleFunc(PathTOTPVerify, h.totpVerify).Methods(http.MethodPost)
	r.HandleFunc(PathTOTPRemove, h.totpRemoveForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathTOTPRemove, h.totpRemove).Methods(http.MethodPost)
	r.HandleFunc(PathRecoveryCodes, h.codesIntro).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathRecoveryCodes, h.codesNew).Methods(http.MethodPost)

	api.HandleFunc("/mfa", h.apiFactors).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/mfa/totp", h.apiTOTPStart).Methods(http.MethodPost)
	api.HandleFunc("/mfa/totp/verify", h.apiTOTPVerify).Methods(http.MethodPost)
	api.HandleFunc("/mfa/totp", h.apiTOTPDelete).Methods(http.MethodDelete)
	api.HandleFunc("/mfa/recovery-codes", h.apiCodesNew).Methods(http.MethodPost)
}

// factorPage is the data of the factor pages (mfa_totp.html, mfa_remove.html,
// mfa_recovery.html).
type factorPage struct {
	Sidebar profile.Sidebar
	// Setup is the authenticator app being set up (mfa_totp.html after Start); empty: the
	// introduction with its Start button.
	Setup   *TOTPSetup
	Errors  map[string]string
	Left    int  // recovery codes left
	HasTOTP bool // the authenticator app is set up (mfa_remove.html: nothing to remove)
}

// account is the signed-in user of a factor page, with the recent sign-in a change needs;
// on false it has answered (login, reauth, error).
func (h *Handler) account(w http.ResponseWriter, r *http.Request, back string) (storage.User, profile.Sidebar, bool) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return storage.User{}, profile.Sidebar{}, false
	}
	if h.kit.NeedsReauth(s) {
		http.Redirect(w, r, profile.ReauthURL(back), http.StatusSeeOther)
		return storage.User{}, profile.Sidebar{}, false
	}
	a, err := h.kit.LoadAccount(r.Context(), u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return storage.User{}, profile.Sidebar{}, false
	}
	return u, profile.NewSidebar(a, "/profile"), true
}

func (h *Handler) totpIntro(w http.ResponseWriter, r *http.Request) {
	u, sb, ok := h.account(w, r, PathTOTP)
	if !ok {
		return
	}
	if t, err := h.store.GetTOTP(r.Context(), u.ID); err == nil && t.Confirmed {
		http.Redirect(w, r, securityBlock, http.StatusSeeOther)
		return
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.kit.ServerError(w, r, "get totp", err)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_totp", sb, factorPage{Sidebar: sb, Errors: map[string]string{}})
}

// totpStart makes a new secret and shows its QR code and the field for the first code.
func (h *Handler) totpStart(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	u, sb, ok := h.account(w, r, PathTOTP)
	if !ok {
		return
	}
	setup, err := h.beginTOTP(r.Context(), u)
	if errors.Is(err, ErrTOTPExists) {
		http.Redirect(w, r, securityBlock, http.StatusSeeOther)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "begin totp", err)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_totp", sb, factorPage{Sidebar: sb, Setup: &setup, Errors: map[string]string{}})
}

// totpVerify takes the first code: it confirms the app; for the account's first factor the
// recovery codes are made and shown once.
func (h *Handler) totpVerify(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	u, sb, ok := h.account(w, r, PathTOTP)
	if !ok {
		return
	}
	ctx := r.Context()
	codes, err := h.confirmTOTP(r, u, r.PostForm.Get("code"))
	switch {
	case errors.Is(err, ErrNoTOTP):
		http.Redirect(w, r, PathTOTP, http.StatusSeeOther)
		return
	case errors.Is(err, ErrTOTPExists):
		http.Redirect(w, r, securityBlock, http.StatusSeeOther)
		return
	case errors.Is(err, ErrBadCode), errors.Is(err, ErrCodeUsed):
		setup, perr := h.pendingTOTP(ctx, u)
		if perr != nil {
			h.kit.ServerError(w, r, "pending totp", perr)
			return
		}
		h.kit.RenderSidebar(w, r, http.StatusUnprocessableEntity, "mfa_totp", sb, factorPage{Sidebar: sb, Setup: &setup,
			Errors: map[string]string{"code": templates.Tr(ctx, "mfa.code_wrong")}})
		return
	case err != nil:
		h.kit.ServerError(w, r, "confirm totp", err)
		return
	}
	if codes == nil {
		http.Redirect(w, r, "/profile?notice=totp_enabled#security", http.StatusSeeOther)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_codes", sb, codesPage{Codes: codes, Next: securityBlock})
}

// confirmTOTP checks the first code of u's app being set up and confirms it; for the first
// factor of the account it returns the new recovery codes, else nil. ErrBadCode for a wrong
// code; a code of a confirmed app is ErrTOTPExists.
func (h *Handler) confirmTOTP(r *http.Request, u storage.User, code string) ([]string, error) {
	ctx := r.Context()
	t, err := h.store.GetTOTP(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoTOTP
	}
	if err != nil {
		return nil, err
	}
	if t.Confirmed {
		return nil, ErrTOTPExists
	}
	first, err := h.firstFactor(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if err := h.checkTOTP(ctx, u.ID, code, false); err != nil {
		return nil, err
	}
	h.events.Record(ctx, h.kit.Origin(r), u.ID, profile.Event{Category: profile.CategoryMFAEnabled,
		Details: map[string]string{"factor": "totp"}})
	h.kit.AccountNotice(ctx, u.ID, "mfa.notice.enabled.subject", "mfa.notice.enabled.text")
	if !first {
		return nil, nil
	}
	return h.newRecoveryCodes(ctx, u.ID)
}

// firstFactor reports whether userID has no confirmed factor and no recovery codes yet (the
// next factor set up is the first, and brings the recovery codes).
func (h *Handler) firstFactor(ctx context.Context, userID string) (bool, error) {
	has, err := h.HasFactor(ctx, userID)
	if err != nil || has {
		return false, err
	}
	n, err := h.store.CountRecoveryCodes(ctx, userID)
	return n == 0, err
}

func (h *Handler) totpRemoveForm(w http.ResponseWriter, r *http.Request) {
	u, sb, ok := h.account(w, r, PathTOTPRemove)
	if !ok {
		return
	}
	t, err := h.store.GetTOTP(r.Context(), u.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.kit.ServerError(w, r, "get totp", err)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_remove", sb, factorPage{Sidebar: sb, HasTOTP: err == nil && t.Confirmed})
}

// totpRemove removes the app when the form confirms it; the Security block's button (no
// confirm field) shows the confirmation first.
func (h *Handler) totpRemove(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.totpRemoveForm(w, r)
		return
	}
	u, _, ok := h.account(w, r, PathTOTPRemove)
	if !ok {
		return
	}
	if err := h.removeTOTP(r, u.ID); err != nil {
		h.kit.ServerError(w, r, "remove totp", err)
		return
	}
	http.Redirect(w, r, "/profile?notice=totp_removed#security", http.StatusSeeOther)
}

// removeTOTP removes userID's authenticator app; with it went the last factor, the recovery
// codes go too (they recover a second factor, and there is none left).
func (h *Handler) removeTOTP(r *http.Request, userID string) error {
	ctx := r.Context()
	t, err := h.store.GetTOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.store.DeleteTOTP(ctx, userID); err != nil {
		return err
	}
	has, err := h.HasFactor(ctx, userID)
	if err != nil {
		return err
	}
	if !has {
		if err := h.store.DeleteRecoveryCodes(ctx, userID); err != nil {
			return err
		}
	}
	if t.Confirmed {
		h.events.Record(ctx, h.kit.Origin(r), userID, profile.Event{Category: profile.CategoryMFADisabled,
			Details: map[string]string{"factor": "totp"}})
		h.kit.AccountNotice(ctx, userID, "mfa.notice.disabled.subject", "mfa.notice.disabled.text")
	}
	return nil
}

func (h *Handler) codesIntro(w http.ResponseWriter, r *http.Request) {
	u, sb, ok := h.account(w, r, PathRecoveryCodes)
	if !ok {
		return
	}
	n, err := h.store.CountRecoveryCodes(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "count recovery codes", err)
		return
	}
	has, err := h.HasFactor(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "factors", err)
		return
	}
	if !has {
		http.Redirect(w, r, securityBlock, http.StatusSeeOther)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_recovery", sb, factorPage{Sidebar: sb, Left: n})
}

// codesNew makes new recovery codes when the form confirms it; the Security block's button
// (no confirm field) shows what that does first.
func (h *Handler) codesNew(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.codesIntro(w, r)
		return
	}
	u, sb, ok := h.account(w, r, PathRecoveryCodes)
	if !ok {
		return
	}
	codes, err := h.regenerateCodes(r, u.ID)
	if errors.Is(err, errNoFactor) {
		http.Redirect(w, r, securityBlock, http.StatusSeeOther)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "recovery codes", err)
		return
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "mfa_codes", sb, codesPage{Codes: codes, Next: securityBlock})
}

var errNoFactor = errors.New("mfa: no second factor")

// regenerateCodes replaces userID's recovery codes (the old ones stop working); only an
// account with a factor has any.
func (h *Handler) regenerateCodes(r *http.Request, userID string) ([]string, error) {
	ctx := r.Context()
	has, err := h.HasFactor(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, errNoFactor
	}
	codes, err := h.newRecoveryCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	h.events.Record(ctx, h.kit.Origin(r), userID, profile.Event{Category: profile.CategoryMFAEnabled,
		Details: map[string]string{"factor": "recovery_codes"}})
	return codes, nil
}

// factors is GET /api/account/mfa's body.
type factors struct {
	TOTP     bool          `json:"totp"`
	Passkeys []PasskeyInfo `json:"passkeys"`
	Left     int           `json:"recovery_codes_left"`
}

func (h *Handler) factorsOf(ctx context.Context, userID string) (factors, error) {
	f := factors{Passkeys: []PasskeyInfo{}}
	t, err := h.store.GetTOTP(ctx, userID)
	switch {
	case err == nil:
		f.TOTP = t.Confirmed
	case !errors.Is(err, storage.ErrNotFound):
		return f, err
	}
	if h.passkeys != nil {
		list, err := h.passkeys(ctx, userID)
		if err != nil {
			return f, err
		}
		f.Passkeys = append(f.Passkeys, list...)
	}
	f.Left, err = h.store.CountRecoveryCodes(ctx, userID)
	return f, err
}

func (h *Handler) apiFactors(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	f, err := h.factorsOf(r.Context(), c.User.ID)
	if err != nil {
		h.kit.APIServerError(w, r, "list factors", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, f)
}

func (h *Handler) apiTOTPStart(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	setup, err := h.beginTOTP(r.Context(), c.User)
	if errors.Is(err, ErrTOTPExists) {
		profile.WriteAPIError(w, http.StatusConflict, "totp_exists", templates.Tr(r.Context(), "mfa.api.totp_exists"))
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "begin totp", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, setup)
}

func (h *Handler) apiTOTPVerify(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	var body struct {
		Code string `json:"code"`
	}
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	ctx := r.Context()
	codes, err := h.confirmTOTP(r, c.User, body.Code)
	switch {
	case errors.Is(err, ErrNoTOTP):
		profile.WriteAPIError(w, http.StatusConflict, "no_totp_setup", templates.Tr(ctx, "mfa.api.no_setup"))
	case errors.Is(err, ErrTOTPExists):
		profile.WriteAPIError(w, http.StatusConflict, "totp_exists", templates.Tr(ctx, "mfa.api.totp_exists"))
	case errors.Is(err, ErrBadCode), errors.Is(err, ErrCodeUsed):
		profile.WriteAPIErrorFields(w, http.StatusUnprocessableEntity, "invalid_code", templates.Tr(ctx, "mfa.code_wrong"),
			map[string]string{"code": templates.Tr(ctx, "mfa.code_wrong")})
	case err != nil:
		h.kit.APIServerError(w, r, "confirm totp", err)
	case codes == nil:
		h.kit.WriteJSON(w, r, http.StatusOK, struct{}{})
	default:
		h.kit.WriteJSON(w, r, http.StatusOK, struct {
			Codes []string `json:"recovery_codes"`
		}{codes})
	}
}

func (h *Handler) apiTOTPDelete(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	if err := h.removeTOTP(r, c.User.ID); err != nil {
		h.kit.APIServerError(w, r, "remove totp", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiCodesNew(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	codes, err := h.regenerateCodes(r, c.User.ID)
	if errors.Is(err, errNoFactor) {
		profile.WriteAPIError(w, http.StatusConflict, "no_second_factor", templates.Tr(r.Context(), "mfa.api.no_factor"))
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "recovery codes", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, struct {
		Codes []string `json:"recovery_codes"`
	}{codes})
}

// Security lists the factors in the Security block of /profile: the authenticator app (set
// up, or remove) and, with a factor, the recovery codes left (make new ones).
func (h *Handler) Security(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
	f, err := h.factorsOf(ctx, v.User.ID)
	if err != nil {
		return "", nil, false, err
	}
	l := templates.LangFrom(ctx)
	app := profile.SecurityItem{Title: l.T("mfa.totp.title")}
	if f.TOTP {
		app.Mark = l.T("mfa.on")
		app.Lines = []string{l.T("mfa.totp.on")}
		app.Action = &profile.ItemAction{URL: PathTOTPRemove, Label: l.T("mfa.remove"), AriaLabel: l.T("mfa.totp.remove"), Icon: "trash"}
	} else {
		app.Lines = []string{l.T("mfa.totp.off")}
		app.Action = &profile.ItemAction{URL: PathTOTP, Label: l.T("mfa.set_up"), AriaLabel: l.T("mfa.totp.set_up"), Icon: "shield"}
	}
	items := []profile.SecurityItem{app}
	if f.TOTP || len(f.Passkeys) > 0 {
		items = append(items, profile.SecurityItem{Title: l.T("mfa.codes.title"),
			Lines:  []string{l.N("mfa.codes.left", f.Left)},
			Action: &profile.ItemAction{URL: PathRecoveryCodes, Label: l.T("mfa.codes.new"), AriaLabel: l.T("mfa.codes.new"), Icon: "key"}})
	}
	return l.T("mfa.security"), items, true, nil
}
