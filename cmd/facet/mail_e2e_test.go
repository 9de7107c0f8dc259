package main

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/storage/storagetest"
)

// smtpBox is a real SMTP server in process (emersion/go-smtp) keeping every message.
type smtpBox struct {
	host string
	port int
	mu   sync.Mutex
	msgs []smtpMsg
}

type smtpMsg struct {
	From, To, Subject, Text string
}

type smtpSession struct {
	box   *smtpBox
	from  string
	rcpts []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *smtpSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
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
		s.box.msgs = append(s.box.msgs, smtpMsg{From: msg.Header.Get("From"), To: to, Subject: subject, Text: string(text)})
	}
	return nil
}

func startSMTPBox(t testing.TB) *smtpBox {
	t.Helper()
	box := &smtpBox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: box}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	box.host, box.port = addr.IP.String(), addr.Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box
}

func (b *smtpBox) to(addr string) []smtpMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []smtpMsg
	for _, m := range b.msgs {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

var smtpCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// TestVerificationMailOverSMTP: with smtp_host configured, POST /api/account/email by a
// signed-in person sends the verification code through the wired Mailer to a real SMTP
// server, and the code from that mail verifies the address.
func TestVerificationMailOverSMTP(t *testing.T) {
	box := startSMTPBox(t)
	be := storagetest.Backends(t)[0]
	f := startFacet(t, be.NewURL(t), nil, func(cfg *Config) {
		cfg.SMTPHost = box.host
		cfg.SMTPPort = box.port
		cfg.SMTPTLS = notify.TLSNone
		cfg.MailFrom = "Facet Test <facet@example.com>"
	})
	if _, isLog := f.app.prof.Mail.(*notify.LogMailer); isLog || f.app.prof.Mail == nil {
		t.Fatalf("mailer = %T, want the SMTP mailer", f.app.prof.Mail)
	}
	r := newRP(t, f)
	b := newAgent(t, f.issuer)
	signUp(t, b, r, r.start(), "mail-old@example.com", "correct horse battery", "Ada Lovelace")

	post := func(path, body string) page {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", b.base)
		return b.do(req)
	}
	p := post("/api/account/email", `{"email":"mail-new@example.com"}`)
	if p.status != http.StatusAccepted {
		t.Fatalf("POST /api/account/email: %d\n%s", p.status, p.body)
	}
	msgs := box.to("mail-new@example.com")
	if len(msgs) != 1 {
		t.Fatalf("want one mail to the new address, got %d", len(msgs))
	}
	m := msgs[0]
	if !strings.Contains(m.From, "facet@example.com") {
		t.Errorf("From = %q, want mail_from", m.From)
	}
	code := smtpCodeRE.FindStringSubmatch(m.Text)
	if code == nil {
		t.Fatalf("no 6-digit code in the mail:\n%s", m.Text)
	}
	if strings.Contains(strconv.Quote(p.body), code[1]) {
		t.Error("the API answer carries the code")
	}

	p = post("/api/account/email/verify", `{"code":"`+code[1]+`"}`)
	if p.status != http.StatusOK || !strings.Contains(p.body, `"verified":true`) {
		t.Fatalf("verify: %d\n%s", p.status, p.body)
	}
	u, err := f.app.store.GetUserByEmail(t.Context(), "mail-new@example.com")
	if err != nil || !u.EmailVerified {
		t.Errorf("after verification: user %+v, err %v", u, err)
	}
}
