package storage

// AccountStore persists the personal account: profile look-ups beyond ProfileField CRUD (e.g. uniqueness of preferred_username).
type AccountStore interface{}
