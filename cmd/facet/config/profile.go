package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/notify"
)

// SMS/voice senders (sms_sender).
const (
	smsLog     = "log"
	smsWebhook = "webhook"
	smsTwilio  = "twilio"
	smsNone    = "none"
)

// redacted is what a secret configuration value prints as.
const redacted = "[redacted]"

// SecretString is a configuration value that must never reach a log line or an error: it
// prints as [redacted] through fmt (%v, %+v, %#v, %s) and slog.
type SecretString string

func (SecretString) String() string               { return redacted }
func (SecretString) GoString() string             { return redacted }
func (SecretString) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (SecretString) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// reveal returns the secret itself, for the one place that uses it.
func (s SecretString) reveal() string { return string(s) }

// validateProfile checks the personal-account settings, building what they configure (the
// catalog, the mailer, the SMS sender) so a bad value fails at start with its key named.
func (cfg Config) validateProfile() error {
	var errs []error
	// One key at a time, so the message names the key to fix.
	for _, c := range []struct {
		key string
		cc  consent.CatalogConfig
	}{
		{"mandatory_fields (FACET_MANDATORY_FIELDS)", consent.CatalogConfig{Mandatory: cfg.MandatoryFields}},
		{"locked_fields (FACET_LOCKED_FIELDS)", consent.CatalogConfig{Mandatory: []string{}, Locked: cfg.LockedFields}},
		{"default_privacy (FACET_DEFAULT_PRIVACY)", consent.CatalogConfig{Mandatory: []string{}, DefaultLevels: cfg.DefaultPrivacy}},
	} {
		if _, err := consent.NewCatalog(c.cc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.key, err))
		}
	}
	if !slices.Contains([]string{notify.TLSStartTLS, notify.TLSImplicit, notify.TLSNone}, cfg.SMTPTLS) {
		errs = append(errs, fmt.Errorf("smtp_tls: %q must be starttls, tls or none", cfg.SMTPTLS))
	}
	if cfg.SMTPPort < 0 || cfg.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("smtp_port: %d is out of range", cfg.SMTPPort))
	}
	if cfg.SMTPHost != "" {
		if _, err := notify.NewMailer(cfg.mailConfig()); err != nil {
			errs = append(errs, fmt.Errorf("smtp_host / mail_from: %w", err))
		}
	} else if cfg.SMTPUsername != "" || cfg.SMTPPassword != "" {
		errs = append(errs, errors.New("smtp_username or smtp_password is set but smtp_host is not"))
	}
	if err := cfg.validateSMS(); err != nil {
		errs = append(errs, err)
	}
	if phonenumbers.GetCountryCodeForRegion(cfg.PhoneRegion) == 0 {
		errs = append(errs, fmt.Errorf("phone_region: %q is not a region with phone numbers (an ISO 3166 alpha-2 code like US or DE)", cfg.PhoneRegion))
	}
	if cfg.MaxPhotoBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_photo_bytes must be positive, got %d", cfg.MaxPhotoBytes))
	}
	if cfg.MFA != "optional" && cfg.MFA != "required" {
		errs = append(errs, fmt.Errorf("mfa: %q is neither optional nor required", cfg.MFA))
	}
	if cfg.RecentAuth <= 0 {
		errs = append(errs, fmt.Errorf("recent_auth must be positive, got %s", cfg.RecentAuth))
	}
	if cfg.EventRetention <= 0 {
		errs = append(errs, fmt.Errorf("event_retention must be positive, got %s", cfg.EventRetention))
	}
	if cfg.UnverifiedAccountTTL <= 0 {
		errs = append(errs, fmt.Errorf("unverified_account_ttl must be positive, got %s", cfg.UnverifiedAccountTTL))
	}
	if cfg.DeletionGrace <= 0 {
		errs = append(errs, fmt.Errorf("deletion_grace must be positive, got %s", cfg.DeletionGrace))
	}
	return errors.Join(errs...)
}

// validateSMS checks that sms_sender and the gateway keys agree: the keys of a gateway that
// is not the chosen one are a mistake, not something to ignore.
func (cfg Config) validateSMS() error {
	webhookSet := cfg.SMSWebhookURL != "" || cfg.SMSWebhookSecret != ""
	twilioSet := cfg.TwilioAccountSID != "" || cfg.TwilioAuthToken != "" || cfg.TwilioFrom != ""
	var errs []error
	switch cfg.SMSSender {
	case smsLog:
		if cfg.Mode != ModeDevelopment {
			// The log sender writes one-time codes to the log.
			errs = append(errs, errors.New("sms_sender log is for development only: it writes one-time codes to the log; use webhook or twilio"))
		}
	case smsWebhook:
		if _, err := cfg.PhoneSender(nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("sms_sender webhook (sms_webhook_url, sms_webhook_secret): %w", err))
		}
	case smsTwilio:
		if _, err := cfg.PhoneSender(nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("sms_sender twilio (twilio_account_sid, twilio_auth_token, twilio_from): %w", err))
		}
	case smsNone:
	default:
		errs = append(errs, fmt.Errorf("sms_sender: %q must be log, webhook, twilio or none", cfg.SMSSender))
	}
	if webhookSet && cfg.SMSSender != smsWebhook {
		errs = append(errs, fmt.Errorf("sms_webhook_url or sms_webhook_secret is set but sms_sender is %q, not webhook", cfg.SMSSender))
	}
	if twilioSet && cfg.SMSSender != smsTwilio {
		errs = append(errs, fmt.Errorf("twilio_* keys are set but sms_sender is %q, not twilio", cfg.SMSSender))
	}
	return errors.Join(errs...)
}

