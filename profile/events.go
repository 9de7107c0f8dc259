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
	// CategoryPasswordReset: a new password was set through password recovery.
	CategoryPasswordReset = "password_reset"
	// CategoryLoginThrottled: failed logins slowed the account's password sign-in down.
	CategoryLoginThrottled = "login_throttled"
	CategoryPrivacyChanged = "privacy_changed"
	// CategorySessionSignedOut: the user signed one of their browser sessions out from the
	// account's device list.
	CategorySessionSignedOut = "session_signed_out"
	// CategoryLogoutEverywhere: the user ended every browser session and every app's tokens.
	CategoryLogoutEverywhere = "logout_everywhere"
	// CategoryDeletionRequested: the user deleted the account; it waits out the recovery
	// window (details: purge_after).
	CategoryDeletionRequested = "deletion_requested"
	// CategoryAccountRestored: the user restored the account during the recovery window.
	CategoryAccountRestored = "account_restored"
	// CategoryMFAEnabled: a second factor was added (Details "factor": totp, passkey) or new
	// recovery codes were made (recovery_codes).
	CategoryMFAEnabled = "mfa_enabled"
	// CategoryMFADisabled: a second factor was removed (Details "factor").
	CategoryMFADisabled = "mfa_disabled"
	// CategoryIdentifierLinked: an upstream account (a login method's identifier) was linked.
	CategoryIdentifierLinked = "identifier_linked"
	// CategoryIdentifierDeleted: the user removed a linked identifier.
	CategoryIdentifierDeleted = "identifier_deleted"
)

// App activity: what apps did with the account, each event naming its app (ClientID).
const (
	// CategoryAppConsentGiven: the user allowed an app for the first time on the consent page.
	CategoryAppConsentGiven = "app_consent_given"
	// CategoryAppConsentChanged: a later Allow on the consent page for an app already allowed.
	CategoryAppConsentChanged = "app_consent_changed"
	// CategoryAppConsentDenied: the user pressed Deny on the consent page.
	CategoryAppConsentDenied = "app_consent_denied"
	// CategoryAppSignIn: an app signed the user in (an authorization code was issued), with or
	// without a login form.
	CategoryAppSignIn = "app_signin"
	// CategoryAppOffline: an app received its first refresh token of a grant, so it stays
	// connected without the user.
	CategoryAppOffline = "app_offline"
	// CategoryAppLogout: an app signed the user out of Facet (RP-initiated logout).
	CategoryAppLogout = "app_logout"
	// CategoryAppSessionsEnded: the user ended an app's sessions (its tokens); the grant stays.
	CategoryAppSessionsEnded = "app_sessions_ended"
	// CategoryAppPermissionRevoked: the user revoked an app's permission (grant and tokens).
	CategoryAppPermissionRevoked = "app_permission_revoked"
	// CategoryInvitationAccepted: the user accepted an invitation to a closed app.
	CategoryInvitationAccepted = "invitation_accepted"
	// CategoryInvitationDeclined: the user declined an invitation to a closed app.
	CategoryInvitationDeclined = "invitation_declined"
)

// AppCategories are the categories of app activity, in the order a person meets them.
func AppCategories() []string {
	return []string{CategoryAppConsentGiven, CategoryAppConsentChanged, CategoryAppConsentDenied,
		CategoryAppSignIn, CategoryAppOffline, CategoryAppLogout, CategoryAppSessionsEnded, CategoryAppPermissionRevoked,
		CategoryInvitationAccepted, CategoryInvitationDeclined}
}

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
