package templates

import (
	"net/http"
	"strconv"
)

// english is the message catalog: every text a person reads on a page, keyed by a stable
// name. Another language is another set of maps with the same keys (messages*_ru.go), and
// the same %-verbs in each text: a key added here needs its translation there, or
// TestCatalogComplete fails. Values with %s / %d take the arguments given to T. A text
// that depends on a count is a plural family: key.one and key.other in English, plus the
// forms another language needs (Russian: key.few and key.many), chosen by Lang.N. Keep keys
// grouped by page, in the order they appear.
var english = map[string]string{
	// layout
	"app.lang":         "en",
	"app.name":         "Facet",
	"app.tagline":      "Your profile, your rules.",
	"nav.main":         "Main",
	"nav.skip":         "Skip to content",
	"nav.login":        "Log in",
	"nav.register":     "Register",
	"nav.logout":       "Log out",
	"nav.account_menu": "Account menu of %s",
	"nav.profile":      "Your profile",
	"nav.events":       "Event log",
	"footer.text":      "Facet keeps your profile under your control.",

	// home
	"home.title":        "Facet",
	"home.signed_out":   "Facet is where you keep your profile and decide which apps see what.",
	"home.have_account": "Already have an account?",
	"home.no_account":   "New here?",

	// login
	"login.title":             "Log in",
	"login.heading":           "Log in to Facet",
	"login.continue_to":       "to continue to %s",
	"login.email":             "Email or username",
	"login.password":          "Password",
	"login.submit":            "Log in",
	"login.no_account":        "No account yet?",
	"login.register_link":     "Create one",
	"login.logged_out":        "You have been logged out.",
	"login.failed":            "The email, username or password is not correct.",
	"login.throttled.one":     "Too many attempts. Try again in %d minute.",
	"login.throttled.other":   "Too many attempts. Try again in %d minutes.",
	"login.email_required":    "Enter your email address or username.",
	"login.password_required": "Enter your password.",

	// register
	"register.title":            "Create your account",
	"register.heading":          "Create your Facet account",
	"register.name":             "Name",
	"register.name_hint":        "Optional here. If your name is required, Facet asks for it before an app signs you in. You choose who may see it.",
	"register.email":            "Email",
	"register.password":         "Password",
	"register.password_hint":    "At least 8 characters. A phrase of a few words is easy to remember and hard to guess.",
	"register.confirm":          "Repeat password",
	"register.submit":           "Create account",
	"register.have_account":     "Already have an account?",
	"register.login_link":       "Log in",
	"register.email_required":   "Enter your email address.",
	"register.email_invalid":    "Enter an email address like name@example.com.",
	"register.password_short":   "Use at least 8 characters.",
	"register.password_long":    "Use at most 128 characters.",
	"register.password_common":  "This password is too common and easy to guess. Choose another one.",
	"register.password_invalid": "The password contains characters that cannot be used.",
	"register.confirm_mismatch": "The two passwords do not match.",
	"register.name_long":        "Use at most 200 characters for your name.",
	"register.name_invalid":     "The name contains characters that cannot be used.",

	// dates (Lang.Date, Lang.DateTime): day, month, year as text
	"date.long":           "%[1]s %[2]s %[3]s",
	"date.time":           "%[1]s %[2]s %[3]s, %[4]s",
	"date.month.1":        "January",
	"date.month.2":        "February",
	"date.month.3":        "March",
	"date.month.4":        "April",
	"date.month.5":        "May",
	"date.month.6":        "June",
	"date.month.7":        "July",
	"date.month.8":        "August",
	"date.month.9":        "September",
	"date.month.10":       "October",
	"date.month.11":       "November",
	"date.month.12":       "December",
	"date.month_short.1":  "Jan",
	"date.month_short.2":  "Feb",
	"date.month_short.3":  "Mar",
	"date.month_short.4":  "Apr",
	"date.month_short.5":  "May",
	"date.month_short.6":  "Jun",
	"date.month_short.7":  "Jul",
	"date.month_short.8":  "Aug",
	"date.month_short.9":  "Sep",
	"date.month_short.10": "Oct",
	"date.month_short.11": "Nov",
	"date.month_short.12": "Dec",

	// confirmations
	"confirm.cancel": "Cancel",

	// error
	"error.title":          "Something went wrong",
	"error.reference":      "Reference: %s",
	"error.reference_hint": "If you contact support, mention this reference.",
	"error.home":           "Go to the start page",
	"error.400.title":      "This request could not be understood",
	"error.400.message":    "The form you sent was incomplete or damaged.",
	"error.400.next":       "Go back, reload the page and try again.",
	"error.403.title":      "Not allowed",
	"error.403.message":    "You are not allowed to do this.",
	"error.403.next":       "If you think this is a mistake, sign in with another account.",
	"error.404.title":      "Page not found",
	"error.404.message":    "There is nothing at this address.",
	"error.404.next":       "Check the address, or start again from the start page.",
	"error.405.title":      "This action is not available here",
	"error.405.message":    "The page does not accept this kind of request.",
	"error.405.next":       "Go back and use the buttons on the page.",
	"error.413.title":      "Too much data",
	"error.413.message":    "The form you sent was larger than Facet accepts.",
	"error.413.next":       "Go back, shorten what you entered and try again.",
	"error.429.title":      "Too many requests",
	"error.429.message":    "There were too many attempts in a short time.",
	"error.429.next":       "Wait a few minutes, then try again.",
	"error.500.title":      "Something went wrong on our side",
	"error.500.message":    "Facet could not finish your request. Nothing you did caused this.",
	"error.500.next":       "Try again in a moment. If it keeps happening, contact support.",
	"error.503.title":      "Facet is busy",
	"error.503.message":    "Facet cannot answer right now.",
	"error.503.next":       "Try again in a moment.",
}