// CatalogConfig is the field catalog's configuration; now is its clock.
func (cfg Config) CatalogConfig(now func() time.Time) consent.CatalogConfig {
	return consent.CatalogConfig{
		Mandatory:     cfg.MandatoryFields,
		Locked:        cfg.LockedFields,
		DefaultLevels: cfg.DefaultPrivacy,
		Now:           now,
	}
}

// mailConfig is the SMTP configuration of notify.Mailer.
func (cfg Config) mailConfig() notify.MailConfig {
	return notify.MailConfig{
		Host:     cfg.SMTPHost,
		Port:     cfg.SMTPPort,
		TLS:      cfg.SMTPTLS,
		Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword.reveal(),
		From:     cfg.MailFrom,
	}
}

// Mailer returns the configured mail sender: SMTP when smtp_host is set, the log mailer
// (kept for /dev/mail) in development, and nil otherwise, which profile answers with 503.
func (cfg Config) Mailer(outbox notify.DevOutbox, logger *slog.Logger) (profile.MailSender, error) {
	switch {
	case cfg.SMTPHost != "":
		m, err := notify.NewMailer(cfg.mailConfig())
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		return m, nil
	case cfg.Mode == ModeDevelopment:
		l := notify.NewLogMailer(outbox, logger)
		l.Now = cfg.Now
		return l, nil
	default:
		return nil, nil
	}
}

// PhoneSender returns the configured SMS/voice sender, nil for none.
func (cfg Config) PhoneSender(outbox notify.DevOutbox, logger *slog.Logger) (notify.Sender, error) {
	switch cfg.SMSSender {
	case smsLog:
		l := notify.NewLogSender(outbox, logger)
		if cfg.Now != nil {
			l.Now = cfg.Now
		}
		return l, nil
	case smsWebhook:
		w, err := notify.NewWebhookSender(notify.WebhookConfig{URL: cfg.SMSWebhookURL, Secret: []byte(cfg.SMSWebhookSecret.reveal())})
		if err != nil {
			return nil, err
		}
		return w, nil
	case smsTwilio:
		t, err := notify.NewTwilioSender(notify.TwilioConfig{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken.reveal(), From: cfg.TwilioFrom,
		})
		if err != nil {
			return nil, err
		}
		return t, nil
	default:
		return nil, nil
	}
}

// LogNotify says at start how mail and texts leave this node (never a password or token).
func (cfg Config) LogNotify(logger *slog.Logger) {
	switch {
	case cfg.SMTPHost != "":
		logger.Info("mail via SMTP", "host", cfg.SMTPHost, "port", cfg.mailConfig().Port, "tls", cfg.SMTPTLS,
			"auth", cfg.SMTPUsername != "", "from", cfg.MailFrom)
	case cfg.Mode == ModeDevelopment:
		logger.Info("development mail: messages are written to the log and listed at /dev/mail (set smtp_host to send them)")
	default:
		logger.Warn("no smtp_host is set: email verification is disabled and answers 503 until FACET_SMTP_HOST is configured")
	}
	switch cfg.SMSSender {
	case smsNone:
		logger.Info("no sms_sender: phone verification is disabled (503)")
	case smsLog:
		logger.Info("development texts: SMS and calls are written to the log and listed at /dev/mail")
	default:
		logger.Info("texts via "+cfg.SMSSender, "sms_sender", cfg.SMSSender)
	}
}

// smsSenderOrDefault is sms_sender, or when unset the mode's default: development shows
// texts at /dev/mail, production sends none until a gateway is configured.
func (cfg Config) smsSenderOrDefault() string {
	switch {
	case cfg.SMSSender != "":
		return cfg.SMSSender
	case cfg.Mode == ModeDevelopment:
		return smsLog
	default:
		return smsNone
	}
}

// stringList reads a list key: a comma-separated string, or a YAML list. An empty value
// given on purpose (YAML `locked_fields: ""`) is an empty, non-nil list; an absent key never
// reaches it and stays nil.
func stringList(data any) []string {
	items, ok := data.([]any)
	if !ok {
		return splitList(fmt.Sprint(data))
	}
	out := []string{}
	for _, v := range items {
		if s := strings.TrimSpace(fmt.Sprint(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// splitList splits "a, b,c" into its non-empty, trimmed parts (never nil).
func splitList(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseLevels reads default_privacy: "field=level,field=level", or a YAML map of field to
// level. A level must be private, on_request or public. No pairs is nil.
func parseLevels(data any) (map[string]consent.Level, error) {
	pairs := map[string]string{}
	if m, ok := data.(map[string]any); ok {
		for field, level := range m {
			pairs[field] = fmt.Sprint(level)
		}
	} else {
		for _, part := range splitList(fmt.Sprint(data)) {
			field, level, ok := strings.Cut(part, "=")
			if !ok {
				return nil, fmt.Errorf("%q is not field=level", part)
			}
			pairs[strings.TrimSpace(field)] = strings.TrimSpace(level)
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]consent.Level{}
	for field, raw := range pairs {
		l, ok := consent.ParseLevel(strings.ToLower(raw))
		if !ok {
			return nil, fmt.Errorf("field %q: level %q must be private, on_request or public", field, raw)
		}
		out[field] = l
	}
	return out, nil
}

// parseBytes reads a size: plain bytes ("5242880") or with a binary unit ("512KiB", "5MiB").
func parseBytes(raw string) (int64, error) {
	s := strings.TrimSpace(raw)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size like 5242880, 512KiB or 5MiB", raw)
	}
	return n * mult, nil
}
