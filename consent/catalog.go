package consent

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	// Valid zoneinfo values must not depend on the host's zone files (a scratch image has none).
	_ "time/tzdata"
)

// Level is a field's privacy level: LevelPrivate, LevelOnRequest or LevelPublic. What each
// level releases is decided by Release; an unknown level is treated as private.
type Level string

// Blocks of the personal account a field is shown in. Picture is shown in the sidebar's photo
// area (BlockPhoto), not in a block of its own.
const (
	BlockMain       = "main"
	BlockAdditional = "additional"
	BlockContacts   = "contacts"
	BlockPhoto      = "photo"
)

// Field is one entry of the profile field catalog. Key is both the storage key of the
// ProfileField and the OIDC claim (Claim repeats it so callers say which they mean).
type Field struct {
	Key   string
	Claim string
	// Scope is the OIDC scope requesting the claim: profile, email, phone or address.
	Scope string
	// Block is where the personal account shows it: BlockMain, BlockAdditional,
	// BlockContacts or BlockPhoto.
	Block string
	// Input is the form control: text, date, url, select, address, email or tel.
	Input string
	// Label is the message catalog key of the field's name ("field.given_name").
	Label string
	// Mandatory fields are asked for by "Complete your profile".
	Mandatory bool
	// Locked fields came from an external provider and cannot be edited by the user.
	Locked bool
	// DefaultLevel applies while the user has not chosen a level.
	DefaultLevel Level
	// MaxLen is the longest accepted value in runes (for address: of each part).
	MaxLen int
	// Options are the accepted values of a select input.
	Options []string
}

// Catalog is the configured field catalog. It is immutable after NewCatalog and safe for
// concurrent use.
type Catalog struct {
	fields []Field
	index  map[string]int
	now    func() time.Time
}

// CatalogConfig adjusts the catalog: which fields are mandatory (nil = DefaultMandatory),
// which are locked, and default levels overriding the built-in ones. Now is the clock for
// "not in the future" (nil = time.Now).
type CatalogConfig struct {
	Mandatory     []string
	Locked        []string
	DefaultLevels map[string]Level
	Now           func() time.Time
}

// DefaultMandatory is the mandatory set when the configuration names none.
var DefaultMandatory = []string{"given_name", "family_name"}

// Limits of the catalog's validation rules.
const (
	maxNameLen        = 100
	maxURLLen         = 2048
	maxAddressPartLen = 200
	maxCountryLen     = 56
	maxLocaleLen      = 35
	maxZoneLen        = 64
	maxEmailLen       = 254
	minUsernameLen    = 3
	maxUsernameLen    = 32
	minBirthYear      = 1900
)

// builtin lists every field once, in display order.
func builtin() []Field {
	f := func(key, scope, block, input string, level Level, maxLen int, opts ...string) Field {
		return Field{Key: key, Claim: key, Scope: scope, Block: block, Input: input,
			Label: "field." + key, DefaultLevel: level, MaxLen: maxLen, Options: opts}
	}
	return []Field{
		f("given_name", "profile", BlockMain, "text", LevelOnRequest, maxNameLen),
		f("family_name", "profile", BlockMain, "text", LevelOnRequest, maxNameLen),
		f("middle_name", "profile", BlockMain, "text", LevelOnRequest, maxNameLen),
		f("nickname", "profile", BlockMain, "text", LevelOnRequest, maxNameLen),
		f("preferred_username", "profile", BlockMain, "text", LevelOnRequest, maxUsernameLen),
		f("birthdate", "profile", BlockMain, "date", LevelPrivate, 10),
		f("gender", "profile", BlockMain, "select", LevelPrivate, 11, "female", "male", "other", "unspecified"),
		f("locale", "profile", BlockAdditional, "text", LevelOnRequest, maxLocaleLen),
		f("zoneinfo", "profile", BlockAdditional, "text", LevelOnRequest, maxZoneLen),
		f("website", "profile", BlockAdditional, "url", LevelOnRequest, maxURLLen),
		f("address", "address", BlockAdditional, "address", LevelPrivate, maxAddressPartLen),
		f("email", "email", BlockContacts, "email", LevelOnRequest, maxEmailLen),
		f("phone_number", "phone", BlockContacts, "tel", LevelPrivate, 16),
		f("picture", "profile", BlockPhoto, "url", LevelOnRequest, 128),
	}
}

