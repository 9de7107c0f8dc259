package templates

import (
	"context"
	"strings"
	"unicode"
)

// Frame is what the layout around every page shows besides the page itself: the header's
// account menu for the signed-in person.
type Frame struct {
	// Account is the signed-in person, nil when nobody is signed in.
	Account *Account
	// Sidebar, when set, puts the page in the personal account's frame: the sidebar (the
	// "account-sidebar" partial renders it) beside the page's content.
	Sidebar any
	// Page is the name of the page in the frame (Render sets it).
	Page string
}

// SignInPage reports whether the page is itself the way in (login, registration), where the
// header's log-in links would only repeat it and lose the app the person came from, or the
// form_post page passing the person on to the app, where they would be wrong (the person has
// just signed in, but that page does not know who they are).
func (f Frame) SignInPage() bool {
	return f.Page == "login" || f.Page == "register" || f.Page == "formpost"
}

// Account is the header's account menu: who is signed in.
type Account struct {
	Email    string
	Initials string
}

// NewAccount is the account menu of the person with email.
func NewAccount(email string) *Account {
	a := &Account{Email: email}
	for _, r := range email {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			a.Initials = strings.ToUpper(string(r))
			break
		}
	}
	return a
}

// view is the root data of layout.html: the frame and the page's own data.
type view struct {
	Frame Frame
	Data  any
}

type frameKey struct{}

// frameSlot is where the page's frame is filled in while a request is handled: the
// signed-in check learns who is signed in long after the middleware ran.
type frameSlot struct{ frame Frame }

// WithFrameSlot returns ctx with an empty frame that SetAccount fills and FrameFrom reads.
func WithFrameSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, frameKey{}, &frameSlot{})
}

// SetAccount records the signed-in person in ctx's frame (a no-op without WithFrameSlot).
func SetAccount(ctx context.Context, a *Account) {
	if s, ok := ctx.Value(frameKey{}).(*frameSlot); ok {
		s.frame.Account = a
	}
}

// FrameFrom returns ctx's frame; the zero Frame without WithFrameSlot.
func FrameFrom(ctx context.Context) Frame {
	if s, ok := ctx.Value(frameKey{}).(*frameSlot); ok {
		return s.frame
	}
	return Frame{}
}
