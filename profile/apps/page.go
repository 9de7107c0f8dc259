package apps

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// scopesPage is scopes.html's data.
type scopesPage struct {
	Sidebar profile.Sidebar
	Zone    string
	Notice  string
	Apps    []appView
	Devices []deviceView
	// LogoutEverywhere is the confirmation of the Other Actions block.
	LogoutEverywhere profile.Confirmation
}

// appView is one app as the Scopes tab shows it.
type appView struct {
	ID          string
	Name        string
	Description string
	Logo        string
	Home        string // "" when the app has no home URL: the name is no link then
	Policy      string
	Scopes      []string
	Claims      []string
	Declined    []string
	GrantedAt   timeView
	LastUsed    timeView // zero Text when never
	Sessions    int
	Disclosures []disclosureView
	End, Revoke profile.Confirmation
}

// disclosureView is one line of "what this app received, and when".
type disclosureView struct {
	Claims string
	At     timeView
	Count  int
}

// deviceView is one browser session in the device list.
type deviceView struct {
	Handle   string
	Current  bool
	Device   string
	Browser  string
	OS       string
	IP       string
	SignedIn timeView
	LastSeen timeView
	Apps     string // the apps signed in through the session, by name
}

// timeView is a time in the user's zone, and as RFC 3339 for <time datetime>.
type timeView struct {
	Text, DateTime string
}

// newTime shows t in the user's zone and language; the page names the zone once.
func newTime(l templates.Lang, t time.Time, loc *time.Location) timeView {
	if t.IsZero() {
		return timeView{}
	}
	return timeView{Text: l.DateTime(t.In(loc)), DateTime: t.Format(time.RFC3339)}
}

// zoneOf is the zone of the zoneinfo profile field, UTC when unset or unknown.
func zoneOf(values map[string]string) *time.Location {
	if z := values["zoneinfo"]; z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}

// appName is the app's name, its client id when it has none.
func appName(a storage.UserApp) string {
	if a.Client.Name != "" {
		return a.Client.Name
	}
	return a.Client.ID
}

// appPath is the path of the app's actions.
func appPath(clientID string) string { return "/profile/apps/" + url.PathEscape(clientID) }

// dialogID makes a client id usable in an element id (ids may hold any character but
// spaces; a hash keeps them unique and short).
func dialogID(prefix, clientID string) string {
	return prefix + "-" + SessionHandle("app:" + clientID)[:12]
}

func endConfirmation(l templates.Lang, a storage.UserApp) profile.Confirmation {
	name := appName(a)
	return profile.Confirmation{
		ID:          dialogID("end", a.Client.ID),
		Title:       l.T("apps.end.title", name),
		Consequence: l.T("apps.end.consequence", name),
		Button:      l.T("apps.end.button"),
		Action:      appPath(a.Client.ID) + "/end-sessions",
		CancelURL:   "/profile/apps",
	}
}

func revokeConfirmation(l templates.Lang, a storage.UserApp) profile.Confirmation {
	name := appName(a)
	return profile.Confirmation{
		ID:          dialogID("revoke", a.Client.ID),
		Title:       l.T("apps.revoke.title", name),
		Consequence: l.T("apps.revoke.consequence", name),
		Button:      l.T("apps.revoke.button"),
		Action:      appPath(a.Client.ID) + "/revoke",
		CancelURL:   "/profile/apps",
	}
}

func logoutEverywhereConfirmation(l templates.Lang) profile.Confirmation {
	return profile.Confirmation{
		ID:          "logout-everywhere-dialog",
		Title:       l.T("apps.everywhere.title"),
		Consequence: l.T("apps.everywhere.consequence"),
		Button:      l.T("apps.everywhere.button"),
		Action:      "/profile/logout-everywhere",
		CancelURL:   "/profile/apps",
	}
}

// safeHTTPURL returns u when it is an absolute http(s) URL, else "": a registered URL that
// is anything else never becomes a link or an image source.
func safeHTTPURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}

