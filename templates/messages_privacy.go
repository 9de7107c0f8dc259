package templates

// privacyMessages holds the catalog entries of privacy levels, the private-profile switch and the consent page.
var privacyMessages = map[string]string{}
