package consent

import (
	"slices"

	"github.com/facetid/facet/storage"
)

// Request is what an authorization request asks of a user's profile: its scopes and its
// claims parameter. Ask says the app wants the consent page shown even when the grant
// covers the request (prompt=consent, OIDC Core §3.1.2.1).
type Request struct {
	Scopes []string
	Claims ClaimsRequest
	Ask    bool
}

// fields returns the profile fields (catalog keys) the request asks for, through its scopes
// or either member of its claims parameter, in catalog order.
func (r Request) fields() []string {
	var out []string
	add := func(claim string) {
		for _, f := range fieldsOf(claim) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	for _, c := range allClaims {
		if inScopes(r.Scopes, c) || slices.Contains(r.Claims.Userinfo, c) || slices.Contains(r.Claims.IDToken, c) {
			add(c)
		}
	}
	return out
}

// PromptInput is what the consent decision reads: the user's current values and levels, the
// private-profile switch, the existing grant (zero when there is none), the claims the user
// declined for this app before, and the request.
type PromptInput struct {
	User           storage.User
	Fields         []storage.ProfileField
	Catalog        *Catalog
	PrivateProfile bool
	Grant          storage.Grant
	Declined       []string
	Request        Request
}

// Prompt is the consent decision for one authorization request. Fields are catalog keys
// (which are also the claim names a grant lists), in catalog order; only fields that hold a
// value are listed.
type Prompt struct {
	// Public are shared without asking: the user made them public.
	Public []string
	// OnRequest need the user's permission; the page shows each with a checkbox.
	OnRequest []string
	// Private were asked for and are kept private.
	Private []string
	// Pending are the on-request fields the user never decided on for this app: neither in
	// the grant nor declined before.
	Pending []string
	// Declined are the on-request fields the user declined for this app before; they are
	// not asked again, and the page shows them unticked.
	Declined []string
	// NewScopes are requested scopes the grant does not cover yet.
	NewScopes []string
	// Released names every claim the app would receive (userinfo and ID token, by Release)
	// if the user allowed every on-request field: the fields themselves and the claims made
	// from them (name, updated_at, the verified flags), and sub. The consent page lists each.
	// It is decided only when the page is shown (not Covered, or Request.Ask): a sign-in
	// the grant covers does not pay for it.
	Released []string
	// Granted says the user decided on this app before (a grant, or claims declined).
	Granted bool
}

// Covered reports whether the existing grant covers the request, so the consent page may be
// skipped (unless the app asked for prompt=consent).
func (p Prompt) Covered() bool { return len(p.Pending) == 0 && len(p.NewScopes) == 0 }

// Decide sorts the requested fields by their effective level and finds what the user has not
// decided yet: a scope not granted before, or an on-request field neither granted nor
// declined before (including one the user has since moved from private to on request). A
// declined field stays declined until the user allows it: it is not asked again. Public
// fields need no consent (and are not recorded in the grant, so turning on the private
// profile asks again). Released comes from Release itself, so what the page lists is what
// the one function enforcing the levels gives out. Decide is pure.
func Decide(in PromptInput) Prompt { return decide(in, true) }

// decide is Decide; without page, Released is left out (no page will show it).
func decide(in PromptInput, page bool) Prompt {
	p := Prompt{Granted: in.Grant.ClientID != "" || len(in.Declined) > 0}
	values := make(map[string]storage.ProfileField, len(in.Fields))
	for _, f := range in.Fields {
		values[f.Field] = f
	}
	for _, key := range in.Request.fields() {
		has := values[key].Value != ""
		if key == "email" {
			has = in.User.Email != ""
		}
		if !has {
			continue
		}
		switch Effective(FieldLevel(in.Catalog, key, values[key].Privacy), in.PrivateProfile) {
		case LevelPublic:
			p.Public = append(p.Public, key)
		case LevelOnRequest:
			p.OnRequest = append(p.OnRequest, key)
			switch {
			case slices.Contains(in.Grant.Claims, key):
			case slices.Contains(in.Declined, key):
				p.Declined = append(p.Declined, key)
			default:
				p.Pending = append(p.Pending, key)
			}
		case LevelPrivate:
			p.Private = append(p.Private, key)
		default:
			p.Private = append(p.Private, key)
		}
	}
	for _, s := range in.Request.Scopes {
		if !slices.Contains(in.Grant.Scopes, s) {
			p.NewScopes = append(p.NewScopes, s)
		}
	}
	if page && (!p.Covered() || in.Request.Ask) {
		p.Released = released(in, p.OnRequest)
	}
	return p
}

// released names the claims Release gives the app through userinfo or the ID token once
// the request's scopes are granted and the grant holds offered too, in the order of Claims.
func released(in PromptInput, offered []string) []string {
	grant := in.Grant
	grant.Claims = union(in.Grant.Claims, offered)
	names := map[string]bool{}
	for _, target := range []Target{TargetUserinfo, TargetIDToken} {
		for k := range Release(ReleaseInput{Target: target, User: in.User, Fields: in.Fields, Catalog: in.Catalog,
			PrivateProfile: in.PrivateProfile, Grant: grant, Scopes: in.Request.Scopes, Claims: in.Request.Claims}) {
			names[k] = true
		}
	}
	var out []string
	for _, c := range Claims() {
		if names[c] {
			out = append(out, c)
		}
	}
	return out
}

// Decision is the user's answer on the consent page: the on-request fields allowed, and
// those declined (offered but left unticked).
type Decision struct {
	Allowed, Declined []string
}

// Answer returns the decision a consent form makes: the claims of checked that the page
// offered are allowed, every other offered claim is declined. Anything else in the form is
// ignored.
func (p Prompt) Answer(checked []string) Decision {
	var d Decision
	for _, c := range p.OnRequest {
		if slices.Contains(checked, c) {
			d.Allowed = append(d.Allowed, c)
		} else {
			d.Declined = append(d.Declined, c)
		}
	}
	return d
}

// Allowed returns the claims a consent form may grant: those of checked that the page offered
// (the prompt's on-request fields). Anything else in the form is ignored.
func (p Prompt) Allowed(checked []string) []string { return p.Answer(checked).Allowed }
