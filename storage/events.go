package storage

import (
	"context"
	"time"
)

// Event is one entry of a user's activity log: a security-relevant action (login, a failed
// login, a profile change, ...). Category is the "event header"; profile owns the list of
// categories and what they mean. Device, Browser and OS come from the User-Agent, IP from
// the connection (through trusted proxies only). Details holds a few non-secret strings
// (e.g. which fields changed, never their values).
//
// ClientName is not stored: ListEvents and GetEvent fill it from the client's current name
// (empty when the event has no client or the client is gone).
type Event struct {
	ID         string
	UserID     string
	Category   string
	At         time.Time
	ClientID   string
	ClientName string
	Device     string
	Browser    string
	OS         string
	IP         string
	Details    map[string]string
}

// EventCursor is the position of an event in a user's log, which is ordered by (At, ID)
// descending: a page starting "before" a cursor holds the events strictly older than it.
type EventCursor struct {
	At time.Time
	ID string
}

// EventFilter selects a page of one user's events. Empty Category or ClientID match any;
// Categories, when not empty, matches an event of any of them (a group of categories, as
// the Event Log's "App activity"), together with Category when both are set; Before, when
// set, starts after that event (keyset pagination); Limit bounds the page (a backend caps it
// at MaxEventPage and uses that when Limit <= 0).
type EventFilter struct {
	Category   string
	Categories []string
	ClientID   string
	Before     *EventCursor
	Limit      int
}

// MaxEventPage is the most events ListEvents returns at once.
const MaxEventPage = 500

// EventClient is an app that appears in a user's events, with its current name.
type EventClient struct {
	ID   string
	Name string
}

// EventFacets are the values a user's events hold, for the Event Log's filter lists:
// categories sorted by name, clients sorted by id.
type EventFacets struct {
	Categories []string
	Clients    []EventClient
}

// EventStore persists the activity log. Events are deleted with their user.
type EventStore interface {
	// AddEvent stores e (its ID must be new: ErrAlreadyExists otherwise).
	AddEvent(ctx context.Context, e Event) error
	// ListEvents returns userID's events matching f, newest first ((At, ID) descending).
	ListEvents(ctx context.Context, userID string, f EventFilter) ([]Event, error)
	// GetEvent returns userID's event id; ErrNotFound when absent or another user's.
	GetEvent(ctx context.Context, userID, id string) (Event, error)
	// EventFacets returns the distinct categories and clients of userID's events.
	EventFacets(ctx context.Context, userID string) (EventFacets, error)
	// DeleteEventsBefore removes every event older than t and returns how many.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}
