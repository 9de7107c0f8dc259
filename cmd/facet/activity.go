package main

import (
	"net/http"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/profile"
)

// appActivity records oauth's app activity through the activity log's recorder, with the
// request's Origin as profile builds it (client address through trusted proxies, device and
// browser from the User-Agent).
type appActivity struct {
	origin func(*http.Request) profile.Origin
	events profile.Recorder
}

var _ oauth.ActivityRecorder = appActivity{}

// RecordAppActivity writes one event (one INSERT).
func (a appActivity) RecordAppActivity(r *http.Request, userID string, e oauth.AppActivity) {
	a.events.Record(r.Context(), a.origin(r), userID, profile.Event{Category: appCategory(e.Kind), ClientID: e.ClientID, Details: e.Details})
}

// appCategory is the activity log's category of an app activity kind.
func appCategory(k oauth.ActivityKind) string {
	switch k {
	case oauth.ActivityConsentGiven:
		return profile.CategoryAppConsentGiven
	case oauth.ActivityConsentChanged:
		return profile.CategoryAppConsentChanged
	case oauth.ActivityConsentDenied:
		return profile.CategoryAppConsentDenied
	case oauth.ActivitySignIn:
		return profile.CategoryAppSignIn
	case oauth.ActivityOffline:
		return profile.CategoryAppOffline
	}
	// A kind added to oauth without a category here; TestAppCategories catches it.
	return "app_unknown"
}
