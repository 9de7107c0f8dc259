package profile

import (
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/facetid/facet/templates"
)

// FormatPhone shows a stored phone number (E.164, "+442079460958") in the international
// format people read ("+44 20 7946 0958"); anything that does not parse is shown as stored.
func FormatPhone(e164 string) string {
	if e164 == "" {
		return ""
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// formatValue is the display text of a profile field's stored value in l: dates in words,
// phone numbers grouped, languages by name. Other values are shown as stored.
func formatValue(l templates.Lang, key, v string) string {
	if v == "" {
		return ""
	}
	switch key {
	case "birthdate":
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return l.Date(d)
		}
	case "phone_number":
		return FormatPhone(v)
	case "locale":
		return l.LanguageName(v)
	case "gender":
		return l.T("field.gender." + v)
	}
	return v
}
