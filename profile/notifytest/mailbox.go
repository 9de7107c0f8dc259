// Package notifytest runs a real SMTP server in process (emersion/go-smtp) for tests that
// need to read the mail Facet sends: verification codes, one-click links, notices. It owns no
// production code.
package notifytest

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is a received message, decoded (quoted-printable body, encoded-word subject; CRLF
// folded to LF).
type Message struct {
	From, To, Subject, Text string
}

// Mailbox is a running SMTP server on loopback keeping every message it receives.
type Mailbox struct {
	Addr string // host:port
	Host string
	Port int

	mu   sync.Mutex
	msgs []Message
}

// StartMailbox starts a Mailbox on a free loopback port, closed at t's cleanup.
func StartMailbox(t testing.TB) *Mailbox {
	t.Helper()
	box := &Mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{box: box}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	box.Addr, box.Host, box.Port = addr.String(), addr.IP.String(), addr.Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box
}

// To returns the messages received for addr, oldest first.
func (m *Mailbox) To(addr string) []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Message
	for _, msg := range m.msgs {
		if msg.To == addr {
			out = append(out, msg)
		}
	}
	return out
}

type session struct {
	box   *Mailbox
	rcpts []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *session) Reset()        { s.rcpts = nil }
func (s *session) Logout() error { return nil }

func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.rcpts {
		s.box.msgs = append(s.box.msgs, Message{From: msg.Header.Get("From"), To: to, Subject: subject,
			Text: strings.ReplaceAll(string(text), "\r\n", "\n")})
	}
	return nil
}
