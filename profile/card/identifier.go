package card

import (
	"crypto/rand"
	"errors"
	"strings"
)

// Identifier rules (spec "Business Card Activity": unique, Latin letters, digits and
// hyphens).
const (
	minIdentifier = 3
	maxIdentifier = 64
)

var (
	errInvalidIdentifier  = errors.New("invalid identifier")
	errReservedIdentifier = errors.New("reserved identifier")
	errIdentifierTaken    = errors.New("identifier taken")
)

// reserved are identifiers nobody may claim: names of Facet's own paths and words a visitor
// would take for Facet itself. Compared ignoring case.
var reserved = map[string]bool{
	"admin": true, "administrator": true, "api": true, "login": true, "logout": true, "register": true,
	"signin": true, "signup": true, "profile": true, "account": true, "accounts": true, "settings": true,
	"public": true, "static": true, "oauth": true, "oauth2": true, "health": true, "metrics": true,
	"help": true, "support": true, "security": true, "root": true, "system": true, "facet": true,
	"card": true, "cards": true, "users": true, "user": true, "me": true, "www": true, "mail": true,
	"dev": true, "null": true, "undefined": true, "well-known": true, "qr": true, "new": true,
}

// checkIdentifier applies the format rules: 3–64 characters of A–Z, a–z, 0–9 and "-", not
// starting or ending with "-"; then the reserved list.
func checkIdentifier(id string) error {
	if len(id) < minIdentifier || len(id) > maxIdentifier {
		return errInvalidIdentifier
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return errInvalidIdentifier
		}
	}
	if id[0] == '-' || id[len(id)-1] == '-' {
		return errInvalidIdentifier
	}
	if reserved[strings.ToLower(id)] {
		return errReservedIdentifier
	}
	return nil
}

// randomIdentifier is a new card's identifier: 12 characters of base32 (60 random bits),
// lower-cased, so guessing another person's card address is hopeless until they choose one.
func randomIdentifier() string {
	return strings.ToLower(rand.Text()[:12])
}
