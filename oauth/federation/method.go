package federation

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// Fields are the names a claim map maps onto: what Facet takes from an upstream account.
var Fields = []string{"sub", "email", "email_verified", "name", "given_name", "family_name", "picture"}

// Preset fills a login method's endpoints, scopes and claim map for a well-known provider.
type Preset struct {
	Name     string
	Type     string
	Issuer   string // OIDC
	AuthURL  string // OAuth 2.0
	TokenURL string
	Userinfo string
	Scopes   []string
	ClaimMap map[string]string
	// NeedsIssuer: the issuer names the tenant and must be given (Microsoft Entra ID: the
	// "common" issuer's discovery document names another issuer, which go-oidc refuses).
	NeedsIssuer bool
	// DeviceID: the callback carries a device_id that the token request repeats, together
	// with the state, the client id in the body (VK ID's POST /oauth2/auth).
	DeviceID bool
	// UserinfoPOST: userinfo is a POST of client_id and access_token in a form body, not a
	// GET with a bearer header (VK ID's POST /oauth2/user_info).
	UserinfoPOST bool
}

// oidcClaims is the claim map of an OpenID Connect provider: the standard claims (OIDC Core
// §5.1).
var oidcClaims = map[string]string{"sub": "sub", "email": "email", "email_verified": "email_verified", "name": "name",
	"given_name": "given_name", "family_name": "family_name", "picture": "picture"}

// Presets are the providers a method can be created from by name (--preset). The OAuth 2.0
// ones map their userinfo JSON (a dotted path reaches into nested objects).
var Presets = map[string]Preset{
	"github": {Name: "GitHub", Type: storage.MethodOAuth2, AuthURL: "https://github.com/login/oauth/authorize",
		TokenURL: "https://github.com/login/oauth/access_token", Userinfo: "https://api.github.com/user",
		Scopes:   []string{"read:user", "user:email"},
		ClaimMap: map[string]string{"sub": "id", "email": "email", "name": "name", "picture": "avatar_url"}},
	"gitlab": {Name: "GitLab", Type: storage.MethodOIDC, Issuer: "https://gitlab.com",
		Scopes: []string{"openid", "profile", "email"}, ClaimMap: oidcClaims},
	"google": {Name: "Google", Type: storage.MethodOIDC, Issuer: "https://accounts.google.com",
		Scopes: []string{"openid", "profile", "email"}, ClaimMap: oidcClaims},
	"microsoft": {Name: "Microsoft", Type: storage.MethodOIDC, NeedsIssuer: true,
		Scopes: []string{"openid", "profile", "email"}, ClaimMap: oidcClaims},
	"yandex": {Name: "Yandex", Type: storage.MethodOAuth2, AuthURL: "https://oauth.yandex.ru/authorize",
		TokenURL: "https://oauth.yandex.ru/token", Userinfo: "https://login.yandex.ru/info?format=json",
		Scopes: []string{"login:email", "login:info", "login:avatar"},
		ClaimMap: map[string]string{"sub": "id", "email": "default_email", "name": "real_name",
			"given_name": "first_name", "family_name": "last_name"}},
	"vkid": {Name: "VK ID", Type: storage.MethodOAuth2, AuthURL: "https://id.vk.com/authorize",
		TokenURL: "https://id.vk.com/oauth2/auth", Userinfo: "https://id.vk.com/oauth2/user_info",
		Scopes: []string{"vkid.personal_info", "email"},
		ClaimMap: map[string]string{"sub": "user.user_id", "email": "user.email", "given_name": "user.first_name",
			"family_name": "user.last_name", "picture": "user.avatar"},
		DeviceID: true, UserinfoPOST: true},
}

// PresetNames lists the presets in order.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spec is a login method as the administrator describes it; Secret is the client secret in
// clear (sealed before it is stored).
type Spec struct {
	Name, Type, Preset                     string
	Issuer, AuthURL, TokenURL, UserinfoURL string
	ClientID, Secret                       string
	Scopes                                 []string
	ClaimMap                               map[string]string
	IconURL                                string
	Public, LoginPage                      bool
}

