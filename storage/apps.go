package storage

import (
	"context"
	"time"
)

// UserApp is an app a user granted access to, as the account's Scopes tab lists it: the
// grant, the client's presentation fields, and what its tokens say about its use.
type UserApp struct {
	Grant Grant
	// Client carries only ID, Name, Description, LogoURI, HomeURI and PolicyURI.
	Client Client
	// ActiveTokens counts the user's active, unexpired access and refresh tokens of the app.
	ActiveTokens int
	// ActiveSessions counts the sign-ins those tokens come from (distinct request ids: a
	// refresh keeps its grant's), what a person calls the app's sessions.
	ActiveSessions int
	// LastUsedAt is when the app last obtained an access or refresh token for the user (the
	// latest RequestedAt of those tokens still stored); zero when none is.
	LastUsedAt time.Time
}

// AppStore reads what the account's Scopes tab and Security block show.
type AppStore interface {
	// ListUserApps returns every app holding a grant from userID, ordered by client name,
	// then id, in one statement whatever the number of apps. Tokens count as active when
	// they are active and expire after now.
	ListUserApps(ctx context.Context, userID string, now time.Time) ([]UserApp, error)
	// ListUserSessions returns userID's browser sessions, most recently seen first.
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
}
