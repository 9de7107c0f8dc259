package backchannel

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/storage"
)

// Delivery limits.
const (
	// Timeout bounds one delivery attempt, connection to answer.
	Timeout = 5 * time.Second
	// MaxAge is how long a message is retried before it is abandoned (at least a day, so an
	// app down for a night still hears of the logout).
	MaxAge = 25 * time.Hour
	// Retention is how long delivered and abandoned messages stay for inspection.
	Retention = 7 * 24 * time.Hour

	firstRetry = 30 * time.Second
	maxRetry   = 2 * time.Hour
	lease      = 2 * time.Minute // > Timeout × batch / workers, so a live claim never lapses
	batch      = 32
	workers    = 8
	maxAnswer  = 4 << 10
)

// Keys gives the key that signs ID tokens now (keys.Set).
type Keys interface {
	SigningKey(ctx context.Context) (string, *rsa.PrivateKey, error)
}

// Deliverer posts queued logout tokens to the apps (Back-Channel Logout 1.0 §2.5). Any number
// of nodes may run it on one database: a message is claimed by one of them at a time.
type Deliverer struct {
	Store  Store
	Keys   Keys
	Issuer string
	Client *http.Client // nil: NewClient()
	Logger *slog.Logger
	Now    func() time.Time
	// Total counts attempts by result (delivered, retry, abandoned); nil: not counted.
	Total *prometheus.CounterVec
}

// NewClient returns the HTTP client deliveries use: 5 s per attempt, no redirects (a
// redirect is a failed attempt: the token goes only to the registered URI), no cookies.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			TLSHandshakeTimeout:    Timeout,
			ResponseHeaderTimeout:  Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// NewTotal returns the facet_backchannel_logout_total counter, registered on reg.
func NewTotal(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "facet_backchannel_logout_total",
		Help: "Back-channel logout delivery attempts by result: delivered, retry, abandoned.",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register facet_backchannel_logout_total: %w", err)
		}
	}
	return c, nil
}

// Cleanup deletes the delivered and abandoned messages finished more than Retention ago and
// returns how many; one node runs it with the other maintenance.
func (d *Deliverer) Cleanup(ctx context.Context) (int64, error) {
	return d.Store.DeleteFinishedLogouts(ctx, d.Now().Add(-Retention))
}

// RunOnce claims the messages due now and delivers them, a few at a time; it returns how many
// it attempted. A failed attempt is retried with exponential backoff (30 s doubling up to
// 2 h) until MaxAge after the logout, then abandoned.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	now := d.Now()
	msgs, err := d.Store.ClaimLogouts(ctx, now, now.Add(lease), batch)
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	client := d.Client
	if client == nil {
		client = NewClient()
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, workers)
		mu   sync.Mutex
		errs []error
	)
	for _, m := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.deliver(ctx, client, m); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(msgs), errors.Join(errs...)
}

// deliver makes one attempt at m and records its outcome.
func (d *Deliverer) deliver(ctx context.Context, client *http.Client, m storage.LogoutMessage) error {
	log := d.Logger.With("logout_id", m.ID, "client_id", m.ClientID, "request_id", m.RequestID, "attempt", m.Attempts)
	uri, failure, final := d.post(ctx, client, m)
	now := d.Now()
	switch {
	case failure == "":
		d.count("delivered")
		log.InfoContext(ctx, "back-channel logout delivered", "uri", uri)
		return d.Store.FinishLogout(ctx, m.ID, storage.LogoutDelivered, "", now)
	case final || now.Sub(m.CreatedAt) >= MaxAge:
		d.count("abandoned")
		log.WarnContext(ctx, "back-channel logout abandoned", "uri", uri, "reason", failure)
		return d.Store.FinishLogout(ctx, m.ID, storage.LogoutAbandoned, failure, now)
	default:
		next := now.Add(Backoff(m.Attempts))
		d.count("retry")
		log.WarnContext(ctx, "back-channel logout failed; will retry", "uri", uri, "reason", failure, "next_attempt_at", next)
		return d.Store.RetryLogout(ctx, m.ID, next, failure)
	}
}

// Backoff is the wait after the attempts-th failed attempt: 30 s, doubling, at most 2 h.
func Backoff(attempts int) time.Duration {
	wait := firstRetry
	for i := 1; i < attempts && wait < maxRetry; i++ {
		wait *= 2
	}
	return min(wait, maxRetry)
}

// post signs a fresh logout token for m and posts it to the app's registered URI. It returns
// the URI, why the attempt failed ("" on success, a 2xx answer), and whether the failure is
// final (the app is gone or has no URI any more: nothing to retry).
func (d *Deliverer) post(ctx context.Context, client *http.Client, m storage.LogoutMessage) (uri, failure string, final bool) {
	c, err := d.Store.GetClient(ctx, m.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "the app is not registered any more", true
	}
	if err != nil {
		return "", fmt.Sprintf("read the app: %v", err), false
	}
	if c.BackchannelLogoutURI == "" {
		return "", "the app has no back-channel logout URI any more", true
	}
	uri = c.BackchannelLogoutURI
	kid, key, err := d.Keys.SigningKey(ctx)
	if err != nil {
		return uri, fmt.Sprintf("signing key: %v", err), false
	}
	token, jti, err := SignLogoutToken(d.Issuer, m.ClientID, m.Subject, m.SID, d.Now(), kid, key)
	if err != nil {
		return uri, err.Error(), false
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return uri, fmt.Sprintf("request: %v", err), false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil {
		return uri, fmt.Sprintf("post (jti %s): %v", jti, err), false
	}
	defer res.Body.Close()
	// The answer carries nothing Facet uses (§2.8); read a bounded part of it only.
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer)); err != nil && res.StatusCode/100 == 2 {
		d.Logger.DebugContext(ctx, "back-channel logout: reading the answer", "logout_id", m.ID, "err", err)
	}
	if res.StatusCode/100 != 2 {
		return uri, fmt.Sprintf("the app answered %d (jti %s)", res.StatusCode, jti), false
	}
	return uri, "", false
}

func (d *Deliverer) count(result string) {
	if d.Total != nil {
		d.Total.WithLabelValues(result).Inc()
	}
}
