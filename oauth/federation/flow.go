package federation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/oauth2"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

const (
	// flowLifetime bounds a round trip to the provider (and the pending link after it).
	flowLifetime = 15 * time.Minute
	flowCookie   = "facet_federation"
	linkCookie   = "facet_federation_link"
	flowPath     = "/login/methods/"
)

// flowState is what the flow cookie binds to the browser: the method, state, nonce and PKCE
// verifier sent to the provider, where to go afterwards, and for a link the user asking.
type flowState struct {
	Method   string `json:"m"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	LinkUser string `json:"u,omitempty"`
}

// pendingLink is an upstream account whose email belongs to an existing Facet account: it is
// linked only after the person signs in to that account (never silently).
type pendingLink struct {
	Method   string  `json:"m"`
	Profile  Profile `json:"p"`
	UserID   string  `json:"u"`
	ReturnTo string  `json:"r"`
}

func (h *Handler) setCookie(w http.ResponseWriter, name, path string, v any) error {
	enc, err := h.cookies.Encode(name, v)
	if err != nil {
		return fmt.Errorf("encode %s cookie: %w", name, err)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: enc, Path: path, MaxAge: int(flowLifetime / time.Second),
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

func (h *Handler) readCookie(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	return h.cookies.Decode(name, c.Value, v) == nil
}

func (h *Handler) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// fail shows a readable error page: what went wrong (a catalog message key prefix with
// .title, .message and .next) and a reference id; the detail goes to the log only.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, key string, err error) {
	id := profile.RequestID(w, r)
	if err != nil {
		h.logger.WarnContext(r.Context(), "upstream sign-in", "outcome", key, "err", err)
	}
	l := templates.LangFrom(r.Context())
	h.kit.Render(w, r, status, "error", templates.ErrorPage{Status: status, Title: l.T(key + ".title"),
		Message: l.T(key + ".message"), Next: l.T(key + ".next"), RequestID: id})
}

// method loads a login method by id; a missing one has been answered with 404.
func (h *Handler) method(w http.ResponseWriter, r *http.Request, id string) (storage.LoginMethod, bool) {
	m, err := h.store.GetLoginMethod(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return m, false
	}
	if err != nil {
		h.kit.ServerError(w, r, "get login method", err)
		return m, false
	}
	return m, true
}

// start (GET /login/methods/{id}) sends the browser to the provider: authorization code with
// PKCE S256, state and (OIDC) nonce bound to this browser by the flow cookie (RFC 9700 §2.1,
// §4.7). Only login-page methods sign in; public ones are for linking.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	m, ok := h.method(w, r, mux.Vars(r)["id"])
	if !ok {
		return
	}
	if !m.LoginPage && !m.Public {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	h.redirect(w, r, m, profile.SafeReturnTo(r.URL.Query().Get("return_to")), "")
}

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, m storage.LoginMethod, returnTo, linkUser string) {
	ep, err := h.eps.get(r.Context(), h.client, h.cfg.Secret, h.cfg.Issuer, m)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, "federation.err.unreachable", err)
		return
	}
	st := flowState{Method: m.ID, State: rand.Text(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo, LinkUser: linkUser}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier)}
	if ep.verifier != nil {
		st.Nonce = rand.Text()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", st.Nonce))
	}
	if err := h.setCookie(w, flowCookie, flowPath, st); err != nil {
		h.kit.ServerError(w, r, "flow cookie", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ep.conf.AuthCodeURL(st.State, opts...), http.StatusSeeOther)
}

// callback (GET /login/methods/{id}/callback) checks the answer against the flow cookie,
// redeems the code and goes on to sign in, register or link.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	var st flowState
	found := h.readCookie(r, flowCookie, &st)
	h.clearCookie(w, flowCookie, flowPath)
	w.Header().Set("Cache-Control", "no-store")
	id := mux.Vars(r)["id"]
	q := r.URL.Query()
	if !found || st.Method != id {
		h.fail(w, r, http.StatusBadRequest, "federation.err.state", errors.New("no flow cookie for this method"))
		return
	}
	if !equal(q.Get("state"), st.State) {
		h.fail(w, r, http.StatusBadRequest, "federation.err.state", errors.New("state mismatch"))
		return
	}
	m, ok := h.method(w, r, id)
	if !ok {
		return
	}
	// RFC 9207: an iss in the response must be the provider's (mix-up defence).
	if iss := q.Get("iss"); iss != "" && m.Type == storage.MethodOIDC && strings.TrimSuffix(iss, "/") != m.Issuer {
		h.fail(w, r, http.StatusBadRequest, "federation.err.upstream", fmt.Errorf("iss %q is not the method's issuer", iss))
		return
	}
	if e := q.Get("error"); e != "" {
		key := "federation.err.upstream"
		if e == "access_denied" {
			key = "federation.err.denied"
		}
		h.fail(w, r, http.StatusBadRequest, key, fmt.Errorf("%w: %.100q", errUpstreamDenied, e))
		return
	}
	ep, err := h.eps.get(r.Context(), h.client, h.cfg.Secret, h.cfg.Issuer, m)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, "federation.err.unreachable", err)
		return
	}
	p, err := ep.exchange(r.Context(), h.client, callback{Code: q.Get("code"), DeviceID: q.Get("device_id"), State: st.State},
		st.Verifier, st.Nonce)
	switch {
	case errors.Is(err, errBadIDToken), errors.Is(err, errNonce):
		h.fail(w, r, http.StatusBadGateway, "federation.err.id_token", err)
		return
	case err != nil:
		h.fail(w, r, http.StatusBadGateway, "federation.err.upstream", err)
		return
	}
	if st.LinkUser != "" {
		h.finishLink(w, r, m, p, st)
		return
	}
	h.finishLogin(w, r, m, p, st.ReturnTo)
}

// finishLogin signs in with a linked identifier, or creates an account, or — when the email
// is an existing account's — asks the person to sign in to it first.
func (h *Handler) finishLogin(w http.ResponseWriter, r *http.Request, m storage.LoginMethod, p Profile, returnTo string) {
	ctx := r.Context()
	ident, err := h.store.GetIdentifierBySubject(ctx, m.ID, p.Subject)
	switch {
	case err == nil:
		u, err := h.store.GetUser(ctx, ident.UserID)
		if err != nil {
			h.kit.ServerError(w, r, "get user", err)
			return
		}
		if u.Status != storage.UserActive {
			h.fail(w, r, http.StatusForbidden, "federation.err.inactive", nil)
			return
		}
		if err := h.store.TouchIdentifier(ctx, ident.ID, p.Email, displayName(p), p.Picture, h.now().UTC()); err != nil {
			h.logger.WarnContext(ctx, "touch identifier", "err", err)
		}
		h.signIn(w, r, u.ID, m, profile.CategoryLogin, returnTo)
		return
	case !errors.Is(err, storage.ErrNotFound):
		h.kit.ServerError(w, r, "get identifier", err)
		return
	}
	if p.Email != "" {
		holders, err := h.store.UsersByEmail(ctx, p.Email, 1)
		if err != nil {
			h.kit.ServerError(w, r, "users by email", err)
			return
		}
		if len(holders) > 0 {
			// Never linked silently: whoever holds the upstream account proves they hold
			// this one too, by signing in to it.
			if err := h.setCookie(w, linkCookie, "/", pendingLink{Method: m.ID, Profile: p, UserID: holders[0].ID, ReturnTo: returnTo}); err != nil {
				h.kit.ServerError(w, r, "link cookie", err)
				return
			}
			http.Redirect(w, r, "/login/methods/link", http.StatusSeeOther)
			return
		}
	}
	// A new account costs what a registration does: the same per-IP limit applies (OWASP
	// ASVS 5.0 V2.4, anti-automation), shared with the registration form.
	retry, err := h.kit.Hit(ctx, h.cfg.Limits.RegisterCounter(h.kit.Origin(r).IP))
	if err != nil {
		h.kit.ServerError(w, r, "count registration", err)
		return
	}
	if retry > 0 {
		h.logger.WarnContext(ctx, "upstream sign-up throttled", "method", m.ID, "ip", h.kit.Origin(r).IP)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		l := templates.LangFrom(ctx)
		h.kit.Render(w, r, http.StatusTooManyRequests, "error", templates.ErrorPage{Status: http.StatusTooManyRequests,
			Title: l.T("federation.err.throttled.title"), Message: profile.ThrottleMessage(l, retry),
			Next: l.T("federation.err.throttled.next"), RequestID: profile.RequestID(w, r)})
		return
	}
	u, err := h.createAccount(ctx, m, p)
	if err != nil {
		h.kit.ServerError(w, r, "create account", err)
		return
	}
	h.logger.InfoContext(ctx, "registered with a login method", "user_id", u.ID, "method", m.ID)
	h.signIn(w, r, u.ID, m, profile.CategoryRegistration, returnTo)
}

// signIn starts the browser session (amr "fed", RFC 8176 §2), records it, and goes on to the
// completion step when mandatory fields are missing, else to returnTo.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, userID string, m storage.LoginMethod, category, returnTo string) {
	ctx := r.Context()
	if _, err := h.kit.StartSession(w, r, userID, []string{"fed"}); err != nil {
		h.kit.ServerError(w, r, "start session", err)
		return
	}
	h.events.Record(ctx, h.kit.Origin(r), userID, profile.Event{Category: category, ClientID: flowClientID(returnTo),
		Details: map[string]string{"method": "fed", "login_method": m.Name}})
	switch need, err := h.kit.NeedsCompletion(ctx, userID); {
	case err != nil:
		h.logger.ErrorContext(ctx, "check profile completion", "user_id", userID, "err", err)
	case need:
		http.Redirect(w, r, profile.CompletionURL(returnTo), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// flowClientID is the app an authorization request in returnTo is for, "" for none.
func flowClientID(returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != "/oauth2/auth" {
		return ""
	}
	return u.Query().Get("client_id")
}

// displayName is how the profile names an upstream account.
func displayName(p Profile) string {
	if p.Name != "" {
		return p.Name
	}
	return strings.TrimSpace(p.GivenName + " " + p.FamilyName)
}

// createAccount makes an account from the upstream claims, with the identifier linked, in one
// transaction. It has no password. The email counts as verified only when the provider says
// so (email_verified true); names are kept "on request", as at registration.
func (h *Handler) createAccount(ctx context.Context, m storage.LoginMethod, p Profile) (storage.User, error) {
	now := h.now().UTC()
	u := storage.User{ID: profile.NewID(), Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
	if profile.ValidEmail(p.Email) {
		u.Email, u.EmailVerified = profile.NormalizeEmail(p.Email), p.EmailVerified
	}
	given, family := p.GivenName, p.FamilyName
	if given == "" && family == "" {
		if words := strings.Fields(p.Name); len(words) > 0 {
			given, family = words[0], strings.Join(words[1:], " ")
		}
	}
	var fields []storage.ProfileField
	for _, f := range []struct{ key, v string }{{"given_name", given}, {"family_name", family}} {
		if v := profile.TruncateUTF8(f.v, 200); v != "" {
			fields = append(fields, storage.ProfileField{UserID: u.ID, Field: f.key, Value: v, Privacy: "on_request", UpdatedAt: now})
		}
	}
	err := h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.store.CreateUser(ctx, u); err != nil {
			return err
		}
		if len(fields) > 0 {
			if err := h.store.PutProfileFields(ctx, fields); err != nil {
				return err
			}
		}
		return h.store.CreateIdentifier(ctx, newIdentifier(u.ID, m.ID, p, now))
	})
	return u, err
}

func newIdentifier(userID, methodID string, p Profile, now time.Time) storage.Identifier {
	return storage.Identifier{ID: profile.NewID(), UserID: userID, MethodID: methodID, Subject: p.Subject,
		Email: p.Email, Name: displayName(p), Picture: p.Picture, LinkedAt: now, LastUsedAt: now}
}

// link links p to userID and records it. errLinkedElsewhere: another user holds it.
func (h *Handler) link(ctx context.Context, o profile.Origin, userID string, m storage.LoginMethod, p Profile) error {
	err := h.store.CreateIdentifier(ctx, newIdentifier(userID, m.ID, p, h.now().UTC()))
	if errors.Is(err, storage.ErrAlreadyExists) {
		ident, gerr := h.store.GetIdentifierBySubject(ctx, m.ID, p.Subject)
		if gerr == nil && ident.UserID == userID {
			return nil // linked already: nothing to do
		}
		return errLinkedElsewhere
	}
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryIdentifierLinked, Details: map[string]string{"login_method": m.Name}})
	return nil
}

var errLinkedElsewhere = errors.New("upstream account linked to another user")

// finishLink ends an Add from the profile: the user who started it must still be the one
// signed in.
func (h *Handler) finishLink(w http.ResponseWriter, r *http.Request, m storage.LoginMethod, p Profile, st flowState) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	if u.ID != st.LinkUser {
		h.fail(w, r, http.StatusBadRequest, "federation.err.state", errors.New("the link was started by another user"))
		return
	}
	err := h.link(r.Context(), h.kit.Origin(r), u.ID, m, p)
	if errors.Is(err, errLinkedElsewhere) {
		h.fail(w, r, http.StatusConflict, "federation.err.linked_elsewhere", nil)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "link identifier", err)
		return
	}
	http.Redirect(w, r, "/profile?notice=identifier_linked#identifiers", http.StatusSeeOther)
}

// linkPageData is identifier_link.html's data.
type linkPageData struct {
	Provider string
	Email    string
	Name     string
	// SignedIn: the account the email belongs to is the one signed in, so the link can be
	// confirmed; otherwise LoginURL signs in to it first.
	SignedIn bool
	LoginURL string
}

// linkPage (GET /login/methods/link) asks the holder of an email to sign in to their account
// before an upstream account with that email is linked to it.
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	var pl pendingLink
	if !h.readCookie(r, linkCookie, &pl) {
		h.fail(w, r, http.StatusBadRequest, "federation.err.state", errors.New("no pending link"))
		return
	}
	m, ok := h.method(w, r, pl.Method)
	if !ok {
		return
	}
	data := linkPageData{Provider: m.Name, Email: pl.Profile.Email, Name: displayName(pl.Profile),
		LoginURL: "/login?" + url.Values{"prompt": {"login"}, "return_to": {"/login/methods/link"}}.Encode()}
	s, signed, err := h.kit.Current(r)
	if err != nil {
		h.kit.ServerError(w, r, "current session", err)
		return
	}
	// Only a password sign-in proves the account is theirs; a session from this same
	// provider would prove nothing new.
	data.SignedIn = signed && s.UserID == pl.UserID && h.now().Sub(s.AuthTime) < flowLifetime
	w.Header().Set("Cache-Control", "no-store")
	h.kit.Render(w, r, http.StatusOK, "identifier_link", data)
}

// linkConfirm (POST /login/methods/link) links the pending upstream account to the signed-in
// account the email belongs to.
func (h *Handler) linkConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.kit.ParseForm(w, r) {
		return
	}
	var pl pendingLink
	if !h.readCookie(r, linkCookie, &pl) {
		h.fail(w, r, http.StatusBadRequest, "federation.err.state", errors.New("no pending link"))
		return
	}
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	if u.ID != pl.UserID || h.now().Sub(s.AuthTime) >= flowLifetime {
		http.Redirect(w, r, "/login/methods/link", http.StatusSeeOther)
		return
	}
	m, ok := h.method(w, r, pl.Method)
	if !ok {
		return
	}
	h.clearCookie(w, linkCookie, "/")
	err := h.link(r.Context(), h.kit.Origin(r), u.ID, m, pl.Profile)
	if errors.Is(err, errLinkedElsewhere) {
		h.fail(w, r, http.StatusConflict, "federation.err.linked_elsewhere", nil)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "link identifier", err)
		return
	}
	next := pl.ReturnTo
	if next == "/" {
		next = "/profile?notice=identifier_linked#identifiers"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
