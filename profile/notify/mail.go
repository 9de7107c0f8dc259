package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLS modes of MailConfig.
const (
	TLSNone     = "none"     // plain SMTP (a relay on localhost or a private network only)
	TLSStartTLS = "starttls" // STARTTLS required (port 587 usually)
	TLSImplicit = "tls"      // TLS from the first byte (port 465 usually)
)

// MailConfig is the SMTP server Mailer sends through.
type MailConfig struct {
	Host string
	// Port defaults to 25 (none), 587 (starttls) or 465 (tls).
	Port int
	// TLS is TLSNone, TLSStartTLS (the default) or TLSImplicit.
	TLS string
	// Username and Password authenticate when Username is set (the best mechanism the
	// server offers; over TLSNone, PLAIN without encryption, so only on a trusted network).
	Username, Password string
	// From is the sender address, e.g. "Facet <no-reply@example.com>".
	From string
	// Timeout bounds connecting and each SMTP exchange (default 15 s).
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests pass their own roots); nil verifies Host
	// with the system roots.
	TLSConfig *tls.Config
}

// Mailer sends plain-text email over SMTP with wneessen/go-mail. It opens one connection per
// message: verification mail is rare, and a held connection would time out anyway.
type Mailer struct {
	cfg MailConfig
}

// NewMailer checks cfg and returns a Mailer.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("notify: the SMTP host is required")
	}
	if cfg.From == "" {
		return nil, errors.New("notify: the sender address (from) is required")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("notify: unknown SMTP TLS mode %q (want none, starttls or tls)", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSNone: mail.DefaultPort, TLSStartTLS: mail.DefaultPortTLS, TLSImplicit: mail.DefaultPortSSL}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: SMTP port %d out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = mail.DefaultTimeout
	}
	// Check the sender address once, at start, rather than on the first code mail.
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("notify: sender address %q: %w", cfg.From, err)
	}
	return &Mailer{cfg: cfg}, nil
}

// Send delivers m. The error names the step that failed, never the message text.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if strings.ContainsAny(msg.To, "\r\n") || strings.ContainsAny(msg.Subject, "\r\n") {
		return errors.New("send mail: line break in a header")
	}
	em := mail.NewMsg()
	if err := em.From(m.cfg.From); err != nil {
		return fmt.Errorf("send mail: from: %w", err)
	}
	if err := em.To(msg.To); err != nil {
		return fmt.Errorf("send mail: recipient: %w", err)
	}
	em.Subject(msg.Subject)
	em.SetDate()
	em.SetMessageID()
	em.SetBodyString(mail.TypeTextPlain, msg.Text)

	opts := []mail.Option{mail.WithPort(m.cfg.Port), mail.WithTimeout(m.cfg.Timeout)}
	tlsConfig := m.cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	switch m.cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tlsConfig))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tlsConfig))
	}
	if m.cfg.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if m.cfg.TLS == TLSNone {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	c, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("send mail: client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, em); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}
