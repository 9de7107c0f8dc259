package templates

// catalogMessages holds the catalog entries of the application catalog: the Catalog button
// and window (catalog/catalog.html), the stars, the sidebar's favorites and the API's errors.
var catalogMessages = map[string]string{
	"catalog.button":          "Catalog",
	"catalog.title":           "Catalog",
	"catalog.intro":           "Apps you can sign in to with your Facet account. Choose one to open it; the star keeps it in your favorites.",
	"catalog.empty":           "There are no apps in the catalog yet.",
	"catalog.group.other":     "Other",
	"catalog.no_home":         "This app has no home page to open.",
	"catalog.star.add":        "Add %s to favorites",
	"catalog.star.remove":     "Remove %s from favorites",
	"catalog.notice.added":    "%s is in your favorites.",
	"catalog.notice.removed":  "%s is no longer in your favorites.",
	"catalog.favorites.empty": "Star an app in the catalog to keep it here.",
	"catalog.api.not_found":   "There is no such app in your catalog.",
}
