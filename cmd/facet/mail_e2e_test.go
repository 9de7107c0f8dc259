package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/notify"
	"github.com/facetid/facet/profile/notifytest"
	"github.com/facetid/facet/storage/sqltest"
)

var smtpCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// TestVerificationMailOverSMTP: with smtp_host configured, POST /api/account/email by a
// signed-in person sends the verification code through the wired Mailer to a real SMTP
// server, and the code from that mail verifies the address.
func TestVerificationMailOverSMTP(t *testing.T) {
	box := notifytest.StartMailbox(t)
	be := sqltest.Backends(t)[0]
	f := startFacet(t, be.NewURL(t), nil, func(cfg *config.Config) {
		cfg.SMTPHost = box.Host
		cfg.SMTPPort = box.Port
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
	msgs := box.To("mail-new@example.com")
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
