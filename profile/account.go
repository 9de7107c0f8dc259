package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// accountRoutes registers the personal account's pages on r and its JSON routes on api (under
// APIPrefix, authenticated by apiAuth).
func (h *Handler) accountRoutes(r, api *mux.Router) {
	r.HandleFunc("/profile", h.profilePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/edit", h.editForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/edit", h.edit).Methods(http.MethodPost)
	r.HandleFunc("/profile/complete", h.completeForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/complete", h.complete).Methods(http.MethodPost)
	r.HandleFunc("/profile/password", h.passwordForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/password", h.password).Methods(http.MethodPost)

	api.HandleFunc("/profile", h.apiGetProfile).Methods(http.MethodGet)
	api.HandleFunc("/profile", h.apiPatchProfile).Methods(http.MethodPatch)
	api.HandleFunc("/password", h.apiPutPassword).Methods(http.MethodPut)
}

// Account is one user's profile as the account pages and the account API show it: every
// catalog field's value (the account email under "email"), the privacy level the user chose
// for it, and the private-profile switch; and the language its reader reads it in (the
// request's, for the sidebar and the field labels).
type Account struct {
	User   storage.User
	Values map[string]string
	Levels map[string]consent.Level
	// IdentifierLevels are the levels chosen for linked identifiers, by identifier id.
	IdentifierLevels map[string]consent.Level
	Private          bool
	Lang             templates.Lang
}

// LoadAccount reads u's profile fields. The level of each catalog field is the one consent
// derives from the stored choice (or the catalog default): pages never decide it themselves.
func (h *Handler) LoadAccount(ctx context.Context, u storage.User) (Account, error) {
	fields, err := h.Store.GetProfileFields(ctx, u.ID)
	if err != nil {
		return Account{}, fmt.Errorf("get profile fields: %w", err)
	}
	a := Account{User: u, Values: map[string]string{}, Levels: map[string]consent.Level{}, IdentifierLevels: map[string]consent.Level{},
		Lang: templates.LangFrom(ctx)}
	stored := map[string]string{}
	for _, f := range fields {
		a.Values[f.Field] = f.Value
		stored[f.Field] = f.Privacy
		if id, ok := consent.IdentifierID(f.Field); ok {
			a.IdentifierLevels[id] = consent.FieldLevel(nil, f.Field, f.Privacy)
		}
	}
	// The address lives in users.email; the "email" row only carries its privacy level.
	a.Values["email"] = u.Email
	for _, f := range h.Catalog.Fields() {
		a.Levels[f.Key] = consent.FieldLevel(h.Catalog, f.Key, stored[f.Key])
	}
	if a.Private, err = h.Store.GetPrivateProfile(ctx, u.ID); err != nil {
		return Account{}, fmt.Errorf("get private profile: %w", err)
	}
	return a, nil
}

// editable reports whether the profile forms and PATCH edit f: the main and additional
// blocks, unless locked. Contacts and the photo have their own verified flows.
func editable(f consent.Field) bool {
	return (f.Block == consent.BlockMain || f.Block == consent.BlockAdditional) && !f.Locked
}

// missing returns the mandatory fields a's user still has to fill in on the "Complete your
// profile" page: locked fields and those with their own flows (email, phone, photo) are left
// out, since that page cannot fill them and must never trap the user.
func (h *Handler) missing(a Account) []string {
	var out []string
	for _, k := range h.Catalog.Missing(a.Values) {
		if f, ok := h.Catalog.Field(k); ok && editable(f) {
			out = append(out, k)
		}
	}
	return out
}

// NeedsCompletion reports whether userID has mandatory fields to fill in before a login or an
// authorization continues (the "Complete your profile" step, /profile/complete).
func (h *Handler) NeedsCompletion(ctx context.Context, userID string) (bool, error) {
	u, err := h.Store.GetUser(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("get user: %w", err)
	}
	a, err := h.LoadAccount(ctx, u)
	if err != nil {
		return false, err
	}
	return len(h.missing(a)) > 0, nil
}

// CompletionURL is where a user with missing mandatory fields goes before returnTo.
func CompletionURL(returnTo string) string {
	return WithReturnTo("/profile/complete", returnTo)
}

// Message keys of the account service's own checks (the catalog's are consent.Msg*).
const (
	msgLocked        = "field.err.locked"
	msgNotEditable   = "field.err.not_editable"
	msgUsernameTaken = "field.err.username_taken"
	msgRequired      = "field.err.required"
)

// errValidation: saveProfile refused the changes; the field messages say why.
var errValidation = errors.New("profile values not valid")

// saveProfile validates changes (catalog key → value as entered; "" clears) and saves those
// that differ from a's values, all in one transaction with the profile_updated event. It
// returns the keys it changed. On any invalid value it saves nothing and returns
// errValidation with a message key per field. required lists keys that must not be empty.
func (h *Handler) saveProfile(ctx context.Context, o Origin, a Account, changes map[string]string, required []string) ([]string, map[string]string, error) {
	errs := map[string]string{}
	values := map[string]string{}
	for k, raw := range changes {
		f, ok := h.Catalog.Field(k)
		if !ok {
			errs[k] = consent.MsgUnknownField
			continue
		}
		norm, msg := h.Catalog.Validate(k, raw)
		switch {
		case f.Block != consent.BlockMain && f.Block != consent.BlockAdditional:
			errs[k] = msgNotEditable
			continue
		case f.Locked:
			// A locked value sent back unchanged (a client echoing the profile) is no edit.
			if msg != "" || norm != a.Values[k] {
				errs[k] = msgLocked
			}
			continue
		case msg != "":
			errs[k] = msg
			continue
		case norm == "" && slices.Contains(required, k):
			errs[k] = msgRequired
			continue
		}
		if norm != a.Values[k] {
			values[k] = norm
		}
	}
	for _, k := range required {
		if _, ok := changes[k]; !ok && a.Values[k] == "" {
			errs[k] = msgRequired
		}
	}
	if u := values["preferred_username"]; u != "" && errs["preferred_username"] == "" {
		// Checked first for a clear message; the unique index still decides a race.
		switch id, err := h.Store.FindUserIDByField(ctx, "preferred_username", u); {
		case err == nil && id != a.User.ID:
			errs["preferred_username"] = msgUsernameTaken
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return nil, nil, fmt.Errorf("find preferred_username: %w", err)
		}
	}
	if len(errs) > 0 {
		return nil, errs, errValidation
	}
	if len(values) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	err := h.Store.InTx(ctx, func(ctx context.Context) error {
		if err := h.Store.PutProfileValues(ctx, a.User.ID, values, h.Now().UTC()); err != nil {
			return err
		}
		// Names of the changed fields only, never their values.
		h.Events.Record(ctx, o, a.User.ID, Event{Category: CategoryProfileUpdated, Details: map[string]string{"fields": strings.Join(keys, ",")}})
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return nil, map[string]string{"preferred_username": msgUsernameTaken}, errValidation
	case err != nil:
		return nil, nil, fmt.Errorf("save profile values: %w", err)
	}
	return keys, nil, nil
}

// levelView is how a privacy level is shown: an icon (decorative) with words, so the level
// never depends on the icon or colour alone (UI.md), and the spec's description of it.
type levelView struct {
	Level   consent.Level
	Icon    string
	Text    string
	Desc    string
	Current bool
}

// levelViews returns the three choices with current marked, in lang.
func levelViews(lang templates.Lang, current consent.Level) []levelView {
	var out []levelView
	for _, l := range consent.Levels() {
		v := newLevelView(lang, l)
		v.Current = l == current
		out = append(out, v)
	}
	return out
}

// newLevelView shows l in lang; an unknown level shows as "Only you", as it is treated (fail
// closed).
func newLevelView(lang templates.Lang, l consent.Level) levelView {
	switch l {
	case consent.LevelPublic:
		return levelView{Level: l, Icon: "globe", Text: lang.T("account.level.public"), Desc: lang.T("privacy.level.public.text")}
	case consent.LevelOnRequest:
		return levelView{Level: l, Icon: "handshake", Text: lang.T("account.level.on_request"), Desc: lang.T("privacy.level.on_request.text")}
	case consent.LevelPrivate:
		return levelView{Level: l, Icon: "lock", Text: lang.T("account.level.private"), Desc: lang.T("privacy.level.private.text")}
	default:
		return newLevelView(lang, consent.LevelPrivate)
	}
}

// LevelPicker is the privacy-level button of something that is not a catalog field, e.g. a
// linked identifier in its block (BlockItem.Level): the level shown, and the three choices
// that post to /profile/privacy/{Key}, as every field's button does.
type LevelPicker struct {
	Key   string
	Label string
	// Level is the level that applies now; Choices mark the one chosen; Held says the two
	// differ (public, but the private profile is on).
	Level    levelView
	Held     bool
	Choices  []levelView
	ReturnTo string
}

// NewLevelPicker builds the picker of key, labelled label (what the level is of), whose chosen
// level is chosen; private is the private-profile switch.
func NewLevelPicker(lang templates.Lang, key, label string, chosen consent.Level, private bool) *LevelPicker {
	p := &LevelPicker{Key: key, Label: label, Level: newLevelView(lang, consent.Effective(chosen, private)), Choices: levelViews(lang, chosen)}
	p.Held = p.Level.Level != chosen
	return p
}

// fieldView is one field's row in a block of the profile page.
type fieldView struct {
	Key       string
	Label     string
	Value     string // display text, "" when empty
	Lines     []string
	Mandatory bool
	Locked    bool
	// Level is the level that applies now (consent.Effective); Choices mark the one the
	// user chose. Held says the two differ: the field is public but the private profile is
	// on, so it is shared only on request.
	Level   levelView
	Held    bool
	Choices []levelView
	// ReturnTo is the waiting authorization request the level form comes back with ("" for
	// none), so the page keeps its way back to the app after each change.
	ReturnTo string
}

// blockView is one <article> of the profile page.
type blockView struct {
	ID      string
	Title   string
	EditURL string
	Fields  []fieldView
}

// Tab is one tab of the personal account.
type Tab struct {
	Label   string
	URL     string
	Icon    string // an icon name of templates' set
	Count   int    // a counter shown beside the label (pending requests), 0 for none
	Current bool
}

// TabSource is a tab of the personal account that a sub-package owns (Deps.Tabs); the
// sidebar lists them after the built-in Profile tab. Label is a catalog key. Count, when set,
// gives the number shown beside the label (e.g. pending requests); when it fails the error
// is logged and the tab shows no number.
type TabSource struct {
	Label string
	URL   string
	Icon  string
	Count func(ctx context.Context, userID string) (int, error)
}

// profileTab is the built-in first tab.
var profileTab = TabSource{Label: "account.tab.profile", URL: "/profile", Icon: "user"}

// tabs are the sidebar's tabs for userID with current marked and the counters filled in.
func (h *Handler) tabs(ctx context.Context, userID, current string) []Tab {
	out := make([]Tab, 0, 1+len(h.tabSources))
	for _, src := range append([]TabSource{profileTab}, h.tabSources...) {
		t := Tab{Label: templates.Tr(ctx, src.Label), URL: src.URL, Icon: src.Icon, Current: src.URL == current}
		if src.Count != nil {
			n, err := src.Count(ctx, userID)
			if err != nil {
				h.Logger.WarnContext(ctx, "tab counter", "tab", src.URL, "err", err)
				n = 0
			}
			t.Count = n
		}
		out = append(out, t)
	}
	return out
}

// Sidebar is the personal account's left column.
type Sidebar struct {
	Name     string
	Email    string
	Initials string
	Picture  string
	Tabs     []Tab // filled in by RenderSidebar
	// Apps is the catalog's part, filled in by RenderSidebar (Deps.Favorites): the Catalog
	// button and the apps the person marked favorite, listed under the tabs. Nil while the
	// catalog is switched off: then neither shows.
	Apps *SidebarApps

	userID  string
	current string // the URL of the current tab
}

// SidebarApps is the part of the sidebar the application catalog owns: where the Catalog
// button leads (with JavaScript, a window over the page) and the favorites.
type SidebarApps struct {
	CatalogURL string
	Favorites  []Favorite
}

// Favorite is one app in the sidebar's favorites: its name, its logo ("" for none) and its
// home page, where its sign-in starts ("" when it has none: the name is not a link).
type Favorite struct {
	Name string
	Logo string
	URL  string
}

// FavoritesSource gives the catalog's part of userID's sidebar (Deps.Favorites), in ctx's
// language; ok false leaves it out (the catalog is switched off). Every account page asks it,
// so while the catalog is off it should cost no more than reading the switch. When it fails
// the error is logged and the sidebar shows no catalog, as a tab counter shows no number.
type FavoritesSource func(ctx context.Context, userID string) (apps SidebarApps, ok bool, err error)

// sidebarApps is the catalog's part of userID's sidebar, nil when there is none.
func (h *Handler) sidebarApps(ctx context.Context, userID string) *SidebarApps {
	if h.favorites == nil || userID == "" {
		return nil
	}
	apps, ok, err := h.favorites(ctx, userID)
	if err != nil {
		h.Logger.WarnContext(ctx, "sidebar favorites", "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &apps
}

// NewSidebar is the sidebar of a's personal account with the tab at current marked.
func NewSidebar(a Account, current string) Sidebar {
	name := displayName(a.Values)
	return Sidebar{
		Name:     name,
		Email:    a.User.Email,
		Initials: initials(name, a.User.Email),
		Picture:  a.Values["picture"],
		userID:   a.User.ID,
		current:  current,
	}
}

// displayName is "Given Family", the nickname, or "".
func displayName(v map[string]string) string {
	if n := strings.TrimSpace(v["given_name"] + " " + v["family_name"]); n != "" {
		return n
	}
	return v["nickname"]
}

// initials are the first letters of the first two words of name, or of the email.
func initials(name, email string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
			}
			break
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 && email != "" {
		for _, r := range email {
			out = append(out, unicode.ToUpper(r))
			break
		}
	}
	return string(out)
}

// profilePageData is profile.html's data.
type profilePageData struct {
	Sidebar       Sidebar
	Notice        string
	Missing       []string // labels of the missing mandatory fields
	Blocks        []blockView
	Email         fieldView
	EmailVerified bool
	Phone         fieldView
	PictureLevel  fieldView
	Sessions      int
	Security      []securityList // the sub-packages' entries of the Security block (Deps.Security)
	Extra         []ActionBlock  // the sub-packages' blocks (Deps.Blocks)
	Privacy       privacyView
	Back          *flowBack
}

// privacyView is the Profile Privacy block: the private-profile switch and the legend of the
// three levels.
type privacyView struct {
	PrivateProfile bool
	Levels         []levelView
	ReturnTo       string // as fieldView's
	Links          []Link // the sub-packages' actions (Deps.PrivacyLinks)
}

// flowBack is the way back to an app's authorization request that sent the user here (the
// consent page's "Change who can see your data"): the app's name and the request's URL.
type flowBack struct {
	AppName, URL string
}

// notices are the "saved" messages a redirect may ask the profile page to show (PRG).
var notices = map[string]string{
	"saved":    "account.notice.saved",
	"complete": "account.notice.complete",
	"restored": "lifecycle.restored.notice",
	// The Identifiers block's (oauth/federation).
	"identifier_linked":  "identifiers.notice.linked",
	"identifier_deleted": "identifiers.notice.deleted",
	// The Security block's two-factor entries (profile/mfa).
	"totp_enabled": "mfa.notice.totp_enabled",
	"totp_removed": "mfa.notice.totp_removed",
}

// profileNotice is the notice a redirect asked for: "saved", "complete", the private-profile
// switch, or a privacy level change of one field ("Given name: Everyone").
func (h *Handler) profileNotice(a Account, q url.Values) string {
	switch n := q.Get("notice"); n {
	case "privacy":
		if id, ok := consent.IdentifierID(q.Get("field")); ok {
			l, ok := a.IdentifierLevels[id]
			if !ok {
				return ""
			}
			return a.Lang.T("account.notice.privacy_identifier", newLevelView(a.Lang, l).Text)
		}
		f, ok := h.Catalog.Field(q.Get("field"))
		if !ok {
			return ""
		}
		return a.Lang.T("account.notice.privacy", a.Lang.T(f.Label), newLevelView(a.Lang, a.Levels[f.Key]).Text)
	case "private_profile":
		if a.Private {
			return a.Lang.T("account.notice.private_on")
		}
		return a.Lang.T("account.notice.private_off")
	default:
		if key, ok := notices[n]; ok {
			return a.Lang.T(key)
		}
		return ""
	}
}

// securityList is one SecuritySource's part of the Security block.
type securityList struct {
	Title string
	Items []SecurityItem
}

// profilePage is the personal account (UI.md): the sidebar and the blocks.
func (h *Handler) profilePage(w http.ResponseWriter, r *http.Request) {
	u, s, ok := h.SignedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a, err := h.LoadAccount(ctx, u)
	if err != nil {
		h.ServerError(w, r, "load account", err)
		return
	}
	now := h.Now()
	sessions, err := h.Store.CountUserSessions(ctx, u.ID, now.Add(-h.cfg.SessionIdle), now)
	if err != nil {
		h.ServerError(w, r, "count sessions", err)
		return
	}
	data := profilePageData{
		Sidebar:       NewSidebar(a, "/profile"),
		EmailVerified: u.EmailVerified,
		Email:         h.fieldView(a, "email"),
		Phone:         h.fieldView(a, "phone_number"),
		PictureLevel:  h.fieldView(a, "picture"),
		Sessions:      sessions,
		Privacy:       privacyView{PrivateProfile: a.Private, Levels: levelViews(a.Lang, "")},
	}
	data.Notice = h.profileNotice(a, r.URL.Query())
	for _, k := range h.missing(a) {
		f, _ := h.Catalog.Field(k)
		data.Missing = append(data.Missing, templates.Tr(r.Context(), f.Label))
	}
	for _, b := range []struct{ id, title string }{
		{consent.BlockMain, "account.block.main"},
		{consent.BlockAdditional, "account.block.additional"},
	} {
		bv := blockView{ID: b.id, Title: templates.Tr(r.Context(), b.title), EditURL: "/profile/edit?block=" + b.id}
		for _, f := range h.Catalog.Block(b.id) {
			bv.Fields = append(bv.Fields, h.fieldView(a, f.Key))
		}
		data.Blocks = append(data.Blocks, bv)
	}
	// From the consent page: offer the way back, and keep it through every level change.
	returnTo := SafeReturnTo(r.URL.Query().Get("return_to"))
	flow, ok, err := h.Flow(ctx, returnTo)
	if err != nil {
		h.ServerError(w, r, "waiting authorization", err)
		return
	}
	if ok {
		data.Back = &flowBack{AppName: flow.AppName, URL: returnTo}
		for i := range data.Blocks {
			for j := range data.Blocks[i].Fields {
				data.Blocks[i].Fields[j].ReturnTo = returnTo
			}
		}
		data.Email.ReturnTo, data.Phone.ReturnTo, data.PictureLevel.ReturnTo = returnTo, returnTo, returnTo
		data.Privacy.ReturnTo = returnTo
	}
	for _, src := range h.privacyLinks {
		l, ok, err := src(ctx, u)
		if err != nil {
			h.ServerError(w, r, "privacy block link", err)
			return
		}
		if ok {
			data.Privacy.Links = append(data.Privacy.Links, l)
		}
	}
	for _, src := range h.securitySources {
		title, items, ok, err := src(ctx, SecurityView{Kit: h, User: u, Session: s, Values: a.Values})
		if err != nil {
			h.ServerError(w, r, "security block", err)
			return
		}
		if ok {
			data.Security = append(data.Security, securityList{Title: title, Items: items})
		}
	}
	for _, src := range h.blockSources {
		b, ok, err := src(ctx, u)
		if err != nil {
			h.ServerError(w, r, "profile block", err)
			return
		}
		if ok {
			data.Extra = append(data.Extra, b)
		}
	}
	data.Extra = mergeBlocks(data.Extra)
	h.RenderSidebar(w, r, http.StatusOK, "profile", data.Sidebar, data)
}

// fieldView shows one field's value and level.
func (h *Handler) fieldView(a Account, key string) fieldView {
	f, _ := h.Catalog.Field(key)
	v := fieldView{
		Key:       key,
		Label:     a.Lang.T(f.Label),
		Value:     a.Values[key],
		Mandatory: f.Mandatory,
		Locked:    f.Locked,
		Level:     newLevelView(a.Lang, consent.Effective(a.Levels[key], a.Private)),
		Choices:   levelViews(a.Lang, a.Levels[key]),
	}
	v.Held = v.Level.Level != a.Levels[key]
	switch key {
	case "address":
		addr, err := consent.ParseAddress(v.Value)
		v.Value = ""
		if err == nil {
			for _, p := range consent.AddressParts() {
				for line := range strings.SplitSeq(addr.Part(p), "\n") {
					if line != "" {
						v.Lines = append(v.Lines, line)
					}
				}
			}
		}
	default:
		v.Value = formatValue(a.Lang, key, v.Value)
	}
	return v
}

// FieldLevel returns the value of userID's field key and its privacy level: the one the user
// chose (an existing row, even with an empty value), or the catalog's default.
func (h *Handler) FieldLevel(ctx context.Context, userID, key string) (string, string, error) {
	fields, err := h.Store.GetProfileFields(ctx, userID)
	if err != nil {
		return "", "", fmt.Errorf("get profile fields: %w", err)
	}
	for _, f := range fields {
		if f.Field == key {
			return f.Value, f.Privacy, nil
		}
	}
	level := string(consent.LevelPrivate)
	if h.Catalog != nil {
		if f, ok := h.Catalog.Field(key); ok && f.DefaultLevel != "" {
			level = string(f.DefaultLevel)
		}
	}
	return "", level, nil
}
