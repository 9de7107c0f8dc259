package consent

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// scopeClaims maps each OpenID Connect scope to the claims it requests (OIDC Core §5.4).
// "openid" itself carries only sub; "offline_access" and "account" carry none.
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"phone":   {"phone_number", "phone_number_verified"},
	"address": {"address"},
}

// claimScopes are the scopes that request claims, in the order claims are listed.
var claimScopes = []string{"profile", "email", "phone", "address"}

// allClaims lists every claim Release can produce besides sub, in catalog order; claimIndex
// answers "is this a claim Facet knows?".
var (
	allClaims  = slices.Concat(scopeClaims["profile"], scopeClaims["email"], scopeClaims["phone"], scopeClaims["address"])
	claimIndex = func() map[string]int {
		m := make(map[string]int, len(allClaims))
		for i, c := range allClaims {
			m[c] = i
		}
		return m
	}()
)

// claimFields names the profile fields (catalog keys) a claim is made of, when that is not
// the field of the same name: name is composed of the name parts; the verified flags travel
// with their claim (a released email carries email_verified). updated_at and profile have no
// field: updated_at is derived from the released fields, and Facet has no profile page URL.
var claimFields = map[string][]string{
	"name":                  {"given_name", "middle_name", "family_name"},
	"email_verified":        {"email"},
	"phone_number_verified": {"phone_number"},
	"updated_at":            nil,
	"profile":               nil,
}

// fieldsOf returns the fields claim is made of.
func fieldsOf(claim string) []string {
	if fs, ok := claimFields[claim]; ok {
		return fs
	}
	return []string{claim}
}

// Scopes lists the scopes Facet knows, for discovery's scopes_supported.
func Scopes() []string {
	return []string{"openid", "profile", "email", "phone", "address", "offline_access", "account"}
}

// Claims lists every claim Release can produce, for discovery's claims_supported.
func Claims() []string {
	return slices.Concat([]string{"sub"}, slices.DeleteFunc(slices.Clone(allClaims), func(c string) bool { return c == "profile" }))
}

// Target is where released claims go. Each target asks differently (see Release).
type Target int

// The targets of Release. The zero Target releases sub only.
const (
	TargetUserinfo      Target = iota + 1 // the UserInfo response (OIDC Core §5.3)
	TargetIDToken                         // the ID token's claims (OIDC Core §2, §5.5)
	TargetIntrospection                   // extension members of an introspection response (RFC 7662 §2.2)
	TargetPublicProfile                   // the public profile page and its JSON
	TargetVCard                           // the public vCard export
)

// ReleaseInput is everything Release decides from. It is read, never changed.
type ReleaseInput struct {
	Target Target
	// Issuer is Facet's base URL: the picture field holds a path, released as an absolute URL.
	Issuer string
	// User and Fields are the user's current values and levels (ProfileField.Privacy).
	User   storage.User
	Fields []storage.ProfileField
	// Catalog gives the default level of fields the user has not set; nil fails closed.
	Catalog *Catalog
	// PrivateProfile is the user's "Private profile" switch.
	PrivateProfile bool
	// Grant is the user's consent for the app: Grant.Claims are the on-request claims allowed.
	Grant storage.Grant
	// Scopes are the scopes granted to the token; Claims is the request's claims parameter.
	Scopes []string
	Claims ClaimsRequest
}

