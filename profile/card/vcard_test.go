package card

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
)

// values are a full profile, one value per vCard property.
var values = map[string]string{
	"given_name": "Alex", "family_name": "Timofeeva", "nickname": "Sasha", "birthdate": "1990-05-06",
	"phone_number": "+15551234567", "website": "https://alex.example/", "picture": "/public/images/profile/abc",
	"address": `{"street_address":"1 Main St","locality":"Springfield","country":"US"}`,
}

// properties maps a catalog field to the vCard property that carries it.
var properties = map[string]string{
	"given_name": vcard.FieldName, "family_name": vcard.FieldName, "nickname": vcard.FieldNickname,
	"birthdate": vcard.FieldBirthday, "phone_number": vcard.FieldTelephone, "website": vcard.FieldURL,
	"picture": vcard.FieldPhoto, "address": vcard.FieldAddress, "email": vcard.FieldEmail,
}

func release(t *testing.T, levels map[string]consent.Level, private bool, target consent.Target) map[string]any {
	t.Helper()
	cat, err := consent.NewCatalog(consent.CatalogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var fields []storage.ProfileField
	for k, v := range values {
		fields = append(fields, storage.ProfileField{UserID: "sub-1", Field: k, Value: v, Privacy: string(levels[k]), UpdatedAt: at})
	}
	fields = append(fields, storage.ProfileField{UserID: "sub-1", Field: "email", Privacy: string(levels["email"]), UpdatedAt: at})
	return consent.Release(consent.ReleaseInput{Target: target, Issuer: "https://id.example", Catalog: cat, PrivateProfile: private,
		User: storage.User{ID: "sub-1", Email: "alex@example.com", EmailVerified: true, Status: storage.UserActive, UpdatedAt: at}, Fields: fields})
}

func decode(t testing.TB, b []byte) vcard.Card {
	t.Helper()
	c, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode vCard: %v\n%s", err, b)
	}
	return c
}

// TestVCardHoldsExactlyThePublicFields walks every level of every field, with the private
// profile off and on, through consent.Release: the vCard holds a field's property exactly
// when the field is public and the private profile is off.
func TestVCardHoldsExactlyThePublicFields(t *testing.T) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range properties {
			if !yield(k) {
				return
			}
		}
	})
	for _, key := range keys {
		for _, level := range consent.Levels() {
			for _, private := range []bool{false, true} {
				// Every other field private; this one at level.
				levels := map[string]consent.Level{}
				for k := range properties {
					levels[k] = consent.LevelPrivate
				}
				levels[key] = level
				claims := release(t, levels, private, consent.TargetVCard)
				b, err := encodeVCard(fromClaims(claims, time.Time{}))
				if err != nil {
					t.Fatal(err)
				}
				c := decode(t, b)
				want := level == consent.LevelPublic && !private
				prop := properties[key]
				got := c.Value(prop) != "" && strings.Trim(c.Value(prop), ";") != ""
				if got != want {
					t.Errorf("%s at %s, private profile %v: %s present %v, want %v\n%s", key, level, private, prop, got, want, b)
				}
				if c.Value(vcard.FieldUID) != "sub-1" || c.Value(vcard.FieldVersion) != "3.0" {
					t.Errorf("UID %q, VERSION %q; want sub-1 and 3.0", c.Value(vcard.FieldUID), c.Value(vcard.FieldVersion))
				}
				// Nothing else than the one field (and what always goes: VERSION, FN, N, UID, REV).
				for p := range c {
					switch p {
					case vcard.FieldVersion, vcard.FieldFormattedName, vcard.FieldName, vcard.FieldUID, vcard.FieldRevision:
					default:
						if p != prop {
							t.Errorf("%s at %s: unexpected property %s\n%s", key, level, p, b)
						}
					}
				}
				// The public profile's JSON agrees with the vCard (one decision, two targets).
				pub := release(t, levels, private, consent.TargetPublicProfile)
				if _, ok := pub[claimOf(key)]; ok != want {
					t.Errorf("%s at %s, private %v: public profile has it %v, want %v", key, level, private, ok, want)
				}
			}
		}
	}
}

