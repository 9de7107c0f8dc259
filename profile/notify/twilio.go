package notify

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// TwilioConfig is a Twilio account.
type TwilioConfig struct {
	AccountSID string
	AuthToken  string
	// From is the Twilio number (E.164) texts and calls come from.
	From string
	// BaseURL defaults to DefaultTwilioBaseURL (tests point it at an httptest server).
	BaseURL string
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Client sends the requests (default a client with Timeout).
	Client *http.Client
}

// TwilioSender sends texts with Twilio's Messages API and reads them out with the Calls API
// (TwiML <Say>), over net/http with HTTP basic authentication (account SID, auth token).
type TwilioSender struct {
	cfg TwilioConfig
}

// NewTwilioSender checks cfg and returns a sender.
func NewTwilioSender(cfg TwilioConfig) (*TwilioSender, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("notify: twilio needs account SID, auth token and from number")
	}
	if strings.ContainsAny(cfg.AccountSID, "/?#%") {
		return nil, errors.New("notify: twilio account SID has invalid characters")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultTwilioBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("notify: twilio base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &TwilioSender{cfg: cfg}, nil
}

// Supports reports true for SMS and Call.
func (t *TwilioSender) Supports(channel Channel) bool { return channel.Valid() }

// Send creates a Message (SMS) or a Call whose TwiML says text.
func (t *TwilioSender) Send(ctx context.Context, to, text string, channel Channel) error {
	form := url.Values{"To": {to}, "From": {t.cfg.From}}
	var resource string
	switch channel {
	case SMS:
		resource = "Messages.json"
		form.Set("Body", text)
	case Call:
		resource = "Calls.json"
		twiml, err := sayTwiML(text)
		if err != nil {
			return fmt.Errorf("twilio: %w", err)
		}
		form.Set("Twiml", twiml)
	default:
		return fmt.Errorf("twilio %q: %w", channel, ErrUnsupportedChannel)
	}
	endpoint := t.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.AccountSID) + "/" + resource
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twilio: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	res, err := t.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("twilio %s: %w", channel, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	// Twilio's error body: {"code": 21211, "message": "...", "status": 400}.
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Code != 0 {
		return fmt.Errorf("twilio %s: %s (code %d): %s", channel, res.Status, e.Code, e.Message)
	}
	return fmt.Errorf("twilio %s: %s", channel, res.Status)
}

// sayTwiML wraps text in <Response><Say>, escaped, and says it twice so the listener can
// write the code down.
func sayTwiML(text string) (string, error) {
	var b strings.Builder
	b.WriteString("<Response><Say>")
	if err := xml.EscapeText(&b, []byte(text)); err != nil {
		return "", fmt.Errorf("escape text: %w", err)
	}
	b.WriteString(`</Say><Pause length="1"/><Say>`)
	if err := xml.EscapeText(&b, []byte(text)); err != nil {
		return "", fmt.Errorf("escape text: %w", err)
	}
	b.WriteString("</Say></Response>")
	return b.String(), nil
}