// T returns the English catalog text for key, formatted with args: for text with no reader
// whose language is known (the command line, the logs). Anything a request answers with takes
// the request's language instead: Tr(ctx, ...), or Lang.T.
func T(key string, args ...any) string {
	return English.T(key, args...)
}

// HasMessage reports whether key is in the catalog.
func HasMessage(key string) bool {
	_, ok := message(key)
	return ok
}

// statusKey returns the catalog prefix for an error status ("error.404"), falling back to the
// nearest class (4xx → 400, 5xx → 500).
func statusKey(status int) string {
	if HasMessage("error." + strconv.Itoa(status) + ".title") {
		return "error." + strconv.Itoa(status)
	}
	if status >= 400 && status < 500 {
		return "error.400"
	}
	return "error.500"
}

// Key is the catalog prefix of Status's texts ("error.404"); error.html reads its title,
// message and advice from it when Title, Message or Next is empty.
func (e ErrorPage) Key() string { return statusKey(e.Status) }

// PageTitle returns Title or the catalog's title for Status, in English.
func (e ErrorPage) PageTitle() string { return e.TitleIn(English) }

// TitleIn returns Title or the catalog's title for Status in l.
func (e ErrorPage) TitleIn(l Lang) string {
	if e.Title != "" {
		return e.Title
	}
	return l.T(e.Key() + ".title")
}

// Text returns Message or the catalog's message for Status, in English.
func (e ErrorPage) Text() string { return e.TextIn(English) }

// TextIn returns Message or the catalog's message for Status in l.
func (e ErrorPage) TextIn(l Lang) string {
	if e.Message != "" {
		return e.Message
	}
	return l.T(e.Key() + ".message")
}

// NextStep returns Next or the catalog's advice for Status, in English.
func (e ErrorPage) NextStep() string { return e.NextIn(English) }

// NextIn returns Next or the catalog's advice for Status in l.
func (e ErrorPage) NextIn(l Lang) string {
	if e.Next != "" {
		return e.Next
	}
	return l.T(e.Key() + ".next")
}

// StatusText is the standard reason phrase of Status, for the page's small print.
func (e ErrorPage) StatusText() string {
	return http.StatusText(e.Status)
}

// message looks key up in the English catalog: the core map above and one map per area,
// each in its own file (messages_*.go) so that areas grow without touching each other.
func message(key string) (string, bool) {
	for _, m := range englishAreas() {
		if s, ok := m[key]; ok {
			return s, true
		}
	}
	return "", false
}

// englishAreas are the maps of the English catalog. A new area's map is added here, and its
// translation to each language's list (russianAreas).
func englishAreas() []map[string]string {
	return []map[string]string{english, accountMessages, contactsMessages, eventsMessages, privacyMessages, oauthMessages, appsMessages, recoveryMessages, lifecycleMessages, federationMessages, cardMessages, inviteMessages, mfaMessages, catalogMessages}
}
