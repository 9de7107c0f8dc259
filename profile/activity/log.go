package activity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// eventPageSize is how many events the Event Log tab and GET /api/account/events return at
// once.
const eventPageSize = 50

// DefaultRetention is how long events are kept unless configured otherwise.
const DefaultRetention = 365 * 24 * time.Hour

// Handler serves the Event Log tab and GET /api/account/events, and deletes events past their
// retention.
type Handler struct {
	kit       *profile.Handler
	store     storage.EventStore
	now       func() time.Time
	retention time.Duration
}

// New builds the handler on profile's console kit. retention is how long events are kept
// (DefaultRetention when not positive); a nil now is time.Now.
func New(kit *profile.Handler, store storage.EventStore, retention time.Duration, now func() time.Time) *Handler {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if now == nil {
		now = time.Now
	}
	return &Handler{kit: kit, store: store, now: now, retention: retention}
}

// Routes registers the Event Log tab on the page router and its JSON route on the account API.
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc("/profile/events", h.eventLog).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/events/{id}", h.eventDetail).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/events", h.apiEvents).Methods(http.MethodGet, http.MethodHead)
}

// CategoryGroupApp is the category filter value that selects every category of app activity
// (profile.AppCategories): consents, app sign-ins, refresh-token families, app logouts.
const CategoryGroupApp = "app"

// errBadCursor: the cursor parameter is not one this server wrote.
var errBadCursor = errors.New("invalid cursor")

// eventQuery is one request for a page of a user's events.
type eventQuery struct {
	Category string
	ClientID string
	Cursor   string // opaque, from a previous page's next cursor
}

// eventPage is one page of events and the cursor of the next (older) page, "" at the end.
type eventPage struct {
	Events []storage.Event
	Next   string
}

// events returns a page of userID's events, newest first: the service function behind the
// Event Log tab and GET /api/account/events. errBadCursor when q.Cursor does not decode.
func (h *Handler) events(ctx context.Context, userID string, q eventQuery) (eventPage, error) {
	f := storage.EventFilter{Category: q.Category, ClientID: q.ClientID, Limit: eventPageSize + 1}
	if q.Category == CategoryGroupApp {
		f.Category, f.Categories = "", profile.AppCategories()
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return eventPage{}, err
		}
		f.Before = &c
	}
	evs, err := h.store.ListEvents(ctx, userID, f)
	if err != nil {
		return eventPage{}, err
	}
	var p eventPage
	// One more than a page was asked for: its presence says an older page exists, so the
	// last page never links to an empty one.
	if len(evs) > eventPageSize {
		evs = evs[:eventPageSize]
		last := evs[len(evs)-1]
		p.Next = encodeCursor(storage.EventCursor{At: last.At, ID: last.ID})
	}
	p.Events = evs
	return p, nil
}

