package locale

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/facetid/facet/profile/zones"
	"github.com/facetid/facet/templates"
)

// TestPickerChoicesValid: every offered zone and language is one the server accepts, and
// the lists are sorted without duplicates.
func TestPickerChoicesValid(t *testing.T) {
	names := zones.Names()
	if len(names) < 300 || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("%d zone names, sorted %v", len(names), slices.IsSorted(names))
	}
	for _, z := range names {
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("zone %s: %v", z, err)
		}
	}
	for _, want := range []string{"Europe/Moscow", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Argentina/Buenos_Aires"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s", want)
		}
	}
	for _, l := range templates.Languages() {
		labels := map[string]string{}
		for _, o := range LanguageOptions(l, "")[1:] {
			tag, err := language.Parse(o.Value)
			if err != nil || tag.String() != o.Value {
				t.Errorf("%s: tag %q is not canonical (%v)", l, o.Value, err)
			}
			if o.Label == "" || o.Label == o.Value {
				t.Errorf("%s: %q has no name", l, o.Value)
			}
			if prev, ok := labels[o.Label]; ok {
				t.Errorf("%s: %q and %q are both %q", l, prev, o.Value, o.Label)
			}
			labels[o.Label] = o.Value
		}
	}
}
