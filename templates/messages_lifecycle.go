package templates

// lifecycleMessages holds the catalog entries of the account's lifecycle (profile/lifecycle):
// Download Data, the processing policy, deletion, the restore page and the page that refuses
// an app's sign-in during the recovery window.
var lifecycleMessages = map[string]string{
	"lifecycle.export.link":              "Download Data",
	"lifecycle.policy.link":              "Personal Data Processing Policy",
	"lifecycle.delete.title":             "Delete your account?",
	"lifecycle.delete.consequence.one":   "You are logged out everywhere, every app loses access, and after %d day everything in your account is erased for good; until then you can restore it by signing in to your personal account.",
	"lifecycle.delete.consequence.other": "You are logged out everywhere, every app loses access, and after %d days everything in your account is erased for good; until then you can restore it by signing in to your personal account.",
	"lifecycle.delete.button":            "Delete account",
	"lifecycle.delete.password":          "Your password",
	"lifecycle.delete.no_password":       "Your account has no password: sign in again first if you signed in a while ago.",
	"lifecycle.delete.wrong_password":    "The password is not correct. Nothing was deleted.",
	"lifecycle.deleted.notice":           "Your account is scheduled for deletion. To keep it, sign in here before the recovery window ends and choose Restore account.",
	"lifecycle.restored.notice":          "Your account is restored. Apps will ask for your consent again.",
	"lifecycle.restore.title":            "Restore your account",
	"lifecycle.restore.heading":          "Your account is scheduled for deletion",
	"lifecycle.restore.pending":          "Everything in it will be erased on",
	"lifecycle.restore.explain":          "Until then you can bring it back as it was. The apps you used will ask for your consent again.",
	"lifecycle.restore.button":           "Restore account",
	"lifecycle.restore.api_login":        "Sign in to the personal account of the account to restore.",
	"lifecycle.pending.title":            "Account scheduled for deletion",
	"lifecycle.pending.heading":          "This account is scheduled for deletion",
	"lifecycle.pending.app":              "%s cannot sign you in with it.",
	"lifecycle.pending.explain":          "An account waiting to be deleted can be restored only in the personal account: sign in there and choose Restore account.",
	"lifecycle.pending.personal":         "Sign in to your personal account",
	"lifecycle.pending.back":             "Back to %s",
	"lifecycle.mail.deleted.subject":     "Your account is scheduled for deletion",
	"lifecycle.mail.deleted.text":        "Your account was deleted and will be erased for good on %s. If this was not you, sign in to your personal account before then and choose Restore account, then change your password.",
	"events.category.deletion_requested": "Account deletion requested",
	"events.category.account_restored":   "Account restored",
}
