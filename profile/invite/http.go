package invite

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Handler serves the Requests tab, the invitation link and their account API routes.
type Handler struct {
	kit    *profile.Handler
	svc    *Service
	events profile.Recorder
}

// NewHandler builds the handler; kit, svc and events are required.
func NewHandler(kit *profile.Handler, svc *Service, events profile.Recorder) (*Handler, error) {
	if kit == nil || svc == nil || events == nil {
		return nil, errors.New("invite: the console kit, the service and an event recorder are required")
	}
	return &Handler{kit: kit, svc: svc, events: events}, nil
}

// PathRequests is the Requests tab.
const PathRequests = "/profile/requests"

// Tab is the Requests tab of the personal account, counting the invitations waiting for an
// answer (profile.Deps.Tabs).
func (s *Service) Tab() profile.TabSource {
	return profile.TabSource{Label: "account.tab.requests", URL: PathRequests, Icon: "mail",
		Count: func(ctx context.Context, userID string) (int, error) {
			u, err := s.store.GetUser(ctx, userID)
			if err != nil {
				return 0, err
			}
			return s.CountPending(ctx, u)
		}}
}

// Routes registers the Requests tab and the invitation link on the page router and the
// account API's invitation routes.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc(PathRequests, h.page).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PathRequests+"/{id}/accept", h.pageAnswer(true)).Methods(http.MethodPost)
	r.HandleFunc(PathRequests+"/{id}/decline", h.pageAnswer(false)).Methods(http.MethodPost)
	r.HandleFunc(PathInvitation+"{token}", h.link).Methods(http.MethodGet, http.MethodHead)

	api.HandleFunc("/invitations", h.apiList).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/invitations/{id}/accept", h.apiAccept).Methods(http.MethodPost)
	api.HandleFunc("/invitations/{id}/decline", h.apiDecline).Methods(http.MethodPost)
}

// requestsPage is requests.html's data.
type requestsPage struct {
	Sidebar profile.Sidebar
	Notice  string
	Zone    string
	Items   []requestView
}

// requestView is one invitation in the Requests tab.
type requestView struct {
	ID, AppName, Description, Logo string
	Email                          string
	InvitedAt, ExpiresAt           string
	State                          string // pending, accepted, declined, revoked, expired
	Live                           bool
	Accept, Decline                string // form actions
}

func state(inv storage.Invitation, now time.Time) string {
	if inv.State == storage.InvitationPending && !now.Before(inv.ExpiresAt) {
		return "expired"
	}
	return inv.State
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a, err := h.kit.LoadAccount(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return
	}
	list, err := h.svc.ForUser(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "list invitations", err)
		return
	}
	l := templates.LangFrom(ctx)
	now := h.svc.now()
	p := requestsPage{Sidebar: profile.NewSidebar(a, PathRequests), Zone: "UTC"}
	for _, inv := range list {
		base := PathRequests + "/" + url.PathEscape(inv.ID)
		p.Items = append(p.Items, requestView{ID: inv.ID, AppName: inv.Client.Name, Description: inv.Client.Description,
			Logo: safeHTTPURL(inv.Client.LogoURI), Email: inv.Email,
			InvitedAt: l.DateTime(inv.CreatedAt), ExpiresAt: l.DateTime(inv.ExpiresAt),
			State: state(inv.Invitation, now), Live: Live(inv.Invitation, now),
			Accept: base + "/accept", Decline: base + "/decline"})
	}
	switch r.URL.Query().Get("done") {
	case "accepted":
		p.Notice = l.T("invite.done.accepted")
	case "declined":
		p.Notice = l.T("invite.done.declined")
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "requests", p.Sidebar, p)
}

// pageAnswer serves the Requests tab's Accept and Decline buttons (cross-origin protected
// POSTs): Accept goes on to the app's home page, Decline back to the tab.
func (h *Handler) pageAnswer(accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _, ok := h.kit.SignedIn(w, r)
		if !ok {
			return
		}
		id := mux.Vars(r)["id"]
		if accept {
			c, err := h.accept(r, u, id)
			if h.pageErr(w, r, err) {
				return
			}
			http.Redirect(w, r, homeOr(c, PathRequests+"?done=accepted"), http.StatusSeeOther)
			return
		}
		if h.pageErr(w, r, h.decline(r, u, id)) {
			return
		}
		http.Redirect(w, r, PathRequests+"?done=declined", http.StatusSeeOther)
	}
}

// pageErr answers a failed answer on a page; false when there was none.
func (h *Handler) pageErr(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrNotFound):
		h.kit.ErrorPage(w, r, http.StatusNotFound)
	case errors.Is(err, ErrSpent):
		h.message(w, r, http.StatusGone, "", "invite.link.spent")
	default:
		h.kit.ServerError(w, r, "answer invitation", err)
	}
	return true
}

func (h *Handler) accept(r *http.Request, u storage.User, id string) (storage.Client, error) {
	c, err := h.svc.Accept(r.Context(), u, id)
	if err == nil {
		h.events.Record(r.Context(), h.kit.Origin(r), u.ID, profile.Event{Category: profile.CategoryInvitationAccepted, ClientID: c.ID})
	}
	return c, err
}

func (h *Handler) decline(r *http.Request, u storage.User, id string) error {
	inv, err := h.svc.Decline(r.Context(), u, id)
	if err == nil {
		h.events.Record(r.Context(), h.kit.Origin(r), u.ID, profile.Event{Category: profile.CategoryInvitationDeclined, ClientID: inv.ClientID})
	}
	return err
}

