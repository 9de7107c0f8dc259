package profile

import (
	"context"
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
	h.RenderAccount(w, r, http.StatusOK, "confirm", "/profile", u, c)
}

// ActionBlock is a block of the profile page that a sub-package owns (Deps.Blocks): a heading
// and its actions, each a confirmation (a destructive action) — e.g. "Other actions" with
// Log out from all devices. The profile page only places it, after its own blocks.
type ActionBlock struct {
	ID      string // the element id (an anchor)
	Title   string
	Actions []Confirmation
	// List makes it an open block of items (e.g. Identifiers) instead of expandable
	// actions: Add at the top right, each item with its Remove form, Empty when there is none.
	List  bool
	Add   *BlockLink
	Items []BlockItem
	Empty string
}

// BlockLink is a block's action leading to a page of its own (Add).
type BlockLink struct {
	URL, Label string
}

// BlockItem is one entry of a list block: an icon (an image URL, may be empty), a title, a
// few lines of facts, and a form that removes it.
type BlockItem struct {
	ID     string // the element id
	Icon   string
	Title  string
	Lines  []string
	Remove *BlockForm
}

// BlockForm is a POST form of one button; Hidden completes the button's words for screen
// readers ("Delete" → "Delete GitHub").
type BlockForm struct {
	Action, Label, Hidden string
}

// BlockSource gives a sub-package's block of u's profile page, in ctx's language; ok false
// leaves it out.
type BlockSource func(ctx context.Context, u storage.User) (b ActionBlock, ok bool, err error)
