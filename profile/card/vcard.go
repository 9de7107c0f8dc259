package card

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-vcard"

	"github.com/facetid/facet/consent"
)

// contact is what a vCard says about a person: the public profile's released claims, or the
// business card's fields. Empty members are left out.
type contact struct {
	Sub                     string // UID: the stable OIDC subject
	Given, Family, Middle   string
	Name                    string // FN; composed of the name parts when empty
	Nickname                string
	Email, Phone, Birthdate string
	Address                 consent.Address
	Website, Picture, Note  string // Picture is an absolute URL
	Rev                     time.Time
}

// fromClaims reads a contact out of consent.Release's answer: only what it released.
func fromClaims(claims map[string]any, rev time.Time) contact {
	s := func(k string) string { v, _ := claims[k].(string); return v }
	c := contact{
		Sub: s("sub"), Given: s("given_name"), Family: s("family_name"), Middle: s("middle_name"),
		Name: s("name"), Nickname: s("nickname"), Email: s("email"), Phone: s("phone_number"),
		Birthdate: s("birthdate"), Website: s("website"), Picture: s("picture"), Rev: rev,
	}
	if a, ok := claims["address"].(map[string]any); ok {
		g := func(k string) string { v, _ := a[k].(string); return v }
		c.Address = consent.Address{StreetAddress: g("street_address"), Locality: g("locality"), Region: g("region"),
			PostalCode: g("postal_code"), Country: g("country")}
		if c.Address == (consent.Address{}) {
			c.Address.StreetAddress = g("formatted")
		}
	}
	if u, ok := claims["updated_at"].(int64); ok && u > 0 {
		c.Rev = time.Unix(u, 0).UTC()
	}
	return c
}

// encodeVCard writes c as a vCard 3.0 (RFC 2426) with go-vcard. Every value goes through
// text (or component for the parts of N and ADR) first, so no value can end its line: a
// hostile value never adds a property. go-vcard escapes backslashes, newlines and commas
// (RFC 2426 §5.8.4 via RFC 2425 §5.8.4); carriage returns and other control characters,
// which it does not, are removed here.
func encodeVCard(c contact) ([]byte, error) {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	name := c.Name
	if name == "" {
		name = strings.Join(nonEmpty(c.Given, c.Middle, c.Family), " ")
	}
	if name == "" {
		name = c.Nickname
	}
	// FN and N are required by RFC 2426 §3.1.1–3.1.2; they are empty when no name is public.
	card.SetValue(vcard.FieldFormattedName, text(name))
	card.SetName(&vcard.Name{FamilyName: component(c.Family), GivenName: component(c.Given), AdditionalName: component(c.Middle)})
	add := func(k, v string) {
		if v = text(v); v != "" {
			card.AddValue(k, v)
		}
	}
	add(vcard.FieldNickname, c.Nickname)
	add(vcard.FieldPhoto, c.Picture)
	add(vcard.FieldEmail, c.Email)
	add(vcard.FieldTelephone, c.Phone)
	add(vcard.FieldBirthday, c.Birthdate)
	if a := c.Address; a != (consent.Address{}) {
		card.AddAddress(&vcard.Address{StreetAddress: component(a.StreetAddress), Locality: component(a.Locality),
			Region: component(a.Region), PostalCode: component(a.PostalCode), Country: component(a.Country)})
	}
	add(vcard.FieldURL, c.Website)
	add(vcard.FieldNote, c.Note)
	add(vcard.FieldUID, c.Sub)
	if !c.Rev.IsZero() {
		card.SetValue(vcard.FieldRevision, c.Rev.UTC().Format("2006-01-02T15:04:05Z"))
	}
	var buf bytes.Buffer
	if err := vcard.NewEncoder(&buf).Encode(card); err != nil {
		return nil, fmt.Errorf("encode vCard: %w", err)
	}
	return buf.Bytes(), nil
}

// text makes v safe as one vCard value: valid UTF-8, line breaks as "\n" (which the encoder
// escapes), no other control character.
func text(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	v = strings.ReplaceAll(v, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, v)
}

// component is text for one part of a structured value (N, ADR), where ";" separates the
// parts: go-vcard neither escapes nor reads "\;", so a semicolon inside a part becomes a comma
// (which it escapes) instead of shifting the parts after it.
func component(v string) string {
	return strings.ReplaceAll(text(v), ";", ",")
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// fileName is the download's name: the person's name or "contact", reduced to letters,
// digits and hyphens so no header or path trick fits in it.
func fileName(c contact) string {
	base := strings.Join(nonEmpty(c.Given, c.Family), "-")
	var b strings.Builder
	for _, r := range base {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' {
			b.WriteRune(r)
		}
		if b.Len() >= 64 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		return "contact.vcf"
	}
	return name + ".vcf"
}
