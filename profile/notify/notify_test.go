package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/facetid/facet/storage"
)

// smtpServer is a real SMTP server in process that keeps what it receives.
type smtpServer struct {
	mu       sync.Mutex
	msgs     []received
	user     string
	password string
	addr     string
}

type received struct {
	From string
	To   []string
	Data []byte
}

type smtpSession struct {
	srv  *smtpServer
	cur  received
	auth bool
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.password {
			return smtp.ErrAuthFailed
		}
		s.auth = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	s.srv.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.cur = received{} }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, user, password string) *smtpServer {
	t.Helper()
	srv := &smtpServer{user: user, password: password}
	be := smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: srv}, nil })
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(s.addr)
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestMailerSendsOverSMTP(t *testing.T) {
	for _, auth := range []bool{false, true} {
		user, pass := "", ""
		if auth {
			user, pass = "facet", "s3cret"
		}
		srv := startSMTP(t, user, pass)
		m, err := NewMailer(MailConfig{Host: "127.0.0.1", Port: srv.port(t), TLS: TLSNone, From: "Facet <no-reply@facet.test>", Username: user, Password: pass})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Send(t.Context(), Message{To: "alex@example.com", Subject: "Your code: 123456", Text: "Code 123456\nLink https://facet.test/x"})
		if err != nil {
			t.Fatalf("auth=%v: %v", auth, err)
		}
		if len(srv.msgs) != 1 {
			t.Fatalf("received %d messages", len(srv.msgs))
		}
		got := srv.msgs[0]
		if got.From != "no-reply@facet.test" || len(got.To) != 1 || got.To[0] != "alex@example.com" {
			t.Errorf("envelope %+v", got)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(msg.Body)
		if msg.Header.Get("Subject") != "Your code: 123456" || !strings.Contains(string(body), "Code 123456") || msg.Header.Get("Message-Id") == "" {
			t.Errorf("message headers %v body %q", msg.Header, body)
		}
	}
	// A wrong password is an error, not a silent drop.
	srv := startSMTP(t, "facet", "right")
	m, _ := NewMailer(MailConfig{Host: "127.0.0.1", Port: srv.port(t), TLS: TLSNone, From: "no-reply@facet.test", Username: "facet", Password: "wrong"})
	if err := m.Send(t.Context(), Message{To: "a@example.com", Subject: "s", Text: "t"}); err == nil {
		t.Error("wrong SMTP password: no error")
	}
}

func TestMailerConfig(t *testing.T) {
	for _, cfg := range []MailConfig{
		{From: "a@b.example"},
		{Host: "smtp.example"},
		{Host: "smtp.example", From: "a@b.example", TLS: "ssl"},
		{Host: "smtp.example", From: "not an address"},
		{Host: "smtp.example", From: "a@b.example", Port: 70000},
	} {
		if _, err := NewMailer(cfg); err == nil {
			t.Errorf("NewMailer(%+v) accepted", cfg)
		}
	}
	m, err := NewMailer(MailConfig{Host: "smtp.example", From: "a@b.example", TLS: TLSImplicit})
	if err != nil || m.cfg.Port != 465 {
		t.Errorf("implicit TLS default port: %v %+v", err, m)
	}
	m, err = NewMailer(MailConfig{Host: "smtp.example", From: "a@b.example"})
	if err != nil || m.cfg.Port != 587 || m.cfg.TLS != TLSStartTLS {
		t.Errorf("default: %v %+v", err, m)
	}
	if err := m.Send(t.Context(), Message{To: "a@example.com\r\nBcc: x@evil.example", Subject: "s"}); err == nil {
		t.Error("header injection accepted")
	}
}

type outbox struct {
	mu   sync.Mutex
	msgs []storage.DevMail
	keep int
}

func (o *outbox) AddDevMail(_ context.Context, m storage.DevMail, keep int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs, o.keep = append(o.msgs, m), keep
	return nil
}

func TestLogSenders(t *testing.T) {
	var o outbox
	var logs bytes.Buffer
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	lm := NewLogMailer(&o, slogTo(&logs))
	lm.Now = func() time.Time { return now }
	if err := lm.Send(t.Context(), Message{To: "a@example.com", Subject: "Code", Text: "123456"}); err != nil {
		t.Fatal(err)
	}
	ls := NewLogSender(&o, slogTo(&logs))
	if !ls.Supports(SMS) || !ls.Supports(Call) || ls.Supports("fax") {
		t.Error("log sender channels")
	}
	if err := ls.Send(t.Context(), "+15551234567", "654321", Call); err != nil {
		t.Fatal(err)
	}
	if err := ls.Send(t.Context(), "+15551234567", "x", "fax"); !errors.Is(err, ErrUnsupportedChannel) {
		t.Errorf("fax: %v", err)
	}
	if len(o.msgs) != 2 || o.msgs[0].Channel != "email" || o.msgs[0].Body != "123456" || !o.msgs[0].CreatedAt.Equal(now) ||
		o.msgs[1].Channel != "call" || o.msgs[1].To != "+15551234567" || o.keep != DefaultDevKeep {
		t.Errorf("outbox %+v", o.msgs)
	}
	if !strings.Contains(logs.String(), "123456") || !strings.Contains(logs.String(), "654321") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestWebhookSignedAndRetried(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), 32)
	var calls atomic.Int32
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !VerifyWebhook(secret, r.Header.Get(WebhookTimestampHeader), r.Header.Get(WebhookSignatureHeader), body, time.Now(), time.Minute) {
			t.Errorf("bad signature %q", r.Header.Get(WebhookSignatureHeader))
		}
		// Tampering with the body or the timestamp breaks the signature.
		if VerifyWebhook(secret, r.Header.Get(WebhookTimestampHeader), r.Header.Get(WebhookSignatureHeader), append(body, ' '), time.Now(), time.Minute) ||
			VerifyWebhook(secret, "1", r.Header.Get(WebhookSignatureHeader), body, time.Unix(1, 0), time.Minute) {
			t.Error("tampered delivery verified")
		}
		var b webhookBody
		if err := json.Unmarshal(body, &b); err != nil || b.To != "+15551234567" || b.Channel != SMS || b.Text != "code 123456" || b.ID == "" {
			t.Errorf("body %s", body)
		}
		mu.Lock()
		ids = append(ids, b.ID)
		mu.Unlock()
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ws, err := NewWebhookSender(WebhookConfig{URL: srv.URL, Secret: secret, Backoff: time.Millisecond, Attempts: 3, Channels: []Channel{SMS}})
	if err != nil {
		t.Fatal(err)
	}
	if ws.Supports(Call) || !ws.Supports(SMS) {
		t.Error("channels")
	}
	if err := ws.Send(t.Context(), "+15551234567", "code 123456", SMS); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || ids[0] != ids[2] {
		t.Errorf("calls %d ids %v", calls.Load(), ids)
	}
	// Bounded: always 5xx → error after Attempts tries; 4xx → no retry.
	for _, status := range []int{http.StatusBadGateway, http.StatusBadRequest} {
		var n atomic.Int32
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(status)
		}))
		ws, _ := NewWebhookSender(WebhookConfig{URL: bad.URL, Secret: secret, Backoff: time.Millisecond, Attempts: 4})
		if err := ws.Send(t.Context(), "+1", "x", Call); err == nil {
			t.Errorf("status %d: no error", status)
		}
		want := int32(4)
		if status < 500 {
			want = 1
		}
		if n.Load() != want {
			t.Errorf("status %d: %d attempts, want %d", status, n.Load(), want)
		}
		bad.Close()
	}
	if err := ws.Send(t.Context(), "+1", "x", Call); !errors.Is(err, ErrUnsupportedChannel) {
		t.Errorf("unsupported channel: %v", err)
	}
	// A timeout is a network error: retried, then reported.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	ws, _ = NewWebhookSender(WebhookConfig{URL: slow.URL, Secret: secret, Backoff: time.Millisecond, Attempts: 2, Timeout: 50 * time.Millisecond})
	start := time.Now()
	if err := ws.Send(t.Context(), "+1", "x", SMS); err == nil {
		t.Error("timeout: no error")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("timeout not bounded")
	}
	if _, err := NewWebhookSender(WebhookConfig{URL: "ftp://x", Secret: secret}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := NewWebhookSender(WebhookConfig{URL: srv.URL, Secret: []byte("short")}); err == nil {
		t.Error("short secret accepted")
	}
}

