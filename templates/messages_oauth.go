package templates

// oauthMessages holds the catalog entries of the protocol pages: logout confirmation and the demo app.
var oauthMessages = map[string]string{}
