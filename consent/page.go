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
	// Derived: "Also shared, made from the details above" — the claims Release composes from
	// the fields listed (Full name, when the profile was last updated, whether the email
	// address is verified), each released only with the fields it is made of.
	Derived []PageClaim
	// Private: "Kept private" — asked for, not released; the page links to the settings.
	Private []PageClaim
	// Scopes are the requested scopes that carry no profile claims (openid, offline_access,
	// account, the app's API scopes), in plain words.
	Scopes []PageScope
}

// PageClaim is one claim on the consent page. Claim is its name (the checkbox value), Label
// the message key of its name. New: the user never decided on it for this app; Checked: the
// checkbox starts ticked (every on-request claim but those declined before).
type PageClaim struct {
	Claim, Label string
	New          bool
	Checked      bool
}

// PageScope is one scope on the consent page: Text is a message key; an app's own scope has
// Text "consent.scope.other" and shows Name. Claims are the claims it releases on its own
// (openid: sub).
type PageScope struct {
	Name, Text string
	Claims     []string
}

// derivedLabel are the message keys naming the claims Release makes from fields rather than
// copies from one: sub stands for the account itself.
var derivedLabel = map[string]string{
	"sub":                   "claim.sub",
	"name":                  "claim.name",
	"updated_at":            "claim.updated_at",
	"email_verified":        "claim.email_verified",
	"phone_number_verified": "claim.phone_number_verified",
}

// DerivedLabel returns the message key naming a claim Release derives (sub, name,
// updated_at, email_verified, phone_number_verified), and false for any other claim.
func DerivedLabel(claim string) (string, bool) {
	k, ok := derivedLabel[claim]
	return k, ok
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
		return PageClaim{Claim: key, Label: "field." + key, New: slices.Contains(pr.Pending, key),
			Checked: !slices.Contains(pr.Declined, key)}
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
	openid := slices.Contains(scopes, "openid")
	for _, s := range scopes {
		if _, carries := scopeClaims[s]; carries {
			continue // shown through its claims
		}
		text, _ := ScopeText(s)
		ps := PageScope{Name: s, Text: text}
		if s == "openid" && slices.Contains(pr.Released, "sub") {
			ps.Claims = []string{"sub"}
		}
		p.Scopes = append(p.Scopes, ps)
	}
	// Every released claim is on the page: the fields in their groups above, the rest here.
	listed := slices.Concat(pr.Public, pr.OnRequest)
	for _, c := range pr.Released {
		if slices.Contains(listed, c) || (c == "sub" && openid) {
			continue
		}
		label, ok := DerivedLabel(c)
		if !ok {
			label = "field." + c
		}
		p.Derived = append(p.Derived, PageClaim{Claim: c, Label: label})
	}
	return p
}

// Claims names every claim the page lists as shared: the public, on-request and derived
// claims, and those of the scopes.
func (p Page) Claims() []string {
	var out []string
	for _, group := range [][]PageClaim{p.Public, p.OnRequest, p.Derived} {
		for _, c := range group {
			out = append(out, c.Claim)
		}
	}
	for _, s := range p.Scopes {
		out = append(out, s.Claims...)
	}
	return out
}
