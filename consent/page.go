package consent

import (
	"slices"

	"github.com/facetid/facet/storage"
)

// Page is the data of the consent page: the app (name, logo, links), the requested claims in
// three groups and the other things the app asks to do. Labels and texts are message catalog
// keys; the template prints them with {{T}}.
type Page struct {
	AppName, AppLogo, AppHome, AppPolicy, AppDescription string

	// Public: "Shared, because you made it public" — no consent needed.
	Public []PageClaim
	// OnRequest: "Asks for your permission" — one checkbox each, checked by default.
	OnRequest []PageClaim
	// Private: "Kept private" — asked for, not released; the page links to the settings.
	Private []PageClaim
	// Scopes are the requested scopes that carry no profile claims (openid, offline_access,
	// account, the app's API scopes), in plain words.
	Scopes []PageScope
}

// PageClaim is one claim on the consent page. Claim is its name (the checkbox value), Label
// the message key of the field's name, New whether the existing grant lacks it.
type PageClaim struct {
	Claim, Label string
	New          bool
}

// PageScope is one scope on the consent page: Text is a message key; an app's own scope has
// Text "consent.scope.other" and shows Name.
type PageScope struct {
	Name, Text string
}

// scopeText are the message keys naming each known scope that carries no profile claims.
var scopeText = map[string]string{
	"openid":         "consent.scope.openid",
	"offline_access": "consent.scope.offline_access",
	"account":        "consent.scope.account",
}

// ScopeText returns the message key describing scope in plain words, and false for a scope
// Facet does not know (an app's API scope), which "consent.scope.other" names with %s.
func ScopeText(scope string) (string, bool) {
	if k, ok := scopeText[scope]; ok {
		return k, true
	}
	if _, ok := scopeClaims[scope]; ok {
		return "consent.scope." + scope, true
	}
	return "consent.scope.other", false
}

// NewPage builds the consent page for client from the decision pr and the requested scopes.
func NewPage(client storage.Client, pr Prompt, scopes []string) Page {
	p := Page{
		AppName: client.Name, AppLogo: client.LogoURI, AppHome: client.HomeURI,
		AppPolicy: client.PolicyURI, AppDescription: client.Description,
	}
	if p.AppName == "" {
		p.AppName = client.ID
	}
	claim := func(key string) PageClaim {
		return PageClaim{Claim: key, Label: "field." + key, New: slices.Contains(pr.Pending, key)}
	}
	for _, k := range pr.Public {
		p.Public = append(p.Public, claim(k))
	}
	for _, k := range pr.OnRequest {
		p.OnRequest = append(p.OnRequest, claim(k))
	}
	for _, k := range pr.Private {
		p.Private = append(p.Private, claim(k))
	}
	for _, s := range scopes {
		if _, carries := scopeClaims[s]; carries {
			continue // shown through its claims
		}
		text, _ := ScopeText(s)
		p.Scopes = append(p.Scopes, PageScope{Name: s, Text: text})
	}
	return p
}
