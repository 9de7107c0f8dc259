package templates

// eventsMessages holds the catalog entries of the Event Log tab.
var eventsMessages = map[string]string{
	// the Event Log tab (events.html)
	"events.title":                 "Event Log",
	"events.heading":               "Event Log",
	"events.intro":                 "Where and from which devices you signed in to Facet or to apps, and what changed in your account. If you do not recognise an event, change your password.",
	"events.filter.label":          "Filter events",
	"events.filter.category":       "Event",
	"events.filter.all_categories": "All events",
	"events.filter.app":            "App",
	"events.filter.all_apps":       "All apps",
	"events.filter.submit":         "Show",
	"events.filter.clear":          "Show all events",
	"events.table.caption":         "Your account's events, newest first. Times in %s.",
	"events.col.header":            "Event",
	"events.col.time":              "Date and time",
	"events.col.app":               "App",
	"events.col.device":            "Device",
	"events.col.location":          "Location (IP address)",
	"events.app.none":              "Facet",
	"events.unknown":               "Unknown",
	"events.empty":                 "No events yet.",
	"events.empty_filtered":        "No events match this filter.",
	"events.pages":                 "More events",
	"events.newest":                "Newest events",
	"events.older":                 "Older events",
	"events.retention_note":        "Events are kept for a limited time and then deleted.",

	// event headers, one per category (profile/events.go)
	"events.category.login":            "Signed in",
	"events.category.login_failed":     "Failed sign-in attempt",
	"events.category.logout":           "Signed out",
	"events.category.registration":     "Account created",
	"events.category.profile_updated":  "Profile changed",
	"events.category.photo_changed":    "Photo changed",
	"events.category.photo_deleted":    "Photo deleted",
	"events.category.email_changed":    "Email address changed",
	"events.category.email_verified":   "Email address verified",
	"events.category.email_deleted":    "Email address deleted",
	"events.category.phone_changed":    "Phone number changed",
	"events.category.phone_deleted":    "Phone number deleted",
	"events.category.password_changed": "Password changed",
	"events.category.privacy_changed":  "Privacy settings changed",

	// device types (from the User-Agent)
	"events.device.desktop": "Computer",
	"events.device.mobile":  "Phone",
	"events.device.tablet":  "Tablet",
	"events.device.tv":      "TV",
	"events.device.bot":     "Automated client",
	"events.device.cli":     "Command line",
	"events.device.unknown": "Unknown device",

	// detail labels (an event's details map)
	"events.detail.method": "Method",
	"events.detail.fields": "Changed fields",
	"events.detail.scopes": "Permissions",
	"events.detail.count":  "Number",

	// one event (event.html)
	"event.title":    "Event",
	"event.back":     "Back to the Event Log",
	"event.header":   "Event",
	"event.time":     "Date and time",
	"event.app":      "App",
	"event.user":     "User",
	"event.device":   "Device",
	"event.browser":  "Browser",
	"event.os":       "Operating system",
	"event.location": "Location (IP address)",
}