// encodeCursor writes an event's position as an opaque URL-safe string. It only says where a
// page starts within the caller's own events, so it needs no signature.
func encodeCursor(c storage.EventCursor) string {
	raw := strconv.FormatInt(c.At.UnixMicro(), 10) + "." + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads what encodeCursor wrote.
func decodeCursor(s string) (storage.EventCursor, error) {
	if len(s) > 200 {
		return storage.EventCursor{}, errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return storage.EventCursor{}, errBadCursor
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok || id == "" || len(id) > 64 || !utf8.ValidString(id) {
		return storage.EventCursor{}, errBadCursor
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || n < 0 {
		return storage.EventCursor{}, errBadCursor
	}
	return storage.EventCursor{At: time.UnixMicro(n).UTC(), ID: id}, nil
}

// eventQueryFrom reads the filters and cursor of a page or API request; false when a value is
// too long to be a category, a client id or a cursor.
func eventQueryFrom(r *http.Request) (eventQuery, bool) {
	v := r.URL.Query()
	q := eventQuery{Category: v.Get("category"), ClientID: v.Get("client_id"), Cursor: v.Get("cursor")}
	ok := len(q.Category) <= maxEventCategory && len(q.ClientID) <= maxEventClientID &&
		utf8.ValidString(q.Category) && utf8.ValidString(q.ClientID)
	return q, ok
}

// Purge deletes the events older than the retention period and returns how many. cmd runs
// it in its periodic cleanup, on one node at a time.
func (h *Handler) Purge(ctx context.Context) (int64, error) {
	n, err := h.store.DeleteEventsBefore(ctx, h.now().Add(-h.retention))
	if err != nil {
		return n, fmt.Errorf("purge events: %w", err)
	}
	return n, nil
}

// apiEvent is one event in GET /api/account/events.
type apiEvent struct {
	ID         string            `json:"id"`
	Category   string            `json:"category"`
	Time       time.Time         `json:"time"`
	ClientID   string            `json:"client_id"`
	ClientName string            `json:"client_name"`
	Device     string            `json:"device"`
	Browser    string            `json:"browser"`
	OS         string            `json:"os"`
	IP         string            `json:"ip"`
	Details    map[string]string `json:"details"`
}

// apiEventList is the body of GET /api/account/events; NextCursor is null on the last page.
type apiEventList struct {
	Events     []apiEvent `json:"events"`
	NextCursor *string    `json:"next_cursor"`
}

// apiEvents serves GET /api/account/events?category=&client_id=&cursor=.
func (h *Handler) apiEvents(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	q, ok := eventQueryFrom(r)
	if !ok {
		profile.WriteAPIError(w, http.StatusBadRequest, "invalid_request", templates.Tr(r.Context(), "api.err.filter_long"))
		return
	}
	p, err := h.events(r.Context(), c.User.ID, q)
	if errors.Is(err, errBadCursor) {
		profile.WriteAPIError(w, http.StatusBadRequest, "invalid_request", templates.Tr(r.Context(), "api.err.cursor"))
		return
	}
	if err != nil {
		h.kit.APIServerError(w, r, "list events", err)
		return
	}
	body := apiEventList{Events: make([]apiEvent, 0, len(p.Events))}
	for _, e := range p.Events {
		details := e.Details
		if details == nil {
			details = map[string]string{}
		}
		body.Events = append(body.Events, apiEvent{
			ID: e.ID, Category: e.Category, Time: e.At, ClientID: e.ClientID, ClientName: e.ClientName,
			Device: e.Device, Browser: e.Browser, OS: e.OS, IP: e.IP, Details: details,
		})
	}
	if p.Next != "" {
		body.NextCursor = &p.Next
	}
	h.kit.WriteJSON(w, r, http.StatusOK, body)
}

// eventsPage is events.html's data.
type eventsPage struct {
	Sidebar profile.Sidebar
	Zone    string // the time zone the times are shown in
	Events  []eventRow
	// AppGroup is the "all app activity" option; AppCategories the app categories found in
	// the user's events, Categories the others (the account's own).
	AppGroup      eventOption
	AppCategories []eventOption
	Categories    []eventOption
	Clients       []eventOption
	Filtered      bool   // a category or app filter is on
	OlderURL      string // the next, older page; "" on the last page
	NewestURL     string // back to the first page; "" on the first page
}

// eventRow is one event as the Event Log shows it.
type eventRow struct {
	URL      string
	Header   string // the category in words
	Time     string // in the user's zone, which the page names once
	DateTime string // RFC 3339, for <time datetime>
	App      string // the app's name, "" without an app
	ClientID string
	Device   string
	Browser  string
	OS       string
	IP       string
	Details  []string // what happened, in sentences (details.go)
	Summary  []string // the same without the scopes, for the table
}

// eventOption is an entry of a filter list.
type eventOption struct {
	Value, Label string
	Selected     bool
}

// eventLog serves the Event Log tab: GET /profile/events?category=&client_id=&cursor=.
func (h *Handler) eventLog(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q, ok := eventQueryFrom(r)
	if !ok {
		h.kit.ErrorPage(w, r, http.StatusBadRequest)
		return
	}
	p, err := h.events(ctx, u.ID, q)
	if errors.Is(err, errBadCursor) {
		h.kit.ErrorPage(w, r, http.StatusBadRequest)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "list events", err)
		return
	}
	facets, err := h.store.EventFacets(ctx, u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "event facets", err)
		return
	}
	a, err := h.kit.LoadAccount(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return
	}
	loc := zoneOf(a.Values)
	page := eventsPage{Sidebar: profile.NewSidebar(a, "/profile/events"), Zone: loc.String(), Filtered: q.Category != "" || q.ClientID != ""}
	for _, e := range p.Events {
		page.Events = append(page.Events, newEventRow(templates.LangFrom(r.Context()), e, loc))
	}
	page.AppGroup = eventOption{Value: CategoryGroupApp, Label: templates.Tr(r.Context(), "events.filter.all_app"), Selected: q.Category == CategoryGroupApp}
	page.AppCategories, page.Categories = categoryOptions(templates.LangFrom(r.Context()), facets.Categories, q.Category)
	for _, c := range facets.Clients {
		page.Clients = append(page.Clients, eventOption{Value: c.ID, Label: appLabel(c.Name, c.ID), Selected: c.ID == q.ClientID})
	}
	if p.Next != "" {
		page.OlderURL = eventLogURL(q.Category, q.ClientID, p.Next)
	}
	if q.Cursor != "" {
		page.NewestURL = eventLogURL(q.Category, q.ClientID, "")
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "events", page.Sidebar, page)
}

// eventDetailPage is event.html's data.
type eventDetailPage struct {
	Sidebar profile.Sidebar
	Zone    string
	UserID  string
	Event   eventRow
}

// eventDetail serves GET /profile/events/{id}: one of the user's events with every detail the
// spec lists. Another user's event is 404 like a missing one.
func (h *Handler) eventDetail(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	e, err := h.store.GetEvent(ctx, u.ID, mux.Vars(r)["id"])
	if errors.Is(err, storage.ErrNotFound) {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "get event", err)
		return
	}
	a, err := h.kit.LoadAccount(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return
	}
	loc := zoneOf(a.Values)
	sb := profile.NewSidebar(a, "/profile/events")
	h.kit.RenderSidebar(w, r, http.StatusOK, "event", sb, eventDetailPage{Sidebar: sb, Zone: loc.String(), UserID: u.ID, Event: newEventRow(templates.LangFrom(r.Context()), e, loc)})
}

