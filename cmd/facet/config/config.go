// Package config is Facet's configuration: every key with its environment variable, flag and
// default (Settings), loading them in layers (defaults < YAML file < FACET_* environment <
// flags), the checks a node refuses to start without, and the senders and catalog settings
// the keys describe. Every command of cmd/facet loads the same Config. It wires nothing:
// cmd/facet builds the node from it.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile/notify"
)

// defaultMetricsListen keeps the metrics on this machine unless configured otherwise.
const defaultMetricsListen = "127.0.0.1:9464"

// Modes. Development is friendly on a laptop (a generated secret, the demo app); production
// refuses to start without a secret and an https issuer.
const (
	ModeDevelopment = "development"
	ModeProduction  = "production"
)

// Config is everything a Facet node is configured with. Every CLI command loads the same
// Config (defaults < YAML file < FACET_* environment < flags), so `facet clients create` acts
// on the database `facet serve` uses.
type Config struct {
	Issuer      string `koanf:"issuer"`       // public base URL, no trailing slash; the OIDC "iss"
	Listen      string `koanf:"listen"`       // address serve listens on
	DatabaseURL string `koanf:"database_url"` // sqlite://path or postgres://...
	Secret      []byte `koanf:"secret"`       // 32-byte system secret; nil in development means "generate and store one"
	Mode        string `koanf:"mode"`         // development | production
	// AllowDevPublicIssuer lets development mode run with an issuer that is not this machine
	// (localhost or a loopback IP); without it serve refuses, since development shows every
	// user's mail and codes at /dev/mail.
	AllowDevPublicIssuer bool `koanf:"allow_dev_on_public_issuer"`
	// MetricsListen is the address of the /metrics listener, apart from the public one; ""
	// serves no metrics. Only serve reads it.
	MetricsListen string `koanf:"metrics_listen"`

	CodeLifespan         time.Duration `koanf:"code_lifespan"`
	AccessTokenLifespan  time.Duration `koanf:"access_token_lifespan"`
	RefreshTokenLifespan time.Duration `koanf:"refresh_token_lifespan"`
	// RefreshTokenGrace is the reuse grace of a rotated refresh token (oauth.Config.RefreshGrace).
	// Zero is meaningful (none), so WithDefaults leaves it: a Config built in code has no grace
	// unless it sets one; the configuration default is 30s.
	RefreshTokenGrace time.Duration `koanf:"refresh_token_grace"`
	IDTokenLifespan   time.Duration `koanf:"id_token_lifespan"`
	IDTokenOnRefresh  bool          `koanf:"id_token_on_refresh"` // refresh responses carry a new ID token
	SessionIdle       time.Duration `koanf:"session_idle"`
	SessionAbsolute   time.Duration `koanf:"session_absolute"`

	Demo bool `koanf:"demo"` // serve the demo relying party at /demo

	// TrustedProxies are the reverse proxies (CIDRs) whose X-Forwarded-For header is
	// believed for a client's IP address; empty trusts none and uses the peer address.
	TrustedProxies []netip.Prefix `koanf:"trusted_proxies"`

	LogLevel  string `koanf:"log_level"`  // debug | info | warn | error
	LogFormat string `koanf:"log_format"` // text | json

	// The profile field catalog. MandatoryFields nil means consent.DefaultMandatory (an
	// empty, non-nil list makes no field mandatory); DefaultPrivacy overrides the built-in
	// levels of the fields it names.
	MandatoryFields []string                 `koanf:"mandatory_fields"`
	LockedFields    []string                 `koanf:"locked_fields"`
	DefaultPrivacy  map[string]consent.Level `koanf:"default_privacy"`

	// Mail. Without SMTPHost, development keeps mail in the log and on /dev/mail, and
	// production answers email verification with 503.
	SMTPHost     string       `koanf:"smtp_host"`
	SMTPPort     int          `koanf:"smtp_port"` // 0: by SMTPTLS (587 starttls, 465 tls, 25 none)
	SMTPTLS      string       `koanf:"smtp_tls"`  // starttls | tls | none
	SMTPUsername string       `koanf:"smtp_username"`
	SMTPPassword SecretString `koanf:"smtp_password"`
	MailFrom     string       `koanf:"mail_from"`

	// SMS and voice calls. SMSSender "" means log in development and none in production.
	SMSSender        string       `koanf:"sms_sender"` // log | webhook | twilio | none
	SMSWebhookURL    string       `koanf:"sms_webhook_url"`
	SMSWebhookSecret SecretString `koanf:"sms_webhook_secret"`
	TwilioAccountSID string       `koanf:"twilio_account_sid"`
	TwilioAuthToken  SecretString `koanf:"twilio_auth_token"`
	TwilioFrom       string       `koanf:"twilio_from"`
	PhoneRegion      string       `koanf:"phone_region"` // ISO 3166 alpha-2 region of numbers typed without +country code

	MaxPhotoBytes int64 `koanf:"max_photo_bytes"`
	// MemoryLimit is the Go runtime soft memory limit in bytes; 0 none; MemoryLimitAuto. Its
	// key also takes auto and off, so parse reads it apart from the byte sizes.
	MemoryLimit int64         `koanf:"-"`
	RecentAuth  time.Duration `koanf:"recent_auth"` // how recent a login must be to change email or phone
	// MFA is the two-factor policy: "optional" (each user opts in) or "required" (every user
	// enrols at the next sign-in; every app sign-in needs a second factor).
	MFA            string        `koanf:"mfa"`
	EventRetention time.Duration `koanf:"event_retention"` // how long the activity log keeps events
	// UnverifiedAccountTTL is how long an account with only an unconfirmed email lives.
	UnverifiedAccountTTL time.Duration `koanf:"unverified_account_ttl"`
	// LoginLimits are the login throttles (the login_limits_* keys); zero fields take
	// signin's defaults.
	LoginLimits LoginLimits `koanf:",squash"`
	// DeletionGrace is the recovery window of a deleted account before the purge erases it.
	DeletionGrace time.Duration `koanf:"deletion_grace"`
	// PolicyFile is the personal data processing policy served at /profile/policy (PDF,
	// HTML, Markdown or text); "" serves the shipped default.
	PolicyFile string `koanf:"policy_file"`
	// Features are the experimental features on by default (KnownFeatures); a switch stored
	// in the database by `facet features enable|disable` wins, so every node agrees.
	Features []string `koanf:"features"`

	// Not loaded from configuration; tests inject them.

	// Now is the clock of every module; nil means time.Now.
	Now func() time.Time `koanf:"-"`
	// HoldMemory raises the soft memory limit by bytes until the returned function is called
	// (serve's memory reserve); serve sets it under the automatic limit, nil leaves the limit be.
	HoldMemory func(bytes int64) (release func()) `koanf:"-"`
	// HTTPClient is what the demo relying party uses to reach the issuer (discovery, token,
	// userinfo); nil means a client with a timeout.
	HTTPClient *http.Client `koanf:"-"`
}