// page serves the Scopes tab: GET /profile/apps.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	list, err := h.List(ctx, u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "list apps", err)
		return
	}
	devices, err := h.Devices(ctx, u.ID, s.ID)
	if err != nil {
		h.kit.ServerError(w, r, "list sessions", err)
		return
	}
	a, err := h.kit.LoadAccount(ctx, u)
	if err != nil {
		h.kit.ServerError(w, r, "load account", err)
		return
	}
	loc, l := zoneOf(a.Values), templates.LangFrom(ctx)
	p := scopesPage{Sidebar: profile.NewSidebar(a, Tab.URL), Zone: loc.String(), LogoutEverywhere: logoutEverywhereConfirmation(l)}
	for _, app := range list {
		v := appView{
			ID: app.Client.ID, Name: appName(app.UserApp), Description: app.Client.Description,
			Logo: safeHTTPURL(app.Client.LogoURI), Home: safeHTTPURL(app.Client.HomeURI), Policy: safeHTTPURL(app.Client.PolicyURI),
			Scopes: app.Grant.Scopes, Claims: h.claimLabels(l, app.Grant.Claims), Declined: h.claimLabels(l, app.Declined),
			GrantedAt: newTime(l, app.Grant.CreatedAt, loc), LastUsed: newTime(l, app.LastUsedAt, loc), Sessions: app.ActiveSessions,
			End: endConfirmation(l, app.UserApp), Revoke: revokeConfirmation(l, app.UserApp),
		}
		for _, d := range app.Disclosures {
			v.Disclosures = append(v.Disclosures, disclosureView{Claims: strings.Join(h.claimLabels(l, d.Claims), ", "), At: newTime(l, d.LastAt, loc), Count: d.Count})
		}
		p.Apps = append(p.Apps, v)
	}
	for _, d := range devices {
		p.Devices = append(p.Devices, deviceView{
			Handle: d.Handle, Current: d.Current, Device: deviceLabel(l, d.Device), Browser: d.Browser, OS: d.OS, IP: d.IP,
			SignedIn: newTime(l, d.CreatedAt, loc), LastSeen: newTime(l, d.LastSeenAt, loc), Apps: strings.Join(d.AppNames, ", "),
		})
	}
	switch done := r.URL.Query().Get("done"); done {
	case "ended", "revoked", "signed_out":
		p.Notice = l.T("apps.done." + done)
	}
	h.kit.RenderSidebar(w, r, http.StatusOK, "scopes", p.Sidebar, p)
}

// deviceLabel is the device type in words (the Event Log's words).
func deviceLabel(l templates.Lang, d string) string {
	if d == "" {
		return l.T("events.device.unknown")
	}
	if templates.HasMessage("events.device." + d) {
		return l.T("events.device." + d)
	}
	return d
}

// claimLabels names claims in words: a profile field's label from the catalog; a claim
// made from fields (name, email_verified, ...) keeps its name.
func (h *Handler) claimLabels(l templates.Lang, claims []string) []string {
	out := make([]string, 0, len(claims))
	for _, c := range claims {
		if f, ok := h.kit.Catalog.Field(c); ok && f.Label != "" && templates.HasMessage(f.Label) {
			out = append(out, l.T(f.Label))
			continue
		}
		out = append(out, c)
	}
	return out
}

// OtherActions is the profile page's "Other actions" block (profile.Deps.Blocks): Log out
// from all devices, behind its confirmation.
func OtherActions(ctx context.Context, _ storage.User) (profile.ActionBlock, bool, error) {
	l := templates.LangFrom(ctx)
	return profile.ActionBlock{
		ID:      "other-actions",
		Title:   l.T("apps.other"),
		Actions: []profile.Confirmation{logoutEverywhereConfirmation(l)},
	}, true, nil
}

// SecurityDevices is the device list of the profile page's Security block
// (profile.Deps.Security): each live browser session with its device, browser and system,
// when it signed in and was last seen, its address, the apps signed in through it, this one
// marked, and Sign out (the Scopes tab's form, so the same confirmation-free POST and 404 rule).
func SecurityDevices(ctx context.Context, v profile.SecurityView) (string, []profile.SecurityItem, bool, error) {
	list, err := devices(ctx, v.Kit.Store, v.Kit, v.User.ID, v.Session.ID)
	if err != nil {
		return "", nil, false, err
	}
	l, loc := templates.LangFrom(ctx), zoneOf(v.Values)
	items := make([]profile.SecurityItem, 0, len(list))
	for _, d := range list {
		device := deviceLabel(l, d.Device)
		title := device
		for _, part := range []string{d.Browser, d.OS} {
			if part != "" {
				title += " · " + part
			}
		}
		it := profile.SecurityItem{
			Title: title,
			Lines: []string{l.T("apps.device.signed_in") + " " + newTime(l, d.CreatedAt, loc).Text + " · " +
				l.T("apps.device.last_seen") + " " + newTime(l, d.LastSeenAt, loc).Text},
			Action: &profile.ItemAction{URL: "/profile/sessions/" + d.Handle + "/sign-out", Label: l.T("apps.device.sign_out"),
				AriaLabel: l.T("apps.device.sign_out_of", device), Icon: "logout"},
		}
		if d.IP != "" {
			it.Lines = append(it.Lines, l.T("apps.device.ip")+" "+d.IP)
		}
		if len(d.AppNames) > 0 {
			it.Lines = append(it.Lines, l.T("apps.device.apps")+" "+strings.Join(d.AppNames, ", "))
		}
		if d.Current {
			it.Mark = l.T("apps.device.current")
		}
		items = append(items, it)
	}
	return l.T("apps.devices.security"), items, true, nil
}