// zoneOf is the time zone of the zoneinfo profile field, UTC when unset or not a zone this
// system knows.
func zoneOf(values map[string]string) *time.Location {
	if z := values["zoneinfo"]; z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}

// newEventRow shows e in lang, its time in loc (the page names the zone once, beside the
// times).
func newEventRow(lang templates.Lang, e storage.Event, loc *time.Location) eventRow {
	row := eventRow{
		URL:      "/profile/events/" + url.PathEscape(e.ID),
		Header:   categoryLabel(lang, e.Category),
		Time:     lang.DateTime(e.At.In(loc)),
		DateTime: e.At.Format(time.RFC3339),
		ClientID: e.ClientID,
		Device:   deviceLabel(lang, e.Device),
		Browser:  e.Browser,
		OS:       e.OS,
		IP:       e.IP,
	}
	if e.ClientID != "" {
		row.App = appLabel(e.ClientName, e.ClientID)
	}
	row.Details = detailSentences(lang, e.Details, loc, false)
	row.Summary = detailSentences(lang, e.Details, loc, true)
	return row
}

// categoryOptions lists the categories found in the user's events, in words: the app
// activity in its own order, the others sorted by label.
func categoryOptions(lang templates.Lang, categories []string, selected string) (app, account []eventOption) {
	for _, c := range profile.AppCategories() {
		if slices.Contains(categories, c) {
			app = append(app, eventOption{Value: c, Label: categoryLabel(lang, c), Selected: c == selected})
		}
	}
	for _, c := range categories {
		if !slices.Contains(profile.AppCategories(), c) {
			account = append(account, eventOption{Value: c, Label: categoryLabel(lang, c), Selected: c == selected})
		}
	}
	sort.Slice(account, func(i, j int) bool { return account[i].Label < account[j].Label })
	return app, account
}

// categoryLabel is the event header in words of lang; a category without a message shows as
// is.
func categoryLabel(lang templates.Lang, c string) string {
	return messageOr(lang, "events.category."+c, c)
}

// deviceLabel is the device type in words of lang.
func deviceLabel(lang templates.Lang, d string) string {
	if d == "" {
		return lang.T("events.device.unknown")
	}
	return messageOr(lang, "events.device."+d, d)
}

// appLabel is an app's name, its client id when it has none (or is gone).
func appLabel(name, clientID string) string {
	if name != "" {
		return name
	}
	return clientID
}

// messageOr returns the catalog text for key in lang, or fallback when the catalog has none.
func messageOr(lang templates.Lang, key, fallback string) string {
	if templates.HasMessage(key) {
		return lang.T(key)
	}
	return fallback
}

// eventLogURL is the Event Log with the given filters and cursor.
func eventLogURL(category, clientID, cursor string) string {
	v := url.Values{}
	if category != "" {
		v.Set("category", category)
	}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return "/profile/events"
	}
	return "/profile/events?" + v.Encode()
}

// Tab is the Event Log tab of the personal account (profile.Deps.Tabs).
var Tab = profile.TabSource{Label: "account.tab.events", URL: "/profile/events", Icon: "list"}