// KnownFeatures are the names of the experimental features an administrator switches on
// (`facet features`, the features key).
var KnownFeatures = []string{"business-card", "catalog"}

// FeatureDefault reports whether feature name is on by default (the features key).
func (cfg Config) FeatureDefault(name string) bool { return slices.Contains(cfg.Features, name) }

// Setting is one configuration key with its environment variable, flag and default. The
// README's configuration table lists the same rows (a test checks it).
type Setting struct {
	Key     string
	Flag    string // "" when the key has no flag
	Default string // "" when there is no default
	Help    string
	Serve   bool // the flag belongs to `serve` only; others are global
}

// Env is the environment variable of a key: FACET_ and the key in upper case.
func (s Setting) Env() string { return "FACET_" + strings.ToUpper(s.Key) }

// Settings lists every configuration key. Keep the README's table in step.
func Settings() []Setting {
	return []Setting{
		{Key: "issuer", Flag: "issuer", Default: "http://localhost:8080", Help: "public base URL of this Facet (the OIDC issuer)"},
		{Key: "listen", Flag: "listen", Default: ":8080", Help: "address to listen on", Serve: true},
		{Key: "metrics_listen", Flag: "metrics-listen", Default: defaultMetricsListen, Help: "address of the Prometheus /metrics listener, apart from the public one (unauthenticated: keep it private); off disables it", Serve: true},
		{Key: "database_url", Flag: "database-url", Default: "sqlite://./facet-data/facet.db", Help: "sqlite://PATH or postgres://..."},
		{Key: "secret", Help: "system secret: 32 bytes, base64 or hex (required in production)"},
		{Key: "mode", Flag: "mode", Default: ModeDevelopment, Help: "development or production"},
		{Key: "allow_dev_on_public_issuer", Flag: "allow-dev-on-public-issuer", Default: "false", Help: "let development mode start with an issuer that is not localhost or a loopback IP (its /dev/mail, every user's codes, still answers loopback peers only)", Serve: true},
		{Key: "code_lifespan", Flag: "code-lifespan", Default: "5m", Help: "authorization code lifetime (at most 5m)", Serve: true},
		{Key: "access_token_lifespan", Flag: "access-token-lifespan", Default: "15m", Help: "access token lifetime", Serve: true},
		{Key: "refresh_token_lifespan", Flag: "refresh-token-lifespan", Default: "720h", Help: "refresh token absolute lifetime", Serve: true},
		{Key: "refresh_token_grace", Flag: "refresh-token-grace", Default: "30s", Help: "how long a rotated refresh token may be presented again (a retry whose answer was lost) and get a new one instead of revoking the grant; 0 revokes on every reuse", Serve: true},
		{Key: "id_token_lifespan", Flag: "id-token-lifespan", Default: "1h", Help: "ID token lifetime", Serve: true},
		{Key: "id_token_on_refresh", Flag: "id-token-on-refresh", Default: "false", Help: "also issue a new ID token with every refresh (OIDC Core 12.2 makes it optional; it costs an RSA signature)", Serve: true},
		{Key: "session_idle", Flag: "session-idle", Default: "24h", Help: "browser session idle timeout", Serve: true},
		{Key: "session_absolute", Flag: "session-absolute", Default: "720h", Help: "browser session absolute timeout", Serve: true},
		{Key: "demo", Flag: "demo", Help: "serve the demo app at /demo (default: on when the issuer is localhost)", Serve: true},
		{Key: "trusted_proxies", Flag: "trusted-proxies", Help: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted (default: none)", Serve: true},
		{Key: "log_level", Flag: "log-level", Default: "info", Help: "debug, info, warn or error"},
		{Key: "log_format", Flag: "log-format", Default: "text", Help: "text or json"},
		{Key: "mandatory_fields", Flag: "mandatory-fields", Default: "given_name,family_name", Help: "comma-separated profile fields a person must fill in before an app signs them in", Serve: true},
		{Key: "locked_fields", Flag: "locked-fields", Help: "comma-separated profile fields a person cannot edit (filled by an external provider)", Serve: true},
		{Key: "default_privacy", Flag: "default-privacy", Help: "privacy levels overriding the built-in defaults, e.g. birthdate=private,given_name=public", Serve: true},
		{Key: "smtp_host", Flag: "smtp-host", Help: "SMTP server for verification mail (default: none; development logs mail and shows it at /dev/mail)", Serve: true},
		{Key: "smtp_port", Flag: "smtp-port", Help: "SMTP port (default: 587 for starttls, 465 for tls, 25 for none)", Serve: true},
		{Key: "smtp_tls", Flag: "smtp-tls", Default: notify.TLSStartTLS, Help: "starttls, tls or none", Serve: true},
		{Key: "smtp_username", Flag: "smtp-username", Help: "SMTP user name (authentication only when set)", Serve: true},
		{Key: "smtp_password", Help: "SMTP password (never logged)"},
		{Key: "mail_from", Flag: "mail-from", Default: "Facet <no-reply@localhost>", Help: "sender address of Facet's mail", Serve: true},
		{Key: "sms_sender", Flag: "sms-sender", Help: "log, webhook, twilio or none (default: log in development, none in production)", Serve: true},
		{Key: "sms_webhook_url", Flag: "sms-webhook-url", Help: "URL receiving texts as signed JSON POSTs (sms_sender webhook)", Serve: true},
		{Key: "sms_webhook_secret", Help: "HMAC key signing webhook deliveries, at least 32 bytes (never logged)"},
		{Key: "twilio_account_sid", Flag: "twilio-account-sid", Help: "Twilio account SID (sms_sender twilio)", Serve: true},
		{Key: "twilio_auth_token", Help: "Twilio auth token (never logged)"},
		{Key: "twilio_from", Flag: "twilio-from", Help: "Twilio number texts and calls come from, E.164", Serve: true},
		{Key: "phone_region", Flag: "phone-region", Default: "US", Help: "region (ISO 3166 alpha-2) of phone numbers typed without a country code", Serve: true},
		{Key: "max_photo_bytes", Flag: "max-photo-bytes", Default: "5MiB", Help: "largest photo upload: bytes, or with KiB/MiB", Serve: true},
		{Key: "recent_auth", Flag: "recent-auth", Default: "15m", Help: "how recent a login must be to change the email address or phone number", Serve: true},
		{Key: "mfa", Flag: "mfa", Default: "optional", Help: "two-factor policy: optional (users opt in) or required (every user enrols at the next sign-in)", Serve: true},
		{Key: "event_retention", Flag: "event-retention", Default: "8760h", Help: "how long the activity log keeps events", Serve: true},
		{Key: "unverified_account_ttl", Flag: "unverified-account-ttl", Default: "168h", Help: "how long an account whose only way in is an unconfirmed email address lives before the cleanup job deletes it", Serve: true},
		{Key: "login_limits_per_ip", Flag: "login-limits-per-ip", Default: "20", Help: "failed logins per client IP per login_limits_ip_window before that IP waits (successful logins do not count)", Serve: true},
		{Key: "login_limits_ip_window", Flag: "login-limits-ip-window", Default: "15m", Help: "the window of login_limits_per_ip", Serve: true},
		{Key: "login_limits_account_free", Flag: "login-limits-account-free", Default: "5", Help: "failed logins of one account before each further attempt waits (from a browser without the account's device cookie)", Serve: true},
		{Key: "login_limits_base_delay", Flag: "login-limits-base-delay", Default: "2s", Help: "the first wait after login_limits_account_free failures; it doubles with every further failure", Serve: true},
		{Key: "login_limits_max_delay", Flag: "login-limits-max-delay", Default: "15m", Help: "the longest wait of an account: it is slowed down, never locked", Serve: true},
		{Key: "login_limits_account_memory", Flag: "login-limits-account-memory", Default: "24h", Help: "how long after its last failure an account's failures are forgotten", Serve: true},
		{Key: "login_limits_device_failures", Flag: "login-limits-device-failures", Default: "10", Help: "failed logins through one device cookie before that cookie no longer exempts its browser", Serve: true},
		{Key: "deletion_grace", Flag: "deletion-grace", Default: "720h", Help: "recovery window of a deleted account: it can be restored by signing in until then, and the purge job erases it afterwards", Serve: true},
		{Key: "policy_file", Flag: "policy-file", Help: "personal data processing policy offered for download (.pdf, .html, .md or .txt; default: the shipped policy)", Serve: true},
		{Key: "features", Flag: "features", Help: "comma-separated experimental features on by default: business-card, catalog (a switch set with `facet features enable|disable` wins)", Serve: true},
		{Key: "memory_limit", Flag: "memory-limit", Default: "auto", Help: "soft memory limit of the Go runtime: auto (48MiB + the password hashes that can run at once), off, or a size like 256MiB; GOMEMLIMIT wins", Serve: true},
	}
}

// AddFlags declares the flags of the settings on fs; serve selects serve's own flags
// (true) or the global ones (false).
func AddFlags(fs *pflag.FlagSet, serve bool) {
	for _, s := range Settings() {
		if s.Flag == "" || s.Serve != serve {
			continue
		}
		if s.Key == "demo" || s.Key == "allow_dev_on_public_issuer" {
			fs.Bool(s.Flag, false, s.Help+" ("+s.Env()+")")
			continue
		}
		fs.String(s.Flag, s.Default, s.Help+" ("+s.Env()+")")
	}
}

// Load layers the sources: defaults < YAML file (path, optional) < FACET_* variables
// read through getenv < the flags set on fs.
func Load(path string, getenv func(string) string, fs *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	defaults := map[string]any{}
	for _, s := range Settings() {
		if s.Default != "" {
			defaults[s.Key] = s.Default
		}
	}
	if err := k.Load(mapProvider(defaults), nil); err != nil {
		return Config{}, fmt.Errorf("load defaults: %w", err)
	}

	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("read config file %s: %w", path, err)
		}
		known := map[string]bool{}
		for _, s := range Settings() {
			known[s.Key] = true
		}
		for _, key := range k.Keys() {
			// default_privacy may be a YAML map (field: level).
			if !known[key] && !strings.HasPrefix(key, "default_privacy.") {
				return Config{}, fmt.Errorf("config file %s: unknown key %q", path, key)
			}
		}
	}

	env := map[string]any{}
	for _, s := range Settings() {
		if v := getenv(s.Env()); v != "" {
			env[s.Key] = v
		}
	}
	if err := k.Load(mapProvider(env), nil); err != nil {
		return Config{}, fmt.Errorf("load environment: %w", err)
	}

	if fs != nil {
		byFlag := map[string]string{}
		for _, s := range Settings() {
			if s.Flag != "" {
				byFlag[s.Flag] = s.Key
			}
		}
		flags := posflag.ProviderWithFlag(fs, ".", k, func(f *pflag.Flag) (string, any) {
			key, ok := byFlag[f.Name]
			if !ok || !f.Changed {
				return "", nil
			}
			return key, f.Value.String()
		})
		if err := k.Load(flags, nil); err != nil {
			return Config{}, fmt.Errorf("load flags: %w", err)
		}
	}
	return parse(k)
}