func TestTwilio(t *testing.T) {
	type call struct {
		path string
		form url.Values
		user string
		pass string
	}
	var got []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		got = append(got, call{r.URL.Path, r.PostForm, user, pass})
		if r.PostForm.Get("To") == "+10000000000" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM123"}`)
	}))
	defer srv.Close()
	tw, err := NewTwilioSender(TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "+15550001111", BaseURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Send(t.Context(), "+15551234567", "Your code is 123456", SMS); err != nil {
		t.Fatal(err)
	}
	if err := tw.Send(t.Context(), "+15551234567", "Code 1 2 3 <&>", Call); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("calls %+v", got)
	}
	sms, voice := got[0], got[1]
	if sms.path != "/2010-04-01/Accounts/AC123/Messages.json" || sms.user != "AC123" || sms.pass != "tok" ||
		sms.form.Get("To") != "+15551234567" || sms.form.Get("From") != "+15550001111" || sms.form.Get("Body") != "Your code is 123456" {
		t.Errorf("sms %+v", sms)
	}
	if voice.path != "/2010-04-01/Accounts/AC123/Calls.json" || voice.user != "AC123" ||
		voice.form.Get("Twiml") != `<Response><Say>Code 1 2 3 &lt;&amp;&gt;</Say><Pause length="1"/><Say>Code 1 2 3 &lt;&amp;&gt;</Say></Response>` {
		t.Errorf("call %+v", voice)
	}
	err = tw.Send(t.Context(), "+10000000000", "x", SMS)
	if err == nil || !strings.Contains(err.Error(), "21211") {
		t.Errorf("twilio error: %v", err)
	}
	if _, err := NewTwilioSender(TwilioConfig{AccountSID: "AC1"}); err == nil {
		t.Error("incomplete config accepted")
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
