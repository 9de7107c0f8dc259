package storage

// EventStore persists the activity log.
type EventStore interface{}
