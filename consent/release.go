package consent

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/facetid/facet/storage"
)

// Privacy levels a profile field can have (DESIGN.md "Privacy and consent").
const (
	LevelPrivate   = "private"    // only the user sees it
	LevelOnRequest = "on_request" // an app gets it only with the user's consent for that claim
	LevelPublic    = "public"     // an app gets it whenever its scopes ask for it
)

// scopeClaims maps each OpenID Connect scope to the claims it requests
// (OpenID Connect Core 1.0 §5.4). "openid" itself carries only sub.
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"phone":   {"phone_number", "phone_number_verified"},
	"address": {"address"},
}

// scopeText is how the consent page names each scope in plain words.
var scopeText = map[string]string{
	"openid":         "Know who you are when you sign in",
	"profile":        "Your name and basic profile (photo, birth date, language, time zone)",
	"email":          "Your email address",
	"phone":          "Your phone number",
	"address":        "Your postal address",
	"offline_access": "Stay connected when you are not using the app",
}

// Scopes lists the scopes Facet knows, for discovery's scopes_supported.
func Scopes() []string {
	return []string{"openid", "profile", "email", "phone", "address", "offline_access"}
}

// Claims lists every claim Release can produce, for discovery's claims_supported.
func Claims() []string {
	out := []string{"sub"}
	for _, s := range []string{"profile", "email", "phone", "address"} {
		out = append(out, scopeClaims[s]...)
	}
	return out
}

// ScopeDescription is the plain-words description of scope for the consent page; an
// unknown scope (an API scope of the app) is shown by its name.
func ScopeDescription(scope string) string {
	if t, ok := scopeText[scope]; ok {
		return t
	}
	return "Access “" + scope + "”"
}

// ClaimsForScopes returns the claims the given scopes request, in catalog order.
func ClaimsForScopes(scopes []string) []string {
	var out []string
	for _, s := range []string{"profile", "email", "phone", "address"} {
		if slices.Contains(scopes, s) {
			out = append(out, scopeClaims[s]...)
		}
	}
	return out
}

// ReleaseInput is everything Release decides from: the user, their profile fields with
// their privacy levels, the user's grant for the audience, and the scopes of the request.
type ReleaseInput struct {
	User   storage.User
	Fields []storage.ProfileField
	Grant  storage.Grant
	Scopes []string
}

// Release returns the claims an audience receives: sub always, and each claim a granted
// scope asks for when its field's privacy level allows it:
//
//   - public: released whenever the scope asks for it;
//   - on_request: released only when the grant lists the claim (the user consented to it);
//   - private, empty or unknown: never (privacy fails closed).
//
// The account email has no profile field of its own unless the user set a level for an
// "email" field; without one it is treated as on_request. Values are read at call time, so a
// field made private after consent stops flowing at once. Release is pure: same input, same
// output, no I/O.
func Release(in ReleaseInput) map[string]any {
	out := map[string]any{"sub": in.User.ID}
	fields := make(map[string]storage.ProfileField, len(in.Fields))
	for _, f := range in.Fields {
		fields[f.Field] = f
	}
	allowed := func(claim, level string) bool {
		switch level {
		case LevelPublic:
			return true
		case LevelOnRequest:
			return slices.Contains(in.Grant.Claims, claim)
		default: // private, "", unknown
			return false
		}
	}
	has := func(scope string) bool { return slices.Contains(in.Scopes, scope) }

	if has("email") && in.User.Email != "" {
		level := LevelOnRequest
		if f, ok := fields["email"]; ok {
			level = f.Privacy
		}
		if allowed("email", level) {
			out["email"] = in.User.Email
			out["email_verified"] = in.User.EmailVerified
		}
	}

	if has("profile") {
		updated := in.User.UpdatedAt
		released := false
		for _, claim := range scopeClaims["profile"] {
			f, ok := fields[claim]
			if claim == "updated_at" || !ok || f.Value == "" || !allowed(claim, f.Privacy) {
				continue
			}
			out[claim] = f.Value
			released = true
			if f.UpdatedAt.After(updated) {
				updated = f.UpdatedAt
			}
		}
		if released && !updated.IsZero() {
			out["updated_at"] = updated.Unix()
		}
	}

	if has("phone") {
		if f, ok := fields["phone_number"]; ok && f.Value != "" && allowed("phone_number", f.Privacy) {
			out["phone_number"] = f.Value
			v := fields["phone_number_verified"]
			out["phone_number_verified"] = v.Value == "true"
		}
	}

	if has("address") {
		if f, ok := fields["address"]; ok && f.Value != "" && allowed("address", f.Privacy) {
			out["address"] = addressClaim(f.Value)
		}
	}
	return out
}

// addressClaim turns a stored address into the OIDC address object (Core §5.1.1): a JSON
// object is passed through, anything else is the "formatted" member.
func addressClaim(v string) map[string]any {
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err == nil {
			return m
		}
	}
	return map[string]any{"formatted": v}
}