// NewCatalog builds the catalog from cfg. A key or level cfg names that the catalog does not
// know is an error, so a typo in the configuration fails at start.
func NewCatalog(cfg CatalogConfig) (*Catalog, error) {
	c := &Catalog{fields: builtin(), index: map[string]int{}, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	for i, f := range c.fields {
		c.index[f.Key] = i
	}
	mandatory := cfg.Mandatory
	if mandatory == nil {
		mandatory = DefaultMandatory
	}
	for _, k := range mandatory {
		i, ok := c.index[k]
		if !ok {
			return nil, fmt.Errorf("mandatory field %q: not in the catalog", k)
		}
		c.fields[i].Mandatory = true
	}
	for _, k := range cfg.Locked {
		i, ok := c.index[k]
		if !ok {
			return nil, fmt.Errorf("locked field %q: not in the catalog", k)
		}
		c.fields[i].Locked = true
	}
	for k, l := range cfg.DefaultLevels {
		i, ok := c.index[k]
		if !ok {
			return nil, fmt.Errorf("default level of field %q: not in the catalog", k)
		}
		switch l {
		case LevelPrivate, LevelOnRequest, LevelPublic:
		default:
			return nil, fmt.Errorf("default level of field %q: unknown level %q", k, l)
		}
		c.fields[i].DefaultLevel = l
	}
	return c, nil
}

// Fields returns every field in display order (a copy the caller may keep).
func (c *Catalog) Fields() []Field {
	out := slices.Clone(c.fields)
	for i := range out {
		out[i].Options = slices.Clone(out[i].Options)
	}
	return out
}

// Field returns the field with key.
func (c *Catalog) Field(key string) (Field, bool) {
	i, ok := c.index[key]
	if !ok {
		return Field{}, false
	}
	f := c.fields[i]
	f.Options = slices.Clone(f.Options)
	return f, true
}

// Block returns the fields shown in block, in display order.
func (c *Catalog) Block(block string) []Field {
	var out []Field
	for _, f := range c.Fields() {
		if f.Block == block {
			out = append(out, f)
		}
	}
	return out
}

// Missing returns the mandatory keys whose value in values is empty (or only spaces), in
// display order. The caller puts the account email (users.email) under "email".
func (c *Catalog) Missing(values map[string]string) []string {
	var out []string
	for _, f := range c.fields {
		if f.Mandatory && strings.TrimSpace(values[f.Key]) == "" {
			out = append(out, f.Key)
		}
	}
	return out
}

// Validation message keys (the message catalog holds their text).
const (
	MsgUnknownField   = "field.err.unknown"
	MsgTooLong        = "field.err.too_long"
	MsgControlChars   = "field.err.control_chars"
	MsgDateFormat     = "field.err.date_format"
	MsgDateFuture     = "field.err.date_future"
	MsgDateTooOld     = "field.err.date_too_old"
	MsgURL            = "field.err.url"
	MsgUsernameLength = "field.err.username_length"
	MsgUsernameChars  = "field.err.username_chars"
	MsgUsernameStart  = "field.err.username_start"
	MsgOption         = "field.err.option"
	MsgLocale         = "field.err.locale"
	MsgZone           = "field.err.zoneinfo"
	MsgAddress        = "field.err.address"
	MsgCountry        = "field.err.country"
	MsgEmail          = "field.err.email"
	MsgPhone          = "field.err.phone"
	MsgPicture        = "field.err.picture"
)

var (
	usernameChars = regexp.MustCompile(`^[a-z0-9._-]+$`)
	e164          = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	picturePath   = regexp.MustCompile(`^/public/images/profile/[A-Za-z0-9_-]{8,64}$`)
)

// Validate checks value for key and returns it normalized (trimmed; usernames lower-cased;
// locale tags canonical; address JSON re-encoded). msg is "" when the value is valid, else a
// message catalog key. An empty value (after trimming) is valid: it clears the field; whether
// the field may be empty is Missing's business.
func (c *Catalog) Validate(key, value string) (normalized string, msg string) {
	f, ok := c.Field(key)
	if !ok {
		return "", MsgUnknownField
	}
	if !utf8.ValidString(value) {
		return "", MsgControlChars
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", ""
	}
	switch key {
	case "given_name", "family_name", "middle_name", "nickname":
		return checkText(v, f.MaxLen, false)
	case "preferred_username":
		return checkUsername(v)
	case "birthdate":
		return c.checkBirthdate(v)
	case "gender":
		v = strings.ToLower(v)
		if !slices.Contains(f.Options, v) {
			return "", MsgOption
		}
		return v, ""
	case "locale":
		return checkLocale(v)
	case "zoneinfo":
		return checkZone(v)
	case "website":
		return checkURL(v)
	case "address":
		a, err := ParseAddress(v)
		if err != nil {
			return "", MsgAddress
		}
		a, msgs := ValidateAddress(a)
		for _, part := range addressParts {
			if m := msgs[part]; m != "" {
				return "", m
			}
		}
		return a.Value(), ""
	case "email":
		return checkEmail(v)
	case "phone_number":
		if !e164.MatchString(v) {
			return "", MsgPhone
		}
		return v, ""
	case "picture":
		if !picturePath.MatchString(v) {
			return "", MsgPicture
		}
		return v, ""
	}
	return "", MsgUnknownField
}

// checkText accepts up to max runes without control characters or line/paragraph separators
// (newlines only when multiline).
func checkText(v string, max int, multiline bool) (string, string) {
	if utf8.RuneCountInString(v) > max {
		return "", MsgTooLong
	}
	for _, r := range v {
		if r == '\n' && multiline {
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError {
			return "", MsgControlChars
		}
	}
	return v, ""
}

// checkUsername: 3–32 characters of [a-z0-9._-], starting with a letter, lower-cased.
func checkUsername(v string) (string, string) {
	v = strings.ToLower(v)
	if n := utf8.RuneCountInString(v); n < minUsernameLen || n > maxUsernameLen {
		return "", MsgUsernameLength
	}
	if !usernameChars.MatchString(v) {
		return "", MsgUsernameChars
	}
	if v[0] < 'a' || v[0] > 'z' {
		return "", MsgUsernameStart
	}
	return v, ""
}

// latestZone is the zone where the calendar day starts first (UTC+14): a birth date is "in
// the future" only when it is after today everywhere on Earth.
var latestZone = time.FixedZone("UTC+14", 14*60*60)

// checkBirthdate: YYYY-MM-DD (OIDC Core §5.1 "birthdate"), a real calendar date, from 1900
// and not in the future.
func (c *Catalog) checkBirthdate(v string) (string, string) {
	if len(v) != len("2006-01-02") {
		return "", MsgDateFormat
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return "", MsgDateFormat
	}
	if d.Year() < minBirthYear {
		return "", MsgDateTooOld
	}
	today := c.now().In(latestZone).Format(time.DateOnly)
	if v > today {
		return "", MsgDateFuture
	}
	return v, ""
}

// checkLocale accepts a BCP 47 tag (OIDC Core §5.1 "locale") and returns its canonical form.
func checkLocale(v string) (string, string) {
	if len(v) > maxLocaleLen {
		return "", MsgLocale
	}
	t, err := language.Parse(v)
	if err != nil || t == language.Und {
		return "", MsgLocale
	}
	return t.String(), ""
}

// checkZone accepts an IANA time zone name (OIDC Core §5.1 "zoneinfo").
func checkZone(v string) (string, string) {
	if len(v) > maxZoneLen || v == "Local" || strings.ContainsAny(v, `\ `) {
		return "", MsgZone
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return "", MsgZone
	}
	return loc.String(), ""
}

// checkURL accepts an absolute http(s) URL with a host and no credentials.
func checkURL(v string) (string, string) {
	if len(v) > maxURLLen {
		return "", MsgTooLong
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "", MsgURL
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", MsgURL
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return "", MsgURL
	}
	if u.Hostname() == "" {
		return "", MsgURL
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u.String(), ""
}

// checkEmail accepts a bare address (no display name), lower-cased.
func checkEmail(v string) (string, string) {
	if len(v) > maxEmailLen {
		return "", MsgEmail
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return "", MsgEmail
	}
	return strings.ToLower(v), ""
}

// Address is the stored form of the address field (OIDC Core §5.1.1), as JSON.
type Address struct {
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// addressParts are the JSON names of Address's members, in display order.
var addressParts = []string{"street_address", "locality", "region", "postal_code", "country"}

// AddressParts returns the JSON names of the address members in display order.
func AddressParts() []string { return slices.Clone(addressParts) }

// ParseAddress reads a stored address value; "" is the empty address. Unknown members are an
// error.
func ParseAddress(v string) (Address, error) {
	var a Address
	if strings.TrimSpace(v) == "" {
		return a, nil
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Address{}, fmt.Errorf("parse address: %w", err)
	}
	if dec.More() {
		return Address{}, fmt.Errorf("parse address: trailing data")
	}
	return a, nil
}

// Part returns the member named by its JSON name.
func (a Address) Part(name string) string {
	switch name {
	case "street_address":
		return a.StreetAddress
	case "locality":
		return a.Locality
	case "region":
		return a.Region
	case "postal_code":
		return a.PostalCode
	case "country":
		return a.Country
	}
	return ""
}

func (a *Address) set(name, v string) {
	switch name {
	case "street_address":
		a.StreetAddress = v
	case "locality":
		a.Locality = v
	case "region":
		a.Region = v
	case "postal_code":
		a.PostalCode = v
	case "country":
		a.Country = v
	}
}

// AddressFrom builds an address from its parts by JSON name (e.g. a form's values).
func AddressFrom(parts map[string]string) Address {
	var a Address
	for _, p := range addressParts {
		a.set(p, parts[p])
	}
	return a
}

// Value returns the stored form: JSON, or "" when every part is empty.
func (a Address) Value() string {
	if a == (Address{}) {
		return ""
	}
	b, err := json.Marshal(a)
	if err != nil { // a struct of strings always marshals
		return ""
	}
	return string(b)
}

// ValidateAddress trims every part and checks it: at most 200 runes without control
// characters (street_address may hold newlines); the country at most 56. It returns the normalized address and a message key per
// invalid part (by JSON name); no messages means valid.
func ValidateAddress(a Address) (Address, map[string]string) {
	var out Address
	msgs := map[string]string{}
	for _, p := range addressParts {
		v := strings.TrimSpace(strings.ReplaceAll(a.Part(p), "\r\n", "\n"))
		if !utf8.ValidString(v) {
			msgs[p] = MsgControlChars
			continue
		}
		max := maxAddressPartLen
		if p == "country" {
			max = maxCountryLen
		}
		// OIDC Core §5.1.1: street_address may span several lines.
		nv, m := checkText(v, max, p == "street_address")
		if m == MsgTooLong && p == "country" {
			m = MsgCountry
		}
		if m != "" {
			msgs[p] = m
			continue
		}
		out.set(p, nv)
	}
	if len(msgs) > 0 {
		return a, msgs
	}
	return out, nil
}