// Release returns the claims target receives. sub is always released. A field's claim is
// released when the target asks for it and the field's effective level allows it:
//
//   - public: whenever asked (the private profile turns public into on_request);
//   - on_request: only when the grant lists the claim — and never on the public profile or vCard;
//   - private, or an unknown level: never (privacy fails closed).
//
// What a target asks for:
//
//   - userinfo: the claims of the granted scopes (OIDC Core §5.4) and the claims parameter's
//     userinfo member (§5.5);
//   - ID token: only the claims parameter's id_token member — scopes alone put profile claims
//     in userinfo, not in the ID token of the code flow (§5.4);
//   - introspection: nothing beyond sub. Any authenticated client may introspect a token,
//     including resource servers the user never consented to, so per-app consent could not be
//     honoured there;
//   - public profile, vCard: every field, without a request; only public fields qualify.
//
// email_verified and phone_number_verified travel with their claim; name is composed of the
// released name parts; updated_at is the latest change among the released profile fields.
// Values are read from the input at call time, so a field made private after consent stops
// flowing at once. Release is pure: no I/O, same input, same output.
func Release(in ReleaseInput) map[string]any {
	out := map[string]any{"sub": in.User.ID}
	var asked func(claim string) bool
	switch in.Target {
	case TargetUserinfo:
		asked = func(c string) bool {
			return inScopes(in.Scopes, c) || slices.Contains(in.Claims.Userinfo, c)
		}
	case TargetIDToken:
		asked = func(c string) bool { return slices.Contains(in.Claims.IDToken, c) }
	case TargetPublicProfile, TargetVCard:
		asked = func(string) bool { return true }
	case TargetIntrospection:
		return out
	default:
		return out
	}
	publicOnly := in.Target == TargetPublicProfile || in.Target == TargetVCard

	fields := make(map[string]storage.ProfileField, len(in.Fields))
	for _, f := range in.Fields {
		fields[f.Field] = f
	}
	// allowed decides one field (once per call); the switch covers every level and fails closed.
	decided := make(map[string]bool, len(fields)+1)
	allowed := func(key string) bool {
		if ok, done := decided[key]; done {
			return ok
		}
		var ok bool
		switch Effective(FieldLevel(in.Catalog, key, fields[key].Privacy), in.PrivateProfile) {
		case LevelPublic:
			ok = true
		case LevelOnRequest:
			ok = !publicOnly && slices.Contains(in.Grant.Claims, key)
		case LevelPrivate:
			ok = false
		default:
			ok = false
		}
		decided[key] = ok
		return ok
	}
	// value returns the releasable value of a field, "" when there is none or it is withheld.
	value := func(key string) string {
		var v string
		if key == "email" {
			v = in.User.Email
		} else {
			v = fields[key].Value
		}
		if v == "" || !allowed(key) {
			return ""
		}
		return v
	}

	var updated time.Time
	profileReleased := false
	noteProfile := func(key string) {
		if f, ok := fields[key]; ok && f.UpdatedAt.After(updated) {
			updated = f.UpdatedAt
		}
		profileReleased = true
	}
	for _, claim := range allClaims {
		if !asked(claim) {
			continue
		}
		switch claim {
		case "updated_at", "profile", "email_verified", "phone_number_verified":
			// updated_at after the loop; profile has no value; the verified flags below.
		case "name":
			var parts []string
			for _, k := range claimFields["name"] {
				if v := value(k); v != "" {
					parts = append(parts, v)
					noteProfile(k)
				}
			}
			if len(parts) > 0 {
				out["name"] = strings.Join(parts, " ")
			}
		case "email":
			if v := value("email"); v != "" {
				out["email"] = v
			}
		case "phone_number":
			if v := value("phone_number"); v != "" {
				out["phone_number"] = v
			}
		case "picture":
			if v := value("picture"); v != "" {
				out["picture"] = absolute(in.Issuer, v)
				noteProfile("picture")
			}
		case "address":
			if v := value("address"); v != "" {
				out["address"] = addressClaim(v)
			}
		default:
			if v := value(claim); v != "" {
				out[claim] = v
				noteProfile(claim)
			}
		}
	}
	// The verified flags go with their claim, whichever of the two was asked for.
	if (asked("email") || asked("email_verified")) && value("email") != "" {
		out["email"] = in.User.Email
		out["email_verified"] = in.User.EmailVerified
	}
	// Only verified numbers are stored in the phone_number field.
	if (asked("phone_number") || asked("phone_number_verified")) && value("phone_number") != "" {
		out["phone_number"] = fields["phone_number"].Value
		out["phone_number_verified"] = true
	}
	if asked("updated_at") && profileReleased && !updated.IsZero() {
		out["updated_at"] = updated.Unix()
	}
	return out
}

// inScopes reports whether one of scopes requests claim (OIDC Core §5.4).
func inScopes(scopes []string, claim string) bool {
	for _, s := range claimScopes {
		if slices.Contains(scopes, s) && slices.Contains(scopeClaims[s], claim) {
			return true
		}
	}
	return false
}

// absolute makes a stored path ("/public/images/profile/<id>") an absolute URL on issuer.
func absolute(issuer, v string) string {
	if strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") {
		return strings.TrimRight(issuer, "/") + v
	}
	return v
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