// homeOr is the app's home URL (its sign-in starts there), or fallback without one.
func homeOr(c storage.Client, fallback string) string {
	if h := safeHTTPURL(c.HomeURI); h != "" {
		return h
	}
	return fallback
}

// linkPage is invitation.html's data.
type linkPage struct {
	AppName, Email, SignedInAs string
	Title, Message             string
	Login, Register, Profile   string
}

// link serves GET /invitations/{token}, the email's link. Signed in with the invited email
// verified: access is granted and the browser goes to the app. Signed in otherwise: the page
// says which email the invitation is for, and nothing else happens. Not signed in: sign in, or
// register with the invited email, and come back here.
func (h *Handler) link(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	token := mux.Vars(r)["token"]
	inv, err := h.svc.ByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		h.message(w, r, http.StatusNotFound, "", "invite.link.unknown")
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "get invitation", err)
		return
	}
	if !Live(inv, h.svc.now()) {
		h.message(w, r, http.StatusGone, "", "invite.link.spent")
		return
	}
	c, err := h.svc.client(ctx, inv.ClientID)
	if err != nil {
		h.kit.ServerError(w, r, "get client", err)
		return
	}
	here := PathInvitation + url.PathEscape(token)
	sess, ok, err := h.kit.Current(r)
	if err != nil {
		h.kit.ServerError(w, r, "current session", err)
		return
	}
	var u storage.User
	if ok {
		if u, err = h.svc.store.GetUser(ctx, sess.UserID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.kit.ServerError(w, r, "get user", err)
			return
		}
		ok = err == nil && u.Status == storage.UserActive
	}
	l := templates.LangFrom(ctx)
	if !ok {
		h.render(w, r, http.StatusOK, linkPage{AppName: c.Name, Email: inv.Email,
			Title: l.T("invite.link.title", c.Name), Message: l.T("invite.link.sign_in", c.Name, inv.Email),
			Login:    profile.WithReturnTo("/login", here),
			Register: "/register?" + url.Values{"email": {inv.Email}, "return_to": {here}}.Encode()})
		return
	}
	if !Addressed(inv, u) {
		// The invited address, held but not yet verified, is a next step (200); another
		// account is refused (403).
		status, msg := http.StatusForbidden, l.T("invite.link.other_account", inv.Email, u.Email)
		if strings.EqualFold(strings.TrimSpace(u.Email), inv.Email) {
			status, msg = http.StatusOK, l.T("invite.link.unverified", inv.Email)
		}
		h.render(w, r, status, linkPage{AppName: c.Name, Email: inv.Email, SignedInAs: u.Email,
			Title: l.T("invite.link.title", c.Name), Message: msg, Profile: "/profile"})
		return
	}
	c, err = h.accept(r, u, inv.ID)
	if h.pageErr(w, r, err) {
		return
	}
	http.Redirect(w, r, homeOr(c, PathRequests+"?done=accepted"), http.StatusSeeOther)
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, title, key string) {
	l := templates.LangFrom(r.Context())
	if title == "" {
		title = l.T("invite.link.invalid_title")
	}
	h.render(w, r, status, linkPage{Title: title, Message: l.T(key), Profile: "/profile"})
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p linkPage) {
	w.Header().Set("Cache-Control", "no-store")
	h.kit.Render(w, r, status, "invitation", p)
}

// apiInvitation is one invitation of GET /api/account/invitations.
type apiInvitation struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	Email      string    `json:"email"`
	InvitedAt  time.Time `json:"invited_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	State      string    `json:"state"`
}

func (h *Handler) apiList(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	list, err := h.svc.ForUser(r.Context(), c.User)
	if err != nil {
		h.kit.APIServerError(w, r, "list invitations", err)
		return
	}
	now := h.svc.now()
	body := struct {
		Invitations []apiInvitation `json:"invitations"`
	}{Invitations: make([]apiInvitation, 0, len(list))}
	for _, inv := range list {
		body.Invitations = append(body.Invitations, apiInvitation{ID: inv.ID, ClientID: inv.ClientID, ClientName: inv.Client.Name,
			Email: inv.Email, InvitedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, State: state(inv.Invitation, now)})
	}
	h.kit.WriteJSON(w, r, http.StatusOK, body)
}

func (h *Handler) apiAccept(w http.ResponseWriter, r *http.Request) {
	u := profile.CallerFrom(r.Context()).User
	c, err := h.accept(r, u, mux.Vars(r)["id"])
	if h.apiErr(w, r, err) {
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, struct {
		ClientID string `json:"client_id"`
		HomeURI  string `json:"home_uri"`
	}{c.ID, c.HomeURI})
}

func (h *Handler) apiDecline(w http.ResponseWriter, r *http.Request) {
	u := profile.CallerFrom(r.Context()).User
	if h.apiErr(w, r, h.decline(r, u, mux.Vars(r)["id"])) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiErr(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrNotFound):
		profile.WriteAPIError(w, http.StatusNotFound, "not_found", templates.Tr(r.Context(), "invite.api.not_found"))
	case errors.Is(err, ErrSpent):
		profile.WriteAPIError(w, http.StatusConflict, "invitation_spent", templates.Tr(r.Context(), "invite.link.spent"))
	default:
		h.kit.APIServerError(w, r, "answer invitation", err)
	}
	return true
}

// safeHTTPURL returns u when it is an absolute http(s) URL, else "" (a registered URL is
// shown as a link only then).
func safeHTTPURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}