// ApplyPreset fills what s leaves empty from its preset; an unknown preset is an error.
func (s *Spec) ApplyPreset() error {
	if s.Preset == "" {
		return nil
	}
	p, ok := Presets[s.Preset]
	if !ok {
		return fmt.Errorf("unknown preset %q (known: %s)", s.Preset, strings.Join(PresetNames(), ", "))
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&s.Name, p.Name)
	fill(&s.Type, p.Type)
	fill(&s.Issuer, p.Issuer)
	fill(&s.AuthURL, p.AuthURL)
	fill(&s.TokenURL, p.TokenURL)
	fill(&s.UserinfoURL, p.Userinfo)
	if len(s.Scopes) == 0 {
		s.Scopes = slices.Clone(p.Scopes)
	}
	m := map[string]string{}
	for k, v := range p.ClaimMap {
		m[k] = v
	}
	for k, v := range s.ClaimMap {
		m[k] = v
	}
	s.ClaimMap = m
	if p.NeedsIssuer && s.Issuer == "" {
		return fmt.Errorf("preset %s needs --issuer naming the tenant, e.g. https://login.microsoftonline.com/TENANT-ID/v2.0", s.Preset)
	}
	return nil
}

// Validate checks a spec after its preset is applied.
func Validate(s Spec) error {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if s.ClientID == "" {
		errs = append(errs, errors.New("client id is required"))
	}
	checkURL := func(what, v string) {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s %q must be an http(s) URL", what, v))
		}
	}
	switch s.Type {
	case storage.MethodOIDC:
		if s.Issuer == "" {
			errs = append(errs, errors.New("an oidc method needs --issuer"))
		} else {
			checkURL("issuer", s.Issuer)
		}
		if s.UserinfoURL != "" || s.AuthURL != "" || s.TokenURL != "" {
			errs = append(errs, errors.New("an oidc method finds its endpoints by discovery: give --issuer, not --auth-url/--token-url/--userinfo-url"))
		}
	case storage.MethodOAuth2:
		for _, u := range []struct{ what, v string }{{"auth url", s.AuthURL}, {"token url", s.TokenURL}, {"userinfo url", s.UserinfoURL}} {
			if u.v == "" {
				errs = append(errs, fmt.Errorf("an oauth2 method needs its %s", u.what))
			} else {
				checkURL(u.what, u.v)
			}
		}
		if s.ClaimMap["sub"] == "" {
			errs = append(errs, errors.New("an oauth2 method needs --map sub=MEMBER: the userinfo member that names the account"))
		}
	default:
		errs = append(errs, fmt.Errorf("type %q must be oidc or oauth2", s.Type))
	}
	for k, v := range s.ClaimMap {
		if !slices.Contains(Fields, k) {
			errs = append(errs, fmt.Errorf("--map %s: unknown field (known: %s)", k, strings.Join(Fields, ", ")))
		}
		if v == "" {
			errs = append(errs, fmt.Errorf("--map %s: empty member name", k))
		}
	}
	if s.IconURL != "" {
		checkURL("icon url", s.IconURL)
	}
	return errors.Join(errs...)
}

