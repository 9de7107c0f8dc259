package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestConfigYAMLTypes: YAML values keep their types through the decoder: a list of one item
// is that item (not the text "[item]"), numbers are sizes and ports, a bool is a bool.
func TestConfigYAMLTypes(t *testing.T) {
	yaml := writeFile(t, "facet.yaml", `
mandatory_fields: [nickname]
locked_fields: [family_name]
trusted_proxies: [192.0.2.7]
max_photo_bytes: 1048576
smtp_port: 2525
demo: false
`)
	cfg, err := Load(yaml, envOf(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mandatory_fields", fmt.Sprint(cfg.MandatoryFields), "[nickname]"},
		{"locked_fields", fmt.Sprint(cfg.LockedFields), "[family_name]"},
		{"trusted_proxies", slices.Equal(cfg.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}), true},
		{"max_photo_bytes", cfg.MaxPhotoBytes, int64(1 << 20)},
		{"smtp_port", cfg.SMTPPort, 2525},
		{"demo", cfg.Demo, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestConfigDecodeErrorsNameKey: a value that does not decode is reported with its key and
// its environment variable, and every bad value is reported at once.
func TestConfigDecodeErrorsNameKey(t *testing.T) {
	env := map[string]string{
		"FACET_ACCESS_TOKEN_LIFESPAN": "soon",
		"FACET_DEMO":                  "maybe",
		"FACET_ID_TOKEN_ON_REFRESH":   "sometimes",
		"FACET_SMTP_PORT":             "smtp",
		"FACET_MAX_PHOTO_BYTES":       "lots",
		"FACET_TRUSTED_PROXIES":       "10.0.0.0/33",
		"FACET_DEFAULT_PRIVACY":       "birthdate",
	}
	_, err := Load("", envOf(env), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for variable, value := range env {
		key := strings.ToLower(strings.TrimPrefix(variable, "FACET_"))
		want := key + " (" + variable + "): "
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), value) {
			t.Errorf("the error does not name %s with %q:\n%v", want, value, err)
		}
	}
}
