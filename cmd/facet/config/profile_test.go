package config

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/consent"
)

// TestConfigProfileDefaults: the personal-account keys' defaults, and sms_sender following
// the mode.
func TestConfigProfileDefaults(t *testing.T) {
	cfg, err := Load("", envOf(nil), serveFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mandatory_fields", fmt.Sprint(cfg.MandatoryFields), "[given_name family_name]"},
		{"locked_fields", len(cfg.LockedFields), 0},
		{"default_privacy", len(cfg.DefaultPrivacy), 0},
		{"smtp_host", cfg.SMTPHost, ""},
		{"smtp_port", cfg.SMTPPort, 0},
		{"smtp_tls", cfg.SMTPTLS, "starttls"},
		{"mail_from", cfg.MailFrom, "Facet <no-reply@localhost>"},
		{"sms_sender", cfg.SMSSender, smsLog},
		{"phone_region", cfg.PhoneRegion, "US"},
		{"max_photo_bytes", cfg.MaxPhotoBytes, int64(5 << 20)},
		{"recent_auth", cfg.RecentAuth, 15 * time.Minute},
		{"event_retention", cfg.EventRetention, 365 * 24 * time.Hour},
		{"unverified_account_ttl", cfg.UnverifiedAccountTTL, 7 * 24 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	prod := map[string]string{"FACET_MODE": "production", "FACET_ISSUER": "https://id.example.com", "FACET_SECRET": strings.Repeat("ab", 32)}
	cfg, err = Load("", envOf(prod), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMSSender != smsNone {
		t.Errorf("production sms_sender = %q, want none", cfg.SMSSender)
	}

	// A Config built in code gets the same defaults.
	code := Config{Issuer: "http://127.0.0.1:1", DatabaseURL: "sqlite://x"}.WithDefaults()
	if !slices.Equal(code.MandatoryFields, consent.DefaultMandatory) || code.MaxPhotoBytes != 5<<20 || code.SMSSender != smsLog ||
		code.PhoneRegion != "US" || code.RecentAuth != 15*time.Minute || code.SMTPTLS != "starttls" || code.MailFrom == "" {
		t.Errorf("withDefaults: %+v", code)
	}
	if err := code.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestConfigProfilePrecedence: the new keys layer like the others, and default_privacy and
// mandatory_fields read from YAML as a map and a list.
func TestConfigProfilePrecedence(t *testing.T) {
	yaml := writeFile(t, "facet.yaml", `
mandatory_fields: [given_name, nickname]
default_privacy:
  birthdate: public
  given_name: private
smtp_host: mail.example.com
smtp_port: 2525
max_photo_bytes: 1MiB
phone_region: de
`)
	env := map[string]string{
		"FACET_LOCKED_FIELDS":   "family_name, gender",
		"FACET_MAX_PHOTO_BYTES": "2MiB",
		"FACET_SMTP_PASSWORD":   "hunter2-smtp",
		"FACET_RECENT_AUTH":     "5m",
	}
	fs := serveFlags(t, "--max-photo-bytes", "524288", "--smtp-tls", "tls", "--event-retention", "720h")
	cfg, err := Load(yaml, envOf(env), fs)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mandatory from a YAML list", fmt.Sprint(cfg.MandatoryFields), "[given_name nickname]"},
		{"locked from env", fmt.Sprint(cfg.LockedFields), "[family_name gender]"},
		{"default_privacy from a YAML map", cfg.DefaultPrivacy["birthdate"], consent.LevelPublic},
		{"default_privacy given_name", cfg.DefaultPrivacy["given_name"], consent.LevelPrivate},
		{"smtp_port from YAML", cfg.SMTPPort, 2525},
		{"smtp_tls from flag", cfg.SMTPTLS, "tls"},
		{"smtp_password from env", cfg.SMTPPassword.reveal(), "hunter2-smtp"},
		{"max_photo_bytes from flag over env and YAML", cfg.MaxPhotoBytes, int64(524288)},
		{"phone_region upper-cased", cfg.PhoneRegion, "DE"},
		{"recent_auth from env", cfg.RecentAuth, 5 * time.Minute},
		{"event_retention from flag", cfg.EventRetention, 720 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	// The comma form of default_privacy, from the environment.
	cfg, err = Load("", envOf(map[string]string{"FACET_DEFAULT_PRIVACY": "birthdate=public, website = private"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultPrivacy["birthdate"] != consent.LevelPublic || cfg.DefaultPrivacy["website"] != consent.LevelPrivate {
		t.Errorf("default_privacy = %v", cfg.DefaultPrivacy)
	}
}

// TestConfigProfileInvalid: a bad catalog key or level, mail or SMS setting stops the start
// with a message naming the key.
func TestConfigProfileInvalid(t *testing.T) {
	prod := func(m map[string]string) map[string]string {
		m["FACET_MODE"], m["FACET_ISSUER"], m["FACET_SECRET"] = "production", "https://id.example.com", strings.Repeat("ab", 32)
		return m
	}
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown mandatory field", map[string]string{"FACET_MANDATORY_FIELDS": "given_name,shoe_size"}, []string{"mandatory_fields", "shoe_size"}},
		{"unknown locked field", map[string]string{"FACET_LOCKED_FIELDS": "favourite_colour"}, []string{"locked_fields", "favourite_colour"}},
		{"unknown privacy field", map[string]string{"FACET_DEFAULT_PRIVACY": "shoe_size=public"}, []string{"default_privacy", "shoe_size"}},
		{"unknown privacy level", map[string]string{"FACET_DEFAULT_PRIVACY": "birthdate=friends"}, []string{"default_privacy", "friends"}},
		{"privacy without a level", map[string]string{"FACET_DEFAULT_PRIVACY": "birthdate"}, []string{"default_privacy", "field=level"}},
		{"bad smtp tls", map[string]string{"FACET_SMTP_TLS": "ssl"}, []string{"smtp_tls"}},
		{"bad smtp port", map[string]string{"FACET_SMTP_PORT": "smtp"}, []string{"smtp_port"}},
		{"smtp port out of range", map[string]string{"FACET_SMTP_HOST": "mail.example.com", "FACET_SMTP_PORT": "70000"}, []string{"smtp_port"}},
		{"bad sender address", map[string]string{"FACET_SMTP_HOST": "mail.example.com", "FACET_MAIL_FROM": "not an address"}, []string{"mail_from"}},
		{"smtp password without host", map[string]string{"FACET_SMTP_PASSWORD": "x"}, []string{"smtp_host"}},
		{"unknown sms sender", map[string]string{"FACET_SMS_SENDER": "pigeon"}, []string{"sms_sender"}},
		{"log sender in production", prod(map[string]string{"FACET_SMS_SENDER": "log"}), []string{"sms_sender log", "development only"}},
		{"webhook without url", map[string]string{"FACET_SMS_SENDER": "webhook", "FACET_SMS_WEBHOOK_SECRET": secret}, []string{"sms_webhook_url"}},
		{"webhook short secret", map[string]string{"FACET_SMS_SENDER": "webhook", "FACET_SMS_WEBHOOK_URL": "https://sms.example.com/hook", "FACET_SMS_WEBHOOK_SECRET": "short"}, []string{"sms_webhook_secret", "32 bytes"}},
		{"twilio incomplete", map[string]string{"FACET_SMS_SENDER": "twilio", "FACET_TWILIO_ACCOUNT_SID": "AC1"}, []string{"twilio_auth_token"}},
		{"twilio keys with the log sender", map[string]string{"FACET_TWILIO_FROM": "+15550100"}, []string{"twilio_", "not twilio"}},
		{"webhook keys with twilio", map[string]string{"FACET_SMS_SENDER": "twilio", "FACET_TWILIO_ACCOUNT_SID": "AC1", "FACET_TWILIO_AUTH_TOKEN": "t", "FACET_TWILIO_FROM": "+15550100", "FACET_SMS_WEBHOOK_URL": "https://sms.example.com"}, []string{"sms_webhook_url", "not webhook"}},
		{"bad phone region", map[string]string{"FACET_PHONE_REGION": "XX"}, []string{"phone_region"}},
		{"bad photo size", map[string]string{"FACET_MAX_PHOTO_BYTES": "lots"}, []string{"max_photo_bytes"}},
		{"zero photo size", map[string]string{"FACET_MAX_PHOTO_BYTES": "0"}, []string{"max_photo_bytes"}},
		{"bad recent auth", map[string]string{"FACET_RECENT_AUTH": "soon"}, []string{"recent_auth"}},
		{"negative retention", map[string]string{"FACET_EVENT_RETENTION": "-1h"}, []string{"event_retention"}},
		{"zero unverified account ttl", map[string]string{"FACET_UNVERIFIED_ACCOUNT_TTL": "0s"}, []string{"unverified_account_ttl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envOf(tt.env), nil)
			if err == nil {
				t.Fatalf("accepted; want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to mention %q", err, w)
				}
			}
		})
	}

	// Valid gateway configurations load.
	for name, env := range map[string]map[string]string{
		"webhook": prod(map[string]string{"FACET_SMS_SENDER": "webhook", "FACET_SMS_WEBHOOK_URL": "https://sms.example.com/hook", "FACET_SMS_WEBHOOK_SECRET": secret}),
		"twilio":  prod(map[string]string{"FACET_SMS_SENDER": "twilio", "FACET_TWILIO_ACCOUNT_SID": "AC1", "FACET_TWILIO_AUTH_TOKEN": "t", "FACET_TWILIO_FROM": "+15550100"}),
		"smtp":    prod(map[string]string{"FACET_SMTP_HOST": "mail.example.com", "FACET_SMTP_USERNAME": "facet", "FACET_SMTP_PASSWORD": "pw"}),
	} {
		if _, err := Load("", envOf(env), nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestConfigSecretsRedacted: the SMTP password, webhook secret and Twilio token print as
// [redacted], in fmt and slog alike.
func TestConfigSecretsRedacted(t *testing.T) {
	cfg := Config{SMTPPassword: "pw-smtp-1", SMSWebhookSecret: "pw-webhook-2", TwilioAuthToken: "pw-twilio-3"}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "password", cfg.SMTPPassword)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		for _, secret := range []string{"pw-smtp-1", "pw-webhook-2", "pw-twilio-3"} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret leaked: %s", out)
			}
		}
	}
}

// TestConfigLoginLimits: the login_limits_* keys come from YAML, env and flags, and zero
// ones are left to signin's defaults.
func TestConfigLoginLimits(t *testing.T) {
	yaml := writeFile(t, "facet.yaml", "login_limits_per_ip: 7\nlogin_limits_max_delay: 5m\n")
	env := map[string]string{"FACET_LOGIN_LIMITS_BASE_DELAY": "3s"}
	fs := serveFlags(t, "--login-limits-device-failures", "4")
	cfg, err := Load(yaml, envOf(env), fs)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.LoginLimits.Signin()
	if got.PerIP != 7 || got.MaxDelay != 5*time.Minute || got.BaseDelay != 3*time.Second || got.DeviceFailures != 4 {
		t.Errorf("login limits = %+v", got)
	}
}
