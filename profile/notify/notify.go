// Package notify delivers Facet's messages to people: email over SMTP (Mailer), and text
// messages or voice calls through a Sender (LogSender for development, WebhookSender for any
// gateway that accepts a signed JSON POST, TwilioSender for Twilio's REST API). LogMailer
// stands in for SMTP in development and keeps recent messages for the /dev/mail page.
//
// It owns transport only: what a message says, and when it is sent, is profile's business.
// Message texts may hold one-time codes, so nothing here logs a message body except the
// development senders, whose whole purpose is to show it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facetid/facet/storage"
)

// Message is one plain-text email.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Channel is how a text reaches a phone.
type Channel string

// Channels a Sender may support.
const (
	SMS  Channel = "sms"
	Call Channel = "call"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == SMS || c == Call }

// Sender delivers a short text to a phone number (E.164) by SMS or by a voice call that reads
// it out. Supports says which channels the configured gateway offers.
type Sender interface {
	Send(ctx context.Context, to, text string, channel Channel) error
	Supports(channel Channel) bool
}

// ErrUnsupportedChannel is returned by a Sender asked for a channel it does not offer.
var ErrUnsupportedChannel = errors.New("notify: channel not supported")

// DevOutbox is where the development senders keep their messages (storage.Storage
// implements it), so /dev/mail shows them on every node.
type DevOutbox interface {
	AddDevMail(ctx context.Context, m storage.DevMail, keep int) error
}

// DefaultDevKeep is how many development messages are kept.
const DefaultDevKeep = 50

// LogMailer is the development mailer: it writes each message to the log and keeps the
// newest Keep messages in the database for /dev/mail. Never use it in production: messages
// carry one-time codes.
type LogMailer struct {
	Outbox DevOutbox
	Logger *slog.Logger
	Keep   int
	Now    func() time.Time
}

// NewLogMailer returns a LogMailer keeping DefaultDevKeep messages in outbox.
func NewLogMailer(outbox DevOutbox, logger *slog.Logger) *LogMailer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LogMailer{Outbox: outbox, Logger: logger, Keep: DefaultDevKeep, Now: time.Now}
}

// Send logs m and stores it in the outbox.
func (l *LogMailer) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "development mail (not sent)", "to", m.To, "subject", m.Subject, "text", m.Text)
	return keep(ctx, l.Outbox, l.Keep, l.Now, storage.DevMail{Channel: "email", To: m.To, Subject: m.Subject, Body: m.Text})
}

// LogSender is the development SMS/voice sender: it writes each text to the log and keeps it
// in the outbox next to LogMailer's messages. It supports both channels.
type LogSender struct {
	Outbox DevOutbox
	Logger *slog.Logger
	Keep   int
	Now    func() time.Time
}

// NewLogSender returns a LogSender keeping DefaultDevKeep messages in outbox.
func NewLogSender(outbox DevOutbox, logger *slog.Logger) *LogSender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LogSender{Outbox: outbox, Logger: logger, Keep: DefaultDevKeep, Now: time.Now}
}

// Send logs the text and stores it in the outbox.
func (l *LogSender) Send(ctx context.Context, to, text string, channel Channel) error {
	if !channel.Valid() {
		return fmt.Errorf("log sender %q: %w", channel, ErrUnsupportedChannel)
	}
	l.Logger.InfoContext(ctx, "development "+string(channel)+" (not sent)", "to", to, "text", text)
	return keep(ctx, l.Outbox, l.Keep, l.Now, storage.DevMail{Channel: string(channel), To: to, Body: text})
}

// Supports reports true for SMS and Call.
func (l *LogSender) Supports(channel Channel) bool { return channel.Valid() }

func keep(ctx context.Context, outbox DevOutbox, n int, now func() time.Time, m storage.DevMail) error {
	if outbox == nil {
		return nil
	}
	if n <= 0 {
		n = DefaultDevKeep
	}
	if now == nil {
		now = time.Now
	}
	m.CreatedAt = now().UTC()
	if err := outbox.AddDevMail(ctx, m, n); err != nil {
		return fmt.Errorf("keep development message: %w", err)
	}
	return nil
}
