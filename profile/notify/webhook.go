package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook delivery.
const (
	WebhookSignatureHeader = "X-Facet-Signature"
	WebhookTimestampHeader = "X-Facet-Timestamp"
)

// WebhookConfig is a gateway that receives texts as signed JSON POSTs.
type WebhookConfig struct {
	// URL receives POST {"id", "to", "channel", "text"} (application/json).
	URL string
	// Secret keys the HMAC-SHA256 signature (at least 32 bytes).
	Secret []byte
	// Channels the gateway offers (default both SMS and Call).
	Channels []Channel
	// Timeout bounds each attempt (default 10 s).
	Timeout time.Duration
	// Attempts bounds deliveries of one text (default 3); a network error or a 5xx/429 answer
	// is retried after Backoff, doubled each time (default 500 ms), with jitter.
	Attempts int
	Backoff  time.Duration
	// Client sends the requests (default a client with Timeout, no redirects followed).
	Client *http.Client
}

// WebhookSender posts texts to a gateway. Each delivery carries the headers
//
//	X-Facet-Timestamp: <unix seconds>
//	X-Facet-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// so the receiver checks the body is ours and recent (see VerifyWebhook). A retried text
// keeps its "id", so the gateway can drop duplicates.
type WebhookSender struct {
	cfg WebhookConfig
}

// NewWebhookSender checks cfg and returns a sender.
func NewWebhookSender(cfg WebhookConfig) (*WebhookSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("notify: webhook URL %q is not an http(s) URL", cfg.URL)
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("notify: the webhook secret must be at least 32 bytes")
	}
	if len(cfg.Channels) == 0 {
		cfg.Channels = []Channel{SMS, Call}
	}
	for _, c := range cfg.Channels {
		if !c.Valid() {
			return nil, fmt.Errorf("notify: unknown webhook channel %q", c)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &WebhookSender{cfg: cfg}, nil
}

// Supports reports whether the gateway offers channel.
func (w *WebhookSender) Supports(channel Channel) bool {
	for _, c := range w.cfg.Channels {
		if c == channel {
			return true
		}
	}
	return false
}

// webhookBody is what the gateway receives.
type webhookBody struct {
	ID      string  `json:"id"`
	To      string  `json:"to"`
	Channel Channel `json:"channel"`
	Text    string  `json:"text"`
}

// Send posts the text, retrying transient failures a bounded number of times.
func (w *WebhookSender) Send(ctx context.Context, to, text string, channel Channel) error {
	if !w.Supports(channel) {
		return fmt.Errorf("webhook %q: %w", channel, ErrUnsupportedChannel)
	}
	body, err := json.Marshal(webhookBody{ID: rand.Text(), To: to, Channel: channel, Text: text})
	if err != nil {
		return fmt.Errorf("webhook: encode: %w", err)
	}
	var last error
	for attempt := range w.cfg.Attempts {
		if attempt > 0 {
			// Exponential backoff with up to 50% jitter, so nodes retrying together spread out.
			d := w.cfg.Backoff << (attempt - 1)
			d += time.Duration(mrand.Int64N(int64(d)/2 + 1))
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook: %w (last error: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook: %w", last)
}

// post delivers body once and says whether a failure is worth retrying.
func (w *WebhookSender) post(ctx context.Context, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Facet-Webhook/1")
	req.Header.Set(WebhookTimestampHeader, ts)
	req.Header.Set(WebhookSignatureHeader, SignWebhook(w.cfg.Secret, ts, body))
	res, err := w.cfg.Client.Do(req)
	if err != nil {
		return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), fmt.Errorf("post: %w", err)
	}
	defer res.Body.Close()
	// Drain a little so the connection can be reused; the body itself says nothing we need.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return false, nil
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("gateway answered %s", res.Status)
	default:
		return false, fmt.Errorf("gateway refused with %s", res.Status)
	}
}

// SignWebhook returns the X-Facet-Signature value for body sent at timestamp (unix seconds).
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook is the receiver's check: the signature matches body and timestamp, and the
// timestamp is within maxAge of now (against replays).
func VerifyWebhook(secret []byte, timestamp, signature string, body []byte, now time.Time, maxAge time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return false
	}
	want := SignWebhook(secret, timestamp, body)
	return strings.HasPrefix(signature, "sha256=") && hmac.Equal([]byte(signature), []byte(want))
}