func claimOf(key string) string { return key }

// TestVCardAllPublic checks the values and their form when everything is public.
func TestVCardAllPublic(t *testing.T) {
	levels := map[string]consent.Level{}
	for k := range properties {
		levels[k] = consent.LevelPublic
	}
	b, err := encodeVCard(fromClaims(release(t, levels, false, consent.TargetVCard), time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	c := decode(t, b)
	n := c.Name()
	a := c.Address()
	for _, x := range []struct{ what, got, want string }{
		{"FN", c.Value(vcard.FieldFormattedName), "Alex Timofeeva"},
		{"N family", n.FamilyName, "Timofeeva"},
		{"N given", n.GivenName, "Alex"},
		{"PHOTO", c.Value(vcard.FieldPhoto), "https://id.example/public/images/profile/abc"},
		{"EMAIL", c.Value(vcard.FieldEmail), "alex@example.com"},
		{"TEL", c.Value(vcard.FieldTelephone), "+15551234567"},
		{"BDAY", c.Value(vcard.FieldBirthday), "1990-05-06"},
		{"URL", c.Value(vcard.FieldURL), "https://alex.example/"},
		{"ADR street", a.StreetAddress, "1 Main St"},
		{"ADR locality", a.Locality, "Springfield"},
		{"UID", c.Value(vcard.FieldUID), "sub-1"},
		{"REV", c.Value(vcard.FieldRevision), "2030-01-02T03:04:05Z"},
	} {
		if x.got != x.want {
			t.Errorf("%s = %q, want %q", x.what, x.got, x.want)
		}
	}
	if strings.Contains(string(b), "UID:null") {
		t.Error("UID is the string null")
	}
}

// hostile are values an attacker could put in a profile field.
var hostile = []string{
	"Alex\r\nEMAIL:evil@example.com",
	"line1\nline2\rline3\r\n",
	"a;b;c", "a,b,c", `back\slash\`, `\n literal`, `\;`, `\,`,
	"Алекс Тимофеева 日本語 😀",
	"END:VCARD\r\nBEGIN:VCARD",
	"nul\x00bell\x07esc\x1b",
	"\xff\xfe invalid utf-8",
	strings.Repeat("ж;,\\\n", 2000), // 10 kB
}

// TestVCardHostileValues: every hostile value in every property keeps the card to one
// vCard with exactly the properties expected, and reads back as sent (minus control
// characters; a ";" inside N or ADR parts as ",").
func TestVCardHostileValues(t *testing.T) {
	for _, v := range hostile {
		checkHostile(t, v)
	}
}

// FuzzVCard: no value adds a property or a card, whatever it holds.
func FuzzVCard(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) { checkHostile(t, v) })
}

func checkHostile(t *testing.T, v string) {
	t.Helper()
	c := contact{Sub: "sub-1", Given: v, Family: v, Nickname: v, Email: v, Phone: v, Birthdate: v,
		Address: consent.Address{StreetAddress: v, Locality: v}, Website: v, Picture: v, Note: v}
	b, err := encodeVCard(c)
	if err != nil {
		t.Fatal(err)
	}
	// Line by line, every line starts with a property we wrote (no folding is used).
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	allowed := []string{"BEGIN:", "VERSION:", "FN:", "N:", "NICKNAME:", "PHOTO:", "EMAIL:", "TEL:", "BDAY:", "ADR:", "URL:", "NOTE:", "UID:", "END:"}
	begins := 0
	for _, l := range lines {
		if !slices.ContainsFunc(allowed, func(p string) bool { return strings.HasPrefix(l, p) }) {
			t.Fatalf("value %q made a line %q", v, l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("value %q left a line break in %q", v, l)
		}
		if strings.HasPrefix(l, "BEGIN:") || strings.HasPrefix(l, "END:") {
			begins++
		}
	}
	if begins != 2 || !utf8.Valid(b) {
		t.Fatalf("value %q: %d BEGIN/END lines (want 2), valid UTF-8 %v", v, begins, utf8.Valid(b))
	}
	card := decode(t, b)
	for _, p := range []string{vcard.FieldNickname, vcard.FieldEmail, vcard.FieldTelephone, vcard.FieldBirthday, vcard.FieldURL, vcard.FieldNote, vcard.FieldPhoto} {
		want := text(v)
		if want == "" {
			continue
		}
		if fs := card[p]; len(fs) != 1 || fs[0].Value != want {
			t.Fatalf("value %q: %s read back as %v, want one %q", v, p, card[p], want)
		}
	}
	if text(v) != "" {
		if n := card.Name(); n.GivenName != component(v) || n.FamilyName != component(v) {
			t.Fatalf("value %q: N read back as %q / %q, want %q", v, n.GivenName, n.FamilyName, component(v))
		}
		if a := card.Address(); a.StreetAddress != component(v) || a.Locality != component(v) {
			t.Fatalf("value %q: ADR read back as %q / %q", v, a.StreetAddress, a.Locality)
		}
	}
	if len(card[vcard.FieldUID]) != 1 || card.Value(vcard.FieldUID) != "sub-1" {
		t.Fatalf("value %q: UID %v", v, card[vcard.FieldUID])
	}
}

// TestVCardGolden compares a card with hostile values to testdata/hostile.vcf, checked by
// hand against RFC 2426 (an independent reading of the format: CRLF line ends, "\\", "\n"
// and "\," escapes, parts of N and ADR separated by ";").
func TestVCardGolden(t *testing.T) {
	c := contact{Sub: "0b6c-sub", Given: "Алекс;Sasha", Family: "O'Brien, Jr.", Email: "a@b.example",
		Phone: "+15550000000", Note: "two\r\nlines\\END:VCARD", Website: "https://x.example/?a=1,2",
		Address: consent.Address{StreetAddress: "1 Main St\nFlat 2", Country: "RU"}, Rev: time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)}
	b, err := encodeVCard(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/hostile.vcf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("vCard differs from testdata/hostile.vcf:\n%s\nwant:\n%s", b, want)
	}
}

func TestFileName(t *testing.T) {
	for _, c := range []struct {
		given, family, want string
	}{
		{"Alex", "Timofeeva", "Alex-Timofeeva.vcf"},
		{"Алекс", "", "Алекс.vcf"},
		{`"; filename=evil.exe`, "../..", "filenameevilexe.vcf"},
		{"", "", "contact.vcf"},
		{"--", "", "contact.vcf"},
	} {
		if got := fileName(contact{Given: c.given, Family: c.family}); got != c.want {
			t.Errorf("fileName(%q, %q) = %q, want %q", c.given, c.family, got, c.want)
		}
	}
}

func TestCheckIdentifier(t *testing.T) {
	for _, c := range []struct {
		id   string
		want error
	}{
		{"abc", nil}, {"Alex-T-2", nil}, {strings.Repeat("a", 64), nil},
		{"ab", errInvalidIdentifier}, {strings.Repeat("a", 65), errInvalidIdentifier},
		{"-abc", errInvalidIdentifier}, {"abc-", errInvalidIdentifier}, {"a_b", errInvalidIdentifier},
		{"a b", errInvalidIdentifier}, {"алекс", errInvalidIdentifier}, {"a.b", errInvalidIdentifier},
		{"a/b", errInvalidIdentifier}, {"", errInvalidIdentifier},
		{"admin", errReservedIdentifier}, {"API", errReservedIdentifier}, {"Login", errReservedIdentifier},
	} {
		if got := checkIdentifier(c.id); got != c.want {
			t.Errorf("checkIdentifier(%q) = %v, want %v", c.id, got, c.want)
		}
	}
	for range 100 {
		if id := randomIdentifier(); checkIdentifier(id) != nil || len(id) != 12 {
			t.Fatalf("random identifier %q is not valid", id)
		}
	}
}
