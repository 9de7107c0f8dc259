package storage

// ContactStore persists contact verification (one-time codes for email and phone) and profile photos.
type ContactStore interface{}