// ParseClaimMap reads "sub=id,email=email" pairs.
func ParseClaimMap(pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		for _, kv := range strings.Split(p, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("--map %q: want FIELD=MEMBER", kv)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// MethodStore is what creating and changing login methods needs.
type MethodStore interface {
	CreateLoginMethod(ctx context.Context, m storage.LoginMethod) error
	GetLoginMethod(ctx context.Context, id string) (storage.LoginMethod, error)
	UpdateLoginMethod(ctx context.Context, m storage.LoginMethod) error
}

// newMethodID is a login method's id: 12 hex digits, part of the callback URL.
func newMethodID() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// Create stores a new login method from s (validated, preset applied), its client secret
// sealed with the system secret.
func Create(ctx context.Context, store MethodStore, secret []byte, s Spec, now time.Time) (storage.LoginMethod, error) {
	m := storage.LoginMethod{ID: newMethodID(), CreatedAt: now.UTC()}
	if err := fill(&m, secret, s, now); err != nil {
		return storage.LoginMethod{}, err
	}
	if err := store.CreateLoginMethod(ctx, m); err != nil {
		return storage.LoginMethod{}, err
	}
	return m, nil
}

// Update replaces method id with s; an empty s.Secret keeps the stored secret.
func Update(ctx context.Context, store MethodStore, secret []byte, id string, s Spec, now time.Time) (storage.LoginMethod, error) {
	m, err := store.GetLoginMethod(ctx, id)
	if err != nil {
		return storage.LoginMethod{}, err
	}
	keep := m.ClientSecret
	if err := fill(&m, secret, s, now); err != nil {
		return storage.LoginMethod{}, err
	}
	if s.Secret == "" {
		m.ClientSecret = keep
	}
	if err := store.UpdateLoginMethod(ctx, m); err != nil {
		return storage.LoginMethod{}, err
	}
	return m, nil
}

func fill(m *storage.LoginMethod, secret []byte, s Spec, now time.Time) error {
	if err := s.ApplyPreset(); err != nil {
		return err
	}
	if err := Validate(s); err != nil {
		return err
	}
	sealed, err := sealSecret(secret, m.ID, s.Secret)
	if err != nil {
		return err
	}
	m.Name, m.Type, m.Preset = strings.TrimSpace(s.Name), s.Type, s.Preset
	m.Issuer, m.AuthURL, m.TokenURL, m.UserinfoURL = strings.TrimSuffix(s.Issuer, "/"), s.AuthURL, s.TokenURL, s.UserinfoURL
	m.ClientID, m.ClientSecret, m.Scopes, m.ClaimMap = s.ClientID, sealed, s.Scopes, s.ClaimMap
	m.IconURL, m.Public, m.LoginPage, m.UpdatedAt = s.IconURL, s.Public, s.LoginPage, now.UTC()
	if m.Type == storage.MethodOIDC && len(m.ClaimMap) == 0 {
		m.ClaimMap = nil
	}
	return nil
}

// SpecOf is m as a Spec, without its secret (for an update that changes only some flags).
func SpecOf(m storage.LoginMethod) Spec {
	return Spec{Name: m.Name, Type: m.Type, Preset: m.Preset, Issuer: m.Issuer, AuthURL: m.AuthURL, TokenURL: m.TokenURL,
		UserinfoURL: m.UserinfoURL, ClientID: m.ClientID, Scopes: slices.Clone(m.Scopes), ClaimMap: m.ClaimMap,
		IconURL: m.IconURL, Public: m.Public, LoginPage: m.LoginPage}
}

// CallbackURL is where the provider sends the browser back: the redirect URI to register
// there.
func CallbackURL(issuer, methodID string) string {
	return strings.TrimSuffix(issuer, "/") + "/login/methods/" + methodID + "/callback"
}

// secretAEAD is AES-256-GCM under a key derived from the system secret for login-method
// secrets alone (HKDF-SHA256 with its own info string).
func secretAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) < 32 {
		return nil, errors.New("system secret: need at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "facet login-method secret v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealSecret encrypts a client secret; the method id is the associated data, so a sealed
// secret cannot be moved onto another method's row. Output: nonce || ciphertext.
func sealSecret(secret []byte, methodID, clear string) ([]byte, error) {
	aead, err := secretAEAD(secret)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails since Go 1.24
	return aead.Seal(nonce, nonce, []byte(clear), []byte(methodID)), nil
}

// openSecret decrypts a sealed client secret.
func openSecret(secret []byte, methodID string, sealed []byte) (string, error) {
	aead, err := secretAEAD(secret)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed secret too short")
	}
	clear, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(methodID))
	if err != nil {
		return "", fmt.Errorf("decrypt the client secret of login method %q (wrong system secret?): %w", methodID, err)
	}
	return string(clear), nil
}