// parse turns the merged key/values into a Config (each field names its key in its
// koanf tag; decodeSetting converts the values) and checks it.
func parse(k *koanf.Koanf) (Config, error) {
	var cfg Config
	var errs []error
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       decodeSetting,
		WeaklyTypedInput: true, // a YAML number or bool where a string is expected
	}})
	if err != nil {
		errs = append(errs, settingErrors(err)...)
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	for _, v := range []*string{&cfg.Mode, &cfg.LogLevel, &cfg.LogFormat, &cfg.SMTPTLS, &cfg.SMSSender} {
		*v = strings.ToLower(*v)
	}
	cfg.PhoneRegion = strings.ToUpper(cfg.PhoneRegion)
	if strings.EqualFold(cfg.MetricsListen, "off") {
		cfg.MetricsListen = ""
	}
	if !k.Exists("demo") {
		cfg.Demo = IsLocalIssuer(cfg.Issuer)
	}
	if cfg.MemoryLimit, err = parseMemoryLimit(k.String("memory_limit")); err != nil {
		errs = append(errs, fmt.Errorf("memory_limit (FACET_MEMORY_LIMIT): %w", err))
	}
	cfg.SMSSender = cfg.smsSenderOrDefault()

	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// decodeSetting converts a configuration value (a string from the defaults, the environment
// or a flag; a string, number, bool, list or map from YAML) to the type of its Config field.
// Its errors say what is wrong with the value; settingErrors adds the key. Every plain string
// is trimmed; the secrets (SecretString) are taken as given.
func decodeSetting(_, to reflect.Type, data any) (any, error) {
	switch to {
	case reflect.TypeFor[string]():
		if s, ok := data.(string); ok {
			return strings.TrimSpace(s), nil
		}
	case reflect.TypeFor[bool]():
		if s, ok := data.(string); ok {
			v, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", s)
			}
			return v, nil
		}
	case reflect.TypeFor[int](): // smtp_port, the one integer key
		if s, ok := data.(string); ok {
			if s = strings.TrimSpace(s); s == "" {
				return 0, nil
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a port number", s)
			}
			return n, nil
		}
	case reflect.TypeFor[int64](): // the byte sizes
		return parseBytes(fmt.Sprint(data))
	case reflect.TypeFor[time.Duration]():
		raw := fmt.Sprint(data)
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration like 15m or 720h", raw)
		}
		return d, nil
	case reflect.TypeFor[[]byte](): // the system secret
		if s := strings.TrimSpace(fmt.Sprint(data)); s != "" {
			return DecodeSecret(s)
		}
		return nil, nil
	case reflect.TypeFor[[]string]():
		return stringList(data), nil
	case reflect.TypeFor[[]netip.Prefix]():
		return parsePrefixes(stringList(data))
	case reflect.TypeFor[map[string]consent.Level]():
		return parseLevels(data)
	}
	return data, nil
}

