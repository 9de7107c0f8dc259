package profile

import (
	"context"
	"net/url"
)

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

// flowClientID is the app whose authorization request waits in a flow page's returnTo, when
// the page found that app (appName is its name): the login or registration then happened for
// that app. No query: the page already looked the client up.
func flowClientID(returnTo, appName string) string {
	if appName == "" {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil {
		return ""
	}
	return u.Query().Get("client_id")
}
