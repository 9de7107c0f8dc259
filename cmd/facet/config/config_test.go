package config

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// envOf is a getenv over a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// serveFlags is the flag set `facet serve` parses: global and serve flags.
func serveFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs, false)
	AddFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %v: %v", args, err)
	}
	return fs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Load("", envOf(nil), serveFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Issuer:               "http://localhost:8080",
		Listen:               ":8080",
		DatabaseURL:          "sqlite://./facet-data/facet.db",
		Mode:                 ModeDevelopment,
		CodeLifespan:         5 * time.Minute,
		AccessTokenLifespan:  15 * time.Minute,
		RefreshTokenLifespan: 720 * time.Hour,
		IDTokenLifespan:      time.Hour,
		SessionIdle:          24 * time.Hour,
		SessionAbsolute:      720 * time.Hour,
		Demo:                 true, // localhost issuer
		LogLevel:             "info",
		LogFormat:            "text",
	}
	if cfg.Issuer != want.Issuer || cfg.Listen != want.Listen || cfg.DatabaseURL != want.DatabaseURL ||
		cfg.Mode != want.Mode || cfg.CodeLifespan != want.CodeLifespan || cfg.AccessTokenLifespan != want.AccessTokenLifespan ||
		cfg.RefreshTokenLifespan != want.RefreshTokenLifespan || cfg.IDTokenLifespan != want.IDTokenLifespan ||
		cfg.SessionIdle != want.SessionIdle || cfg.SessionAbsolute != want.SessionAbsolute || cfg.Demo != want.Demo ||
		cfg.LogLevel != want.LogLevel || cfg.LogFormat != want.LogFormat || cfg.Secret != nil {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

// TestConfigRefreshGrace: refresh_token_grace defaults to 30s, 0 (strict reuse detection)
// survives the defaults a Config built in code gets, and a grace that is negative or longer
// than 5m is refused.
func TestConfigRefreshGrace(t *testing.T) {
	for _, c := range []struct {
		env   map[string]string
		flags []string
		want  time.Duration
	}{
		{nil, nil, 30 * time.Second},
		{map[string]string{"FACET_REFRESH_TOKEN_GRACE": "0"}, nil, 0},
		{map[string]string{"FACET_REFRESH_TOKEN_GRACE": "0"}, []string{"--refresh-token-grace", "10s"}, 10 * time.Second},
	} {
		cfg, err := Load("", envOf(c.env), serveFlags(t, c.flags...))
		if err != nil {
			t.Fatalf("env %v flags %v: %v", c.env, c.flags, err)
		}
		if cfg.RefreshTokenGrace != c.want {
			t.Errorf("env %v flags %v: refresh_token_grace %s, want %s", c.env, c.flags, cfg.RefreshTokenGrace, c.want)
		}
		if got := cfg.WithDefaults().RefreshTokenGrace; got != c.want {
			t.Errorf("env %v flags %v: withDefaults changed refresh_token_grace to %s", c.env, c.flags, got)
		}
	}
	for _, bad := range []string{"-1s", "6m", "soon"} {
		if _, err := Load("", envOf(map[string]string{"FACET_REFRESH_TOKEN_GRACE": bad}), serveFlags(t)); err == nil ||
			!strings.Contains(err.Error(), "refresh_token_grace") {
			t.Errorf("refresh_token_grace %q: error %v, want one naming the key", bad, err)
		}
	}
}

// TestConfigPrecedence: defaults < YAML file < FACET_* environment < flags, key by key.
func TestConfigPrecedence(t *testing.T) {
	yaml := writeFile(t, "facet.yaml", `
issuer: https://yaml.example.com
listen: ":7000"
access_token_lifespan: 10m
id_token_lifespan: 30m
log_level: warn
`)
	env := map[string]string{
		"FACET_LISTEN":                "127.0.0.1:9000",
		"FACET_ACCESS_TOKEN_LIFESPAN": "20m",
		"FACET_LOG_FORMAT":            "json",
	}
	fs := serveFlags(t, "--access-token-lifespan", "30m", "--log-format", "text")
	cfg, err := Load(yaml, envOf(env), fs)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer from YAML over default", cfg.Issuer, "https://yaml.example.com"},
		{"listen from env over YAML", cfg.Listen, "127.0.0.1:9000"},
		{"access_token_lifespan from flag over env and YAML", cfg.AccessTokenLifespan, 30 * time.Minute},
		{"id_token_lifespan from YAML", cfg.IDTokenLifespan, 30 * time.Minute},
		{"log_level from YAML", cfg.LogLevel, "warn"},
		{"log_format from flag over env", cfg.LogFormat, "text"},
		{"code_lifespan default", cfg.CodeLifespan, 5 * time.Minute},
		{"demo off for a non-local issuer", cfg.Demo, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigDemo(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		want  bool
	}{
		{"localhost issuer", nil, nil, true},
		{"loopback IP issuer", map[string]string{"FACET_ISSUER": "http://127.0.0.1:9999"}, nil, true},
		{"public issuer", map[string]string{"FACET_ISSUER": "https://id.example.com"}, nil, false},
		{"flag off", nil, []string{"--demo=false"}, false},
		{"env on for public issuer", map[string]string{"FACET_ISSUER": "https://id.example.com", "FACET_DEMO": "true"}, nil, true},
		{"flag beats env", map[string]string{"FACET_DEMO": "true"}, []string{"--demo=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", envOf(tt.env), serveFlags(t, tt.flags...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Demo != tt.want {
				t.Errorf("demo = %v, want %v", cfg.Demo, tt.want)
			}
		})
	}
}

func TestConfigSecret(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	for name, enc := range map[string]string{
		"hex":        hex.EncodeToString(raw),
		"base64":     base64.StdEncoding.EncodeToString(raw),
		"base64 raw": base64.RawURLEncoding.EncodeToString(raw),
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load("", envOf(map[string]string{"FACET_SECRET": enc}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(cfg.Secret) != string(raw) {
				t.Errorf("secret = %x, want %x", cfg.Secret, raw)
			}
		})
	}
	if _, err := Load("", envOf(map[string]string{"FACET_SECRET": base64.StdEncoding.EncodeToString(raw[:16])}), nil); err == nil || !strings.Contains(err.Error(), "32") {
		t.Errorf("a 16-byte secret: err = %v, want one saying 32 bytes", err)
	}
}

func TestConfigProductionNeedsSecret(t *testing.T) {
	env := map[string]string{"FACET_MODE": "production", "FACET_ISSUER": "https://id.example.com"}
	_, err := Load("", envOf(env), nil)
	if err == nil || !strings.Contains(err.Error(), "FACET_SECRET") {
		t.Fatalf("production without a secret: err = %v, want a message naming FACET_SECRET", err)
	}

	env["FACET_SECRET"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
	if _, err := Load("", envOf(env), nil); err != nil {
		t.Fatalf("production with a secret: %v", err)
	}

	env["FACET_ISSUER"] = "http://id.example.com"
	if _, err := Load("", envOf(env), nil); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("production over http: err = %v, want one about https", err)
	}

}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad duration", map[string]string{"FACET_ACCESS_TOKEN_LIFESPAN": "soon"}, "access_token_lifespan"},
		{"code too long", map[string]string{"FACET_CODE_LIFESPAN": "10m"}, "code_lifespan"},
		{"bad mode", map[string]string{"FACET_MODE": "staging"}, "mode"},
		{"bad issuer", map[string]string{"FACET_ISSUER": "localhost:8080"}, "issuer"},
		{"issuer with query", map[string]string{"FACET_ISSUER": "https://id.example.com/?x=1"}, "issuer"},
		{"bad log level", map[string]string{"FACET_LOG_LEVEL": "loud"}, "log_level"},
		{"bad demo", map[string]string{"FACET_DEMO": "maybe"}, "demo"},
		{"bad trusted proxy", map[string]string{"FACET_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "trusted_proxies"},
		{"bad trusted proxy bits", map[string]string{"FACET_TRUSTED_PROXIES": "10.0.0.0/33"}, "trusted_proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envOf(tt.env), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}

	yaml := writeFile(t, "facet.yaml", "isuer: https://typo.example.com\n")
	if _, err := Load(yaml, envOf(nil), nil); err == nil || !strings.Contains(err.Error(), "isuer") {
		t.Errorf("unknown YAML key: err = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), envOf(nil), nil); err == nil {
		t.Error("a missing config file is not an error")
	}
}

func TestConfigIssuerTrailingSlash(t *testing.T) {
	cfg, err := Load("", envOf(map[string]string{"FACET_ISSUER": "https://id.example.com/"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "https://id.example.com" {
		t.Errorf("issuer = %q", cfg.Issuer)
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table in step with Settings().
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range Settings() {
		row := "| `" + s.Key + "` | `" + s.Env() + "` |"
		if !strings.Contains(readme, row) {
			t.Errorf("README has no configuration row starting %q", row)
		}
		if s.Flag != "" && !strings.Contains(readme, "--"+s.Flag+"`") {
			t.Errorf("README does not mention flag --%s", s.Flag)
		}
		if s.Default != "" && !strings.Contains(readme, "`"+s.Default+"`") {
			t.Errorf("README does not show default %q of %s", s.Default, s.Key)
		}
	}
	if !strings.Contains(readme, "go test -race -timeout 30m ./...") {
		t.Error("README lacks the test command")
	}
}

// TestConfigTrustedProxies: FACET_TRUSTED_PROXIES, the flag and a YAML list all read as
// prefixes; the default trusts no proxy.
func TestConfigTrustedProxies(t *testing.T) {
	cfg, err := Load("", envOf(nil), serveFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Errorf("default trusted proxies: %v, want none", cfg.TrustedProxies)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("192.0.2.7/32")}
	cfg, err = Load("", envOf(map[string]string{"FACET_TRUSTED_PROXIES": " 10.1.2.3/8, fd00::/8 ,192.0.2.7,"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("from the environment: %v, want %v", cfg.TrustedProxies, want)
	}
	cfg, err = Load("", envOf(nil), serveFlags(t, "--trusted-proxies", "10.0.0.0/8,fd00::/8,192.0.2.7"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("from the flag: %v, want %v", cfg.TrustedProxies, want)
	}
	yaml := writeFile(t, "facet.yaml", "trusted_proxies:\n  - 10.0.0.0/8\n  - fd00::/8\n  - 192.0.2.7\n")
	cfg, err = Load(yaml, envOf(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("from YAML: %v, want %v", cfg.TrustedProxies, want)
	}
}

func TestParseMemoryLimit(t *testing.T) {
	for raw, want := range map[string]int64{"auto": MemoryLimitAuto, "AUTO": MemoryLimitAuto, "off": 0, "256MiB": 256 << 20, "1GiB": 1 << 30} {
		if got, err := parseMemoryLimit(raw); err != nil || got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d", raw, got, err, want)
		}
	}
	for _, raw := range []string{"lots", "-5MiB", "1MiB", "0"} {
		if got, err := parseMemoryLimit(raw); err == nil {
			t.Errorf("parseMemoryLimit(%q) = %d, want an error", raw, got)
		}
	}
	if _, err := Load("", envOf(map[string]string{"FACET_MEMORY_LIMIT": "huge"}), serveFlags(t)); err == nil {
		t.Error("FACET_MEMORY_LIMIT=huge was accepted")
	}
}
