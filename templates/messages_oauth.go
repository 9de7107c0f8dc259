package templates

// oauthMessages holds the catalog entries of the protocol pages: logout confirmation, the
// demo app, and the pages cmd shows for refused requests.
var oauthMessages = map[string]string{
	// logout (RP-initiated logout confirmation and result)
	"logout.title_done":    "Signed out",
	"logout.title_ask":     "Sign out?",
	"logout.done_heading":  "You are signed out",
	"logout.done_text":     "You are no longer signed in to Facet on this device.",
	"logout.done_return":   "You can close this window or return to %s.",
	"logout.home":          "Go to the start page",
	"logout.ask_heading":   "Sign out of Facet?",
	"logout.app_asks":      "%s asks to sign you out.",
	"logout.signed_in_as":  "You are signed in as %s.",
	"logout.explain":       "Signing out ends your Facet session on this device; apps you use will ask you to sign in again.",
	"logout.submit":        "Sign out",
	"logout.stay":          "Stay signed in",
	"logout.not_signed_in": "You are not signed in to Facet on this device.",

	// demo app
	"demo.title":           "Demo app",
	"demo.app_name":        "Notes (demo app)",
	"demo.app_tagline":     "A separate app that signs in with Facet",
	"demo.footer":          "This sample app is not part of Facet: it only sees what you allow it on Facet's consent page.",
	"demo.intro":           "A sample app built into this Facet. It signs in with Facet the way any app does (OpenID Connect, authorization code with PKCE) and shows what Facet sent it.",
	"demo.signed_out":      "You are signed out of Facet.",
	"demo.signed_in":       "Signed in. Your subject identifier for this app is",
	"demo.id_token_claims": "ID token claims",
	"demo.userinfo":        "Userinfo",
	"demo.logout":          "Log out",
	"demo.back":            "Back to the demo start",
	"demo.sign_in":         "Sign in with Facet",
	"demo.issuer":          "Issuer",
	"demo.client":          "client",
	// demo errors (demoPage.Error holds one of these keys; ErrorDetail adds what Facet said)
	"demo.error.discovery":       "The demo app could not reach Facet's discovery document. Check that the issuer setting is the address this server is reached at.",
	"demo.error.start":           "The demo app could not start the sign-in. Please try again.",
	"demo.error.expired":         "This sign-in expired or was already completed. Start again with the button below.",
	"demo.error.state":           "The answer from Facet does not belong to this sign-in (state mismatch). Start again.",
	"demo.error.issuer":          "The answer came from another issuer than the one this app signed in with.",
	"demo.error.answered":        "Facet answered with an error:",
	"demo.error.exchange":        "Facet refused to exchange the authorization code for tokens. Start again.",
	"demo.error.no_id_token":     "Facet's token response had no ID token.",
	"demo.error.id_token":        "The ID token from Facet did not verify.",
	"demo.error.nonce":           "The ID token's nonce does not match this sign-in.",
	"demo.error.claims":          "The ID token's claims could not be read.",
	"demo.error.userinfo":        "Facet's userinfo endpoint did not answer as expected.",
	"demo.error.userinfo_claims": "The userinfo answer could not be read.",

	// cross-origin refusal (cmd's http.CrossOriginProtection deny handler)
	"crossorigin.title":   "Request refused",
	"crossorigin.message": "This form was sent from another site, so Facet refused it.",
	"crossorigin.next":    "Go back to Facet, reload the page and try again.",

	// authorization requests that cannot be answered with a redirect to the app
	"authorize.error.title":          "This sign-in link does not work",
	"authorize.error.message":        "The app sent a request Facet cannot accept.",
	"authorize.error.unknown_client": "The app that sent you here is not registered with Facet.",
	"authorize.error.redirect_uri":   "The app asked Facet to send you back to an address it has not registered, so Facet stopped here to protect you.",
	"authorize.error.next":           "Go back to the app and try again. If it keeps happening, tell the app's support.",

	// form_post response (the page that posts the authorization response to the app)
	"formpost.title":    "Returning to the app",
	"formpost.heading":  "Returning you to the app",
	"formpost.text":     "If the app does not open by itself, press Continue.",
	"formpost.continue": "Continue",
	"closed.title":      "Invitation only",
	"closed.heading":    "%s is invitation-only",
	"closed.message":    "Only people invited by the administrators of %s can sign in to it, and your account has no invitation.",
	"closed.next":       "If you expected access, ask the app's administrators for an invitation to the email address of your account.",
	"closed.back":       "Back to %s",
	"closed.profile":    "Go to your profile",
}
