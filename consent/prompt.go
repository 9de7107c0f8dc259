package consent

import (
	"slices"

	"github.com/facetid/facet/storage"
)

// Request is what an authorization request asks of a user's profile: its scopes and its
// claims parameter.
type Request struct {
	Scopes []string
	Claims ClaimsRequest
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
// private-profile switch, the existing grant (zero when there is none) and the request.
type PromptInput struct {
	User           storage.User
	Fields         []storage.ProfileField
	Catalog        *Catalog
	PrivateProfile bool
	Grant          storage.Grant
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
	// Pending are the on-request fields the grant does not cover yet.
	Pending []string
	// NewScopes are requested scopes the grant does not cover yet.
	NewScopes []string
	// Granted says the user had a grant for the app already (allowed it before).
	Granted bool
}

// Covered reports whether the existing grant covers the request, so the consent page may be
// skipped (unless the app asked for prompt=consent).
func (p Prompt) Covered() bool { return len(p.Pending) == 0 && len(p.NewScopes) == 0 }

// Decide sorts the requested fields by their effective level and finds what the grant does
// not cover: a scope not granted before, or an on-request field not granted before (including
// one the user has since moved from private to on request). Public fields need no consent
// (and are not recorded in the grant, so turning on the private profile asks again). Decide
// is pure.
func Decide(in PromptInput) Prompt {
	p := Prompt{Granted: in.Grant.ClientID != ""}
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
			if !slices.Contains(in.Grant.Claims, key) {
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
	return p
}

// Allowed returns the claims a consent form may grant: those of checked that the page offered
// (the prompt's on-request fields). Anything else in the form is ignored.
func (p Prompt) Allowed(checked []string) []string {
	var out []string
	for _, c := range p.OnRequest {
		if slices.Contains(checked, c) {
			out = append(out, c)
		}
	}
	return out
}
