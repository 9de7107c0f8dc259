package oauth

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// ActivityRecorder adds what an app did with a user's account to the user's activity log
// (the spec's "where and from which devices you logged into … applications"). cmd wires the
// activity log's recorder behind it; the request gives the device and the IP address. A
// record is one INSERT and never fails the request it records. Logouts are recorded by
// Sessions.End.
type ActivityRecorder interface {
	RecordAppActivity(r *http.Request, userID string, a AppActivity)
}

// ActivityKind says what an app did.
type ActivityKind int

// The kinds of app activity.
const (
	// ActivityConsentGiven: the user pressed Allow on the consent page of an app they had
	// never allowed before.
	ActivityConsentGiven ActivityKind = iota + 1
	// ActivityConsentChanged: the user pressed Allow for an app already allowed (the app
	// asked for more, or for consent again).
	ActivityConsentChanged
	// ActivityConsentDenied: the user pressed Deny on the consent page.
	ActivityConsentDenied
	// ActivitySignIn: an authorization code was issued, after a login form or on the
	// browser session alone.
	ActivitySignIn
	// ActivityOffline: the first refresh token of a grant was issued (a refresh-token family
	// started): the app stays connected while the user is away.
	ActivityOffline
)

// ActivityKinds lists every kind, for the wiring's exhaustiveness test.
func ActivityKinds() []ActivityKind {
	return []ActivityKind{ActivityConsentGiven, ActivityConsentChanged, ActivityConsentDenied, ActivitySignIn, ActivityOffline}
}

// AppActivity is one event of an app. Details names what was shared, never values or
// secrets: DetailScopes, DetailClaims, DetailDeclined, DetailPublic hold comma-separated
// scope or claim names; DetailAuthTime the RFC 3339 time of the browser sign-in used.
type AppActivity struct {
	Kind     ActivityKind
	ClientID string
	Details  map[string]string
}

// Detail keys of AppActivity.
const (
	DetailScopes   = "scopes"    // scopes granted
	DetailClaims   = "claims"    // on-request claims the user allowed
	DetailDeclined = "declined"  // on-request claims the user left unticked
	DetailPublic   = "public"    // claims shared without asking (the user made them public)
	DetailAuthTime = "auth_time" // when the user signed in to Facet (the session an app reused)
)

// noActivity records nothing: the endpoints of a provider built without a recorder.
type noActivity struct{}

func (noActivity) RecordAppActivity(*http.Request, string, AppActivity) {}

// detailList joins names for a detail ("" for none).
func detailList(names []string) string { return strings.Join(names, ",") }

// consentActivity is the event of the consent page's Allow: which on-request claims were
// allowed and which left unticked, what was shared because public, and the scopes.
func consentActivity(clientID string, granted bool, scopes, public, offered, allowed []string) AppActivity {
	kind := ActivityConsentGiven
	if granted {
		kind = ActivityConsentChanged
	}
	d := map[string]string{}
	put := func(k string, v []string) {
		if len(v) > 0 {
			d[k] = detailList(v)
		}
	}
	put(DetailScopes, scopes)
	put(DetailClaims, allowed)
	put(DetailDeclined, slices.DeleteFunc(slices.Clone(offered), func(c string) bool { return slices.Contains(allowed, c) }))
	put(DetailPublic, public)
	return AppActivity{Kind: kind, ClientID: clientID, Details: d}
}

// signInActivity is the event of an issued authorization code: the scopes granted and when
// the browser session it rests on was signed in.
func signInActivity(ar fosite.AuthorizeRequester, authTime time.Time) AppActivity {
	d := map[string]string{}
	if s := ar.GetGrantedScopes(); len(s) > 0 {
		d[DetailScopes] = detailList(s)
	}
	if !authTime.IsZero() {
		d[DetailAuthTime] = authTime.UTC().Format(time.RFC3339)
	}
	return AppActivity{Kind: ActivitySignIn, ClientID: ar.GetClient().GetID(), Details: d}
}

// familyStarted reports whether a token response starts a refresh-token family: the code
// exchange (the first token request of a grant) answered with a refresh token. A refresh
// continues a family and is not recorded.
func familyStarted(ar fosite.AccessRequester, resp fosite.AccessResponder) bool {
	if !ar.GetGrantTypes().ExactOne("authorization_code") {
		return false
	}
	rt, _ := resp.GetExtra("refresh_token").(string)
	return rt != ""
}
