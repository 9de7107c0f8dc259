package storage

// PrivacyStore persists privacy settings beyond per-field levels (private profile) and the disclosure record.
type PrivacyStore interface{}
