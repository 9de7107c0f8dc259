package profile

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/facetid/facet/storage"
)

// Confirmation asks before a destructive action (UI.md: a dialog that names the consequence
// in one sentence). With JavaScript the "confirm-dialog" partial opens on the page; without,
// the "confirm-link" leads to a page of its own (ConfirmPage), served by GET on the action's
// own path. Either way the action happens only by the POST of its form.
type Confirmation struct {
	ID          string // the dialog's element id
	Title       string // the question: "Delete your phone number?"
	Consequence string // what happens, in one sentence
	Button      string // the confirming button's words: "Delete phone number"
	Action      string // the POST path, also the GET path of the confirmation page
	CancelURL   string // where Cancel leads without JavaScript
	Fields      []HiddenField
	// Password, when set, is the label of a password field the form asks for: the action
	// needs the account password again (deleting the account). PasswordError is the message
	// next to it after a wrong one.
	Password, PasswordError string
}

// PageURL is the confirmation page's address: the action's path with the fields as query.
func (c Confirmation) PageURL() string {
	if len(c.Fields) == 0 {
		return c.Action
	}
	q := url.Values{}
	for _, f := range c.Fields {
		q.Add(f.Name, f.Value)
	}
	return c.Action + "?" + q.Encode()
}

// ConfirmPage shows c as a page of u's account: the confirmation without JavaScript.
func (h *Handler) ConfirmPage(w http.ResponseWriter, r *http.Request, u storage.User, c Confirmation) {
	h.ConfirmPageStatus(w, r, http.StatusOK, u, c)
}

// ConfirmPageStatus is ConfirmPage with another status: the page again after a refused
// attempt (a wrong password).
func (h *Handler) ConfirmPageStatus(w http.ResponseWriter, r *http.Request, status int, u storage.User, c Confirmation) {
	h.RenderAccount(w, r, status, "confirm", "/profile", u, c)
}

// ActionBlock is a block of the profile page that a sub-package owns (Deps.Blocks): a heading,
// its plain links (a download) and its actions, each a confirmation (a destructive action) —
// e.g. "Other actions" with Log out from all devices. The profile page only places it, after
// its own blocks. Blocks of several sources with the same ID are one block: the links and
// actions of each, in source order, under the first one's title.
type ActionBlock struct {
	ID      string // the element id (an anchor)
	Title   string
	Links   []ActionLink
	Actions []Confirmation
	// List makes it an open block of items (e.g. Identifiers) instead of expandable
	// actions: Add at the top right, each item with its Remove form, Empty when there is none.
	List  bool
	Add   *BlockLink
	Items []BlockItem
	Empty string
	// Body is a block the sub-package rendered from its own templates (templates.Fragment;
	// e.g. the Business Card block), placed as it is.
	Body template.HTML
}

// BlockLink is a block's action leading to a page of its own (Add).
type BlockLink struct {
	URL, Label string
}

// BlockItem is one entry of a list block: an icon (an image URL, may be empty), a title, a
// few lines of facts, its privacy level when it has one (NewLevelPicker), and a form that
// removes it.
type BlockItem struct {
	ID     string // the element id
	Icon   string
	Title  string
	Lines  []string
	Level  *LevelPicker
	Remove *BlockForm
}

// BlockForm is a POST form of one button; Hidden completes the button's words for screen
// readers ("Delete" → "Delete GitHub").
type BlockForm struct {
	Action, Label, Hidden string
}

// ActionLink is a plain link of an action block, e.g. a download.
type ActionLink struct {
	Text string
	URL  string
	Icon string // an icon name (templates' icon set)
	// Download marks a link whose answer is a file (Content-Disposition: attachment).
	Download bool
}

// mergeBlocks joins the blocks that share an ID, keeping the first one's place and title.
func mergeBlocks(blocks []ActionBlock) []ActionBlock {
	var out []ActionBlock
	at := map[string]int{}
	for _, b := range blocks {
		i, ok := at[b.ID]
		if !ok {
			at[b.ID] = len(out)
			out = append(out, b)
			continue
		}
		out[i].Links = append(out[i].Links, b.Links...)
		out[i].Actions = append(out[i].Actions, b.Actions...)
	}
	return out
}

// Link is an action a sub-package places in one of the profile page's own blocks (e.g. Public
// Data in the Profile Privacy block). Window: with JavaScript the page at URL opens in a
// window over the profile page (its [data-edit-panel]); without, it is a page.
type Link struct {
	Label  string
	URL    string
	Icon   string
	Window bool
}

// LinkSource gives a sub-package's link for u's profile page, in ctx's language; ok false
// leaves it out.
type LinkSource func(ctx context.Context, u storage.User) (l Link, ok bool, err error)

// BlockSource gives a sub-package's block of u's profile page, in ctx's language; ok false
// leaves it out.
type BlockSource func(ctx context.Context, u storage.User) (b ActionBlock, ok bool, err error)

// Hints are values suggested for a user's empty profile fields (catalog key → value) and
// where they come from (From, shown to the person: "GitHub").
type Hints struct {
	From   string
	Values map[string]string
}

// HintSource suggests values for u's empty profile fields, e.g. what an upstream account said
// at sign-up. "Complete your profile" shows them prefilled in the missing mandatory fields,
// saying where they come from; nothing is stored until the person saves the form.
type HintSource func(ctx context.Context, u storage.User) (Hints, error)

// SecurityItem is one entry a sub-package adds to the profile page's Security block (a
// signed-in device): a title, a mark beside it ("This device"), lines of detail, and at most
// one action, a POST to its own path (which answers a GET with its no-JavaScript page).
type SecurityItem struct {
	Title  string
	Mark   string
	Lines  []string
	Action *ItemAction
}

// ItemAction is a SecurityItem's button: Label is shown, AriaLabel names the item too.
type ItemAction struct {
	URL, Label, AriaLabel, Icon string
}

// SecurityView is what a SecuritySource is given: the kit (the sources are built before the
// handler, so the page hands itself over), the signed-in user, the browser session the page
// is shown to, and the account's values (its time zone, language).
type SecurityView struct {
	Kit     *Handler
	User    storage.User
	Session storage.Session
	Values  map[string]string
}

// SecuritySource gives the entries a sub-package owns in the Security block (Deps.Security),
// with the heading they go under; ok false adds none.
type SecuritySource func(ctx context.Context, v SecurityView) (title string, items []SecurityItem, ok bool, err error)
