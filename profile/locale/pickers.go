package locale

import (
	"slices"
	"strings"

	"github.com/facetid/facet/profile/zones"
	"github.com/facetid/facet/templates"
)

// pickerLanguages are the languages the language picker offers (BCP 47 tags): the most
// spoken and written ones, with the regional variants whose writing differs. A stored tag
// outside the list is offered too, so editing the profile never changes it silently.
var pickerLanguages = []string{
	"af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "de-AT", "de-CH",
	"el", "en", "en-AU", "en-CA", "en-GB", "en-US", "es", "es-419", "es-MX", "et", "eu", "fa",
	"fi", "fil", "fr", "fr-CA", "fr-CH", "ga", "gl", "he", "hi", "hr", "hu", "hy", "id", "is",
	"it", "ja", "ka", "kk", "ko", "ky", "lt", "lv", "mk", "mn", "ms", "nb", "nl", "pl", "pt",
	"pt-BR", "pt-PT", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "th", "tr", "uk",
	"ur", "uz", "vi", "zh-Hans", "zh-Hant",
}

// Option is one <option> of a select.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// Group is an <optgroup> of a select.
type Group struct {
	Label   string
	Options []Option
}

// LanguageOptions are the language picker's choices, named in l and by themselves, sorted
// by name; value is the stored tag, selected.
func LanguageOptions(l templates.Lang, value string) []Option {
	opts := make([]Option, 0, len(pickerLanguages)+1)
	for _, tag := range pickerLanguages {
		opts = append(opts, Option{Value: tag, Label: l.LanguageName(tag), Selected: tag == value})
	}
	if value != "" && !slices.Contains(pickerLanguages, value) {
		opts = append(opts, Option{Value: value, Label: l.LanguageName(value), Selected: true})
	}
	slices.SortFunc(opts, func(a, b Option) int { return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) })
	return append([]Option{{Value: "", Label: l.T("field.none"), Selected: value == ""}}, opts...)
}

// ZoneOptions are the time zone picker's choices: UTC, then the IANA names grouped by
// region (named in l), each shown without its region and with spaces for underscores
// ("Argentina/Buenos Aires"). A stored zone outside the list (a legacy alias) is offered
// first, selected.
func ZoneOptions(l templates.Lang, value string) ([]Option, []Group) {
	opts := []Option{{Value: "", Label: l.T("field.none"), Selected: value == ""}}
	names := zones.Names()
	if value != "" && value != "UTC" && !slices.Contains(names, value) {
		opts = append(opts, Option{Value: value, Label: value, Selected: true})
	}
	opts = append(opts, Option{Value: "UTC", Label: "UTC", Selected: value == "UTC"})
	var groups []Group
	for _, name := range names {
		region, city, _ := strings.Cut(name, "/")
		label := l.T("zone.region." + strings.ToLower(region))
		if len(groups) == 0 || groups[len(groups)-1].Label != label {
			groups = append(groups, Group{Label: label})
		}
		g := &groups[len(groups)-1]
		g.Options = append(g.Options, Option{Value: name, Label: strings.ReplaceAll(city, "_", " "), Selected: name == value})
	}
	return opts, groups
}
