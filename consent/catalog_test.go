package consent

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func testCatalog(t testing.TB) *Catalog {
	t.Helper()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c, err := NewCatalog(CatalogConfig{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCatalogValidate(t *testing.T) {
	c := testCatalog(t)
	tests := []struct {
		key, in, want, msg string
	}{
		{"given_name", "  Alex ", "Alex", ""},
		{"given_name", "", "", ""},
		{"given_name", "   ", "", ""},
		{"given_name", "Алекс", "Алекс", ""},
		{"given_name", strings.Repeat("é", 100), strings.Repeat("é", 100), ""},
		{"given_name", strings.Repeat("é", 101), "", MsgTooLong},
		{"family_name", "Tim\x00ofeeva", "", MsgControlChars},
		{"middle_name", "a\nb", "", MsgControlChars},
		{"nickname", "a\u2028b", "", MsgControlChars},
		{"nickname", "bad\xffutf8", "", MsgControlChars},
		{"preferred_username", "Alex.T-1", "alex.t-1", ""},
		{"preferred_username", "ab", "", MsgUsernameLength},
		{"preferred_username", strings.Repeat("a", 33), "", MsgUsernameLength},
		{"preferred_username", strings.Repeat("a", 32), strings.Repeat("a", 32), ""},
		{"preferred_username", "alex smith", "", MsgUsernameChars},
		{"preferred_username", "алекс", "", MsgUsernameChars},
		{"preferred_username", "1alex", "", MsgUsernameStart},
		{"preferred_username", "_alex", "", MsgUsernameStart},
		{"birthdate", "1990-04-01", "1990-04-01", ""},
		{"birthdate", "1900-01-01", "1900-01-01", ""},
		{"birthdate", "1899-12-31", "", MsgDateTooOld},
		{"birthdate", "2026-03-10", "2026-03-10", ""},
		{"birthdate", "2026-03-11", "2026-03-11", ""}, // already today in UTC+14
		{"birthdate", "2026-03-12", "", MsgDateFuture},
		{"birthdate", "2030-01-01", "", MsgDateFuture},
		{"birthdate", "2023-02-29", "", MsgDateFormat},
		{"birthdate", "1990-4-1", "", MsgDateFormat},
		{"birthdate", "01/04/1990", "", MsgDateFormat},
		{"birthdate", "1990-13-01", "", MsgDateFormat},
		{"gender", "Female", "female", ""},
		{"gender", "unspecified", "unspecified", ""},
		{"gender", "robot", "", MsgOption},
		{"locale", "en-us", "en-US", ""},
		{"locale", "de", "de", ""},
		{"locale", "zh-hant-tw", "zh-Hant-TW", ""},
		{"locale", "not a locale", "", MsgLocale},
		{"locale", "und", "", MsgLocale},
		{"zoneinfo", "Europe/Paris", "Europe/Paris", ""},
		{"zoneinfo", "UTC", "UTC", ""},
		{"zoneinfo", "Mars/Olympus", "", MsgZone},
		{"zoneinfo", "Local", "", MsgZone},
		{"zoneinfo", "../etc/passwd", "", MsgZone},
		{"website", "https://example.com/me", "https://example.com/me", ""},
		{"website", "HTTP://example.com", "http://example.com", ""},
		{"website", "javascript:alert(1)", "", MsgURL},
		{"website", "ftp://example.com", "", MsgURL},
		{"website", "example.com", "", MsgURL},
		{"website", "https://user:pw@example.com", "", MsgURL},
		{"website", "https://exa mple.com", "", MsgURL},
		{"website", "https://example.com/" + strings.Repeat("a", 2048), "", MsgTooLong},
		{"address", `{"locality":" Paris ","country":"FR"}`, `{"locality":"Paris","country":"FR"}`, ""},
		{"address", `{"street_address":"1 Main St\r\nApt 2"}`, `{"street_address":"1 Main St\nApt 2"}`, ""},
		{"address", `{"locality":""}`, "", ""},
		{"address", `{"planet":"Earth"}`, "", MsgAddress},
		{"address", `not json`, "", MsgAddress},
		{"address", `{"locality":"` + strings.Repeat("a", 201) + `"}`, "", MsgTooLong},
		{"address", `{"country":"` + strings.Repeat("a", 57) + `"}`, "", MsgCountry},
		{"address", `{"region":"a\u0007b"}`, "", MsgControlChars},
		{"email", "Alex@Example.com", "alex@example.com", ""},
		{"email", "Alex <alex@example.com>", "", MsgEmail},
		{"email", "alex@localhost", "", MsgEmail},
		{"phone_number", "+33612345678", "+33612345678", ""},
		{"phone_number", "0612345678", "", MsgPhone},
		{"picture", "/public/images/profile/AbCdEf0123456789", "/public/images/profile/AbCdEf0123456789", ""},
		{"picture", "https://evil.example/x.png", "", MsgPicture},
		{"password", "x", "", MsgUnknownField},
	}
	for _, tt := range tests {
		got, msg := c.Validate(tt.key, tt.in)
		if got != tt.want || msg != tt.msg {
			t.Errorf("Validate(%q, %q) = %q, %q; want %q, %q", tt.key, tt.in, got, msg, tt.want, tt.msg)
		}
	}
}

func TestCatalogFields(t *testing.T) {
	c := testCatalog(t)
	var keys []string
	for _, f := range c.Fields() {
		keys = append(keys, f.Key)
		if f.Claim != f.Key || f.Label != "field."+f.Key || f.DefaultLevel == "" || f.MaxLen <= 0 {
			t.Errorf("field %+v incomplete", f)
		}
		switch f.Scope {
		case "profile", "email", "phone", "address":
		default:
			t.Errorf("field %q: scope %q", f.Key, f.Scope)
		}
		// Every catalog claim is one Release knows under that scope.
		if !slices.Contains(scopeClaims[f.Scope], f.Claim) {
			t.Errorf("field %q: claim not under scope %q", f.Key, f.Scope)
		}
	}
	want := []string{"given_name", "family_name", "middle_name", "nickname", "preferred_username",
		"birthdate", "gender", "locale", "zoneinfo", "website", "address", "email", "phone_number", "picture"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	var main []string
	for _, f := range c.Block(BlockMain) {
		main = append(main, f.Key)
	}
	if !slices.Equal(main, want[:7]) {
		t.Errorf("main block = %v", main)
	}
	f, ok := c.Field("given_name")
	if !ok || !f.Mandatory || f.Locked || f.DefaultLevel != LevelOnRequest {
		t.Errorf("given_name = %+v, %v", f, ok)
	}
	if f, _ := c.Field("birthdate"); f.Mandatory || f.DefaultLevel != LevelPrivate {
		t.Errorf("birthdate = %+v", f)
	}
	if _, ok := c.Field("password"); ok {
		t.Error("unknown field found")
	}
	// Fields returns a copy.
	c.Fields()[0].Mandatory = false
	if f, _ := c.Field("given_name"); !f.Mandatory {
		t.Error("Fields exposed the catalog")
	}
}

func TestCatalogConfig(t *testing.T) {
	c, err := NewCatalog(CatalogConfig{
		Mandatory:     []string{"nickname"},
		Locked:        []string{"family_name"},
		DefaultLevels: map[string]Level{"given_name": LevelPublic},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Field("given_name"); f.Mandatory || f.DefaultLevel != LevelPublic {
		t.Errorf("given_name = %+v", f)
	}
	if f, _ := c.Field("family_name"); !f.Locked || f.Mandatory {
		t.Errorf("family_name = %+v", f)
	}
	if got := c.Missing(map[string]string{"given_name": "A", "nickname": " "}); !slices.Equal(got, []string{"nickname"}) {
		t.Errorf("Missing = %v", got)
	}
	if got := testCatalog(t).Missing(map[string]string{"family_name": "T"}); !slices.Equal(got, []string{"given_name"}) {
		t.Errorf("default Missing = %v", got)
	}
	if c, _ := NewCatalog(CatalogConfig{Mandatory: []string{}}); c.Missing(nil) != nil {
		t.Error("empty mandatory set still requires fields")
	}
	for _, cfg := range []CatalogConfig{
		{Mandatory: []string{"shoe_size"}},
		{Locked: []string{"password"}},
		{DefaultLevels: map[string]Level{"nope": LevelPublic}},
		{DefaultLevels: map[string]Level{"given_name": "friends"}},
	} {
		if _, err := NewCatalog(cfg); err == nil {
			t.Errorf("NewCatalog(%+v) accepted", cfg)
		}
	}
}

func TestAddress(t *testing.T) {
	a := AddressFrom(map[string]string{"locality": "Paris", "country": "FR", "other": "x"})
	if a.Value() != `{"locality":"Paris","country":"FR"}` {
		t.Errorf("Value = %s", a.Value())
	}
	back, err := ParseAddress(a.Value())
	if err != nil || back != a {
		t.Errorf("ParseAddress = %+v, %v", back, err)
	}
	if (Address{}).Value() != "" {
		t.Error("empty address has a value")
	}
	if _, msgs := ValidateAddress(Address{Locality: strings.Repeat("a", 201), Country: "FR"}); msgs["locality"] != MsgTooLong || len(msgs) != 1 {
		t.Errorf("msgs = %v", msgs)
	}
}

// FuzzValidate: Validate never panics, accepts or refuses with a message key, and a value it
// accepts validates again to itself (normalization is idempotent) within the field's limit.
func FuzzValidate(f *testing.F) {
	c := testCatalog(f)
	keys := []string{}
	for _, fl := range c.Fields() {
		keys = append(keys, fl.Key)
	}
	for _, s := range []string{"Alex", "1990-04-01", "en-us", "Europe/Paris", "https://x.example/",
		`{"locality":"Paris"}`, "alex.t", "+33612345678", "\x00", "2023-02-29"} {
		for i := range keys {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, in string) {
		key := keys[int(k)%len(keys)]
		got, msg := c.Validate(key, in)
		if msg != "" {
			if got != "" || !strings.HasPrefix(msg, "field.err.") {
				t.Fatalf("Validate(%q, %q) = %q, %q", key, in, got, msg)
			}
			return
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Validate(%q, %q) accepted invalid UTF-8", key, in)
		}
		again, msg := c.Validate(key, got)
		if msg != "" || again != got {
			t.Fatalf("Validate(%q, %q) = %q, but again = %q, %q", key, in, got, again, msg)
		}
		fl, _ := c.Field(key)
		if key != "address" && utf8.RuneCountInString(got) > fl.MaxLen {
			t.Fatalf("Validate(%q, %q) = %q longer than %d", key, in, got, fl.MaxLen)
		}
	})
}
