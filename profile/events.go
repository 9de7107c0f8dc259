package profile

import "context"

// Event categories: the "event header" of the activity log (spec, "Activity Log and Login
// History"). Each has a message "events.category.<name>" in templates/messages_events.go.
const (
	CategoryLogin           = "login"
	CategoryLoginFailed     = "login_failed"
	CategoryLogout          = "logout"
	CategoryRegistration    = "registration"
	CategoryProfileUpdated  = "profile_updated"
	CategoryPhotoChanged    = "photo_changed"
	CategoryPhotoDeleted    = "photo_deleted"
	CategoryEmailChanged    = "email_changed"
	CategoryEmailVerified   = "email_verified"
	CategoryEmailDeleted    = "email_deleted"
	CategoryPhoneChanged    = "phone_changed"
	CategoryPhoneDeleted    = "phone_deleted"
	CategoryPasswordChanged = "password_changed"
	CategoryPrivacyChanged  = "privacy_changed"
)

// Event is what a caller tells the activity log about an action; the recorder adds the user, the
// time, the device and the IP address. Details are a few non-secret strings, e.g.
// {"fields": "given_name,birthdate"} or {"method": "password"}: names of what changed, never
// values, and never passwords, codes or tokens.
type Event struct {
	Category string
	ClientID string
	Details  map[string]string
}

// Recorder adds an event to a user's activity log (activity.Recorder; cmd wires it). Recording
// never fails the action it records.
type Recorder interface {
	Record(ctx context.Context, o Origin, userID string, e Event)
}
