package consent

import "strings"

// Privacy levels a profile field can have. Release is the
// one place that gives them meaning.
const (
	LevelPrivate   Level = "private"    // "Only you": never leaves Facet
	LevelOnRequest Level = "on_request" // "On request": an app gets it only with the user's consent to that claim
	LevelPublic    Level = "public"     // "Everyone": an app gets it whenever it asks; shown on the public profile
)

// Levels lists the levels from the most to the least private, for pages and validation.
func Levels() []Level { return []Level{LevelPrivate, LevelOnRequest, LevelPublic} }

// ParseLevel returns the level named s, and false when s names none.
func ParseLevel(s string) (Level, bool) {
	switch l := Level(s); l {
	case LevelPrivate, LevelOnRequest, LevelPublic:
		return l, true
	default:
		return "", false
	}
}

// identifierPrefix names a linked identifier's level among the profile fields:
// "identifier:{id}". Such a key is not a catalog field: nothing is released from it, and its
// level is "Only you" until its owner chooses another.
const identifierPrefix = "identifier:"

// IdentifierKey is the profile field key that holds the level of linked identifier id.
func IdentifierKey(id string) string { return identifierPrefix + id }

// IdentifierID returns the identifier id key names, and false when key is not an
// identifier's level.
func IdentifierID(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, identifierPrefix)
	return id, ok && id != ""
}

// FieldLevel is the level a field has for a user: the stored one (a ProfileField's Privacy),
// the catalog's DefaultLevel while the user has not chosen one (stored is ""), and
// LevelPrivate for anything else — a stored value that names no level, a field the catalog
// does not know, or no catalog at all (privacy fails closed: OWASP ASVS 5.0 V8, access
// denied by default).
func FieldLevel(cat *Catalog, key, stored string) Level {
	if stored != "" {
		if l, ok := ParseLevel(stored); ok {
			return l
		}
		return LevelPrivate
	}
	if cat == nil {
		return LevelPrivate
	}
	f, ok := cat.Field(key)
	if !ok {
		return LevelPrivate
	}
	if l, ok := ParseLevel(string(f.DefaultLevel)); ok {
		return l
	}
	return LevelPrivate
}

// Effective is the level that applies to apps and the public profile: with the private
// profile on, every public field is treated as on request (spec "Disabling Public Profile").
func Effective(l Level, privateProfile bool) Level {
	switch l {
	case LevelPublic:
		if privateProfile {
			return LevelOnRequest
		}
		return LevelPublic
	case LevelOnRequest:
		return LevelOnRequest
	case LevelPrivate:
		return LevelPrivate
	default:
		return LevelPrivate
	}
}