// settingErrors names the key and its environment variable in each error of the decoder
// ("smtp_port (FACET_SMTP_PORT): ..."), so the message says what to fix where.
func settingErrors(err error) []error {
	errs := []error{err}
	// mapstructure wraps the errors.Join of its per-key errors in a sentence of its own.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if joined, ok := e.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
			break
		}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			out = append(out, e)
			continue
		}
		out = append(out, fmt.Errorf("%s (%s): %w", de.Name(), Setting{Key: de.Name()}.Env(), de.Unwrap()))
	}
	return out
}

// Validate checks the rules that do not depend on how a value was parsed. serve calls it too,
// for configurations built in code (tests).
func (cfg Config) Validate() error {
	var errs []error
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("issuer: %q must be an absolute http(s) URL without query or fragment", cfg.Issuer))
	}
	if cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("database_url is empty"))
	}
	if cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics_listen: %q is not host:port (like 127.0.0.1:9464) or off", cfg.MetricsListen))
		}
	}
	switch cfg.Mode {
	case ModeDevelopment:
	case ModeProduction:
		if len(cfg.Secret) == 0 {
			errs = append(errs, errors.New("production mode needs a system secret: set FACET_SECRET to 32 random bytes, base64 or hex (e.g. `openssl rand -base64 32`); every node must use the same one"))
		}
		if u != nil && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("production mode needs an https issuer, got %q", cfg.Issuer))
		}
	default:
		errs = append(errs, fmt.Errorf("mode: %q must be development or production", cfg.Mode))
	}
	if len(cfg.Secret) != 0 && len(cfg.Secret) != 32 {
		errs = append(errs, fmt.Errorf("secret must be 32 bytes, got %d", len(cfg.Secret)))
	}
	for name, d := range map[string]time.Duration{
		"code_lifespan": cfg.CodeLifespan, "access_token_lifespan": cfg.AccessTokenLifespan,
		"refresh_token_lifespan": cfg.RefreshTokenLifespan, "id_token_lifespan": cfg.IDTokenLifespan,
		"session_idle": cfg.SessionIdle, "session_absolute": cfg.SessionAbsolute,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	// The grace only tolerates a retry of a lost answer; one as long as the token's life
	// would disable reuse detection (RFC 9700 §4.14.2).
	if cfg.RefreshTokenGrace < 0 || cfg.RefreshTokenGrace > 5*time.Minute {
		errs = append(errs, fmt.Errorf("refresh_token_grace must be between 0 and 5m, got %s", cfg.RefreshTokenGrace))
	}
	// RFC 9700 §4.2.1, RFC 6749 §4.1.2: codes are short-lived; at most five minutes.
	if cfg.CodeLifespan > 5*time.Minute {
		errs = append(errs, fmt.Errorf("code_lifespan must be at most 5m, got %s", cfg.CodeLifespan))
	}
	if cfg.SessionIdle > cfg.SessionAbsolute {
		errs = append(errs, fmt.Errorf("session_idle (%s) must not exceed session_absolute (%s)", cfg.SessionIdle, cfg.SessionAbsolute))
	}
	for _, f := range cfg.Features {
		if !slices.Contains(KnownFeatures, f) {
			errs = append(errs, fmt.Errorf("features (FACET_FEATURES): unknown feature %q (known: %s)", f, strings.Join(KnownFeatures, ", ")))
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.LogLevel) {
		errs = append(errs, fmt.Errorf("log_level: %q must be debug, info, warn or error", cfg.LogLevel))
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format: %q must be text or json", cfg.LogFormat))
	}
	if err := cfg.validateProfile(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckDevelopmentIssuer refuses development mode for an issuer that is not this machine,
// unless AllowDevPublicIssuer says so. Development is for a laptop: it lists every user's
// mail and one-time codes at /dev/mail and may keep a generated secret next to the data, so a
// public deployment that forgot mode=production must not start quietly (OWASP ASVS:
// development and debug features are disabled in production). Only serving checks it: the
// admin commands expose nothing.
func (cfg Config) CheckDevelopmentIssuer() error {
	if cfg.Mode != ModeDevelopment || cfg.AllowDevPublicIssuer || IsLocalIssuer(cfg.Issuer) {
		return nil
	}
	return fmt.Errorf("development mode with the issuer %q, which is not localhost or a loopback IP: "+
		"development shows every user's mail and verification codes at /dev/mail and is not for a public server. "+
		"Set mode=production (FACET_MODE, with FACET_SECRET and an https issuer), or, to run development mode "+
		"on this host anyway, allow_dev_on_public_issuer=true (FACET_ALLOW_DEV_ON_PUBLIC_ISSUER, "+
		"serve --allow-dev-on-public-issuer); /dev/mail then answers loopback peers only", cfg.Issuer)
}

// WithDefaults fills the zero fields of a Config built in code (tests) with the defaults of
// Settings(), so a test needs to set only Issuer and DatabaseURL. Demo stays as given.
func (cfg Config) WithDefaults() Config {
	def := map[string]string{}
	for _, s := range Settings() {
		def[s.Key] = s.Default
	}
	str := func(v *string, key string) {
		if *v == "" {
			*v = def[key]
		}
	}
	dur := func(v *time.Duration, key string) {
		if *v != 0 {
			return
		}
		// The defaults are constants in Settings(), all parsed by TestConfigDefaults; were one
		// broken, Validate would report the zero duration.
		if d, err := time.ParseDuration(def[key]); err == nil {
			*v = d
		}
	}
	str(&cfg.Issuer, "issuer")
	str(&cfg.Listen, "listen")
	str(&cfg.DatabaseURL, "database_url")
	str(&cfg.Mode, "mode")
	str(&cfg.LogLevel, "log_level")
	str(&cfg.LogFormat, "log_format")
	dur(&cfg.CodeLifespan, "code_lifespan")
	dur(&cfg.AccessTokenLifespan, "access_token_lifespan")
	dur(&cfg.RefreshTokenLifespan, "refresh_token_lifespan")
	dur(&cfg.IDTokenLifespan, "id_token_lifespan")
	dur(&cfg.SessionIdle, "session_idle")
	dur(&cfg.SessionAbsolute, "session_absolute")
	dur(&cfg.RecentAuth, "recent_auth")
	dur(&cfg.EventRetention, "event_retention")
	dur(&cfg.UnverifiedAccountTTL, "unverified_account_ttl")
	dur(&cfg.DeletionGrace, "deletion_grace")
	str(&cfg.SMTPTLS, "smtp_tls")
	str(&cfg.MailFrom, "mail_from")
	str(&cfg.PhoneRegion, "phone_region")
	str(&cfg.MFA, "mfa")
	if cfg.MandatoryFields == nil {
		cfg.MandatoryFields = splitList(def["mandatory_fields"])
	}
	if cfg.MaxPhotoBytes == 0 {
		// A constant of Settings(), checked by TestConfigDefaults; were it broken, Validate
		// would report the zero size.
		if n, err := parseBytes(def["max_photo_bytes"]); err == nil {
			cfg.MaxPhotoBytes = n
		}
	}
	if cfg.MemoryLimit == 0 {
		cfg.MemoryLimit = MemoryLimitAuto
	}
	cfg.SMSSender = cfg.smsSenderOrDefault()
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	return cfg
}

// SecureCookies reports whether cookies get the Secure attribute (and the __Host- prefix):
// whenever the issuer is served over https.
func (cfg Config) SecureCookies() bool { return strings.HasPrefix(cfg.Issuer, "https://") }

// DecodeSecret accepts 32 bytes as hex (64 characters) or base64 (standard or URL alphabet,
// padded or not).
func DecodeSecret(s string) ([]byte, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("decodes to %d bytes, want 32", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("is neither hex nor base64 of 32 bytes")
}

// parsePrefixes reads CIDRs ("10.0.0.0/8", "fd00::/8"); a bare address means that one host
// (/32 or /128). Prefixes are masked, so 10.1.2.3/8 reads as 10.0.0.0/8.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range list {
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR like 10.0.0.0/8 nor an IP address", part)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// IsLocalIssuer reports whether the issuer's host is this machine; the demo app is on by
// default only then.
func IsLocalIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mapProvider is a koanf provider over a flat map (defaults and the environment, which we
// read through the injected getenv rather than os.Environ).
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return map[string]any(m), nil }
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("map provider does not support ReadBytes")
}

// MemoryLimitAuto is Config.MemoryLimit's "auto": a base plus the memory of the password
// hashes that may run at once, raised by each photo decode's memory while it runs (serve's
// applyMemoryLimit).
const MemoryLimitAuto = -1

// parseMemoryLimit reads memory_limit: "auto", "off", or a size like 256MiB.
func parseMemoryLimit(raw string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "auto", "":
		return MemoryLimitAuto, nil
	case "off":
		return 0, nil
	}
	n, err := parseBytes(raw)
	if err != nil {
		return 0, fmt.Errorf("%w, or auto or off", err)
	}
	if n < 32<<20 {
		return 0, fmt.Errorf("%q is below 32MiB: the collector would run almost constantly", raw)
	}
	return n, nil
}
