package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// op is one measured operation of one worker.
type op func(ctx context.Context) error

// scenario builds the per-worker operations (unmeasured preparation) and says how many HTTP
// requests one operation makes.
type scenario struct {
	httpPerOp int
	setup     func(ctx context.Context, e *env, workers int, o options) ([]op, error)
}

var scenarios = map[string]scenario{
	"discovery":          {1, getScenario(pathDiscovery)},
	"jwks":               {1, getScenario(pathJWKS)},
	"client_credentials": {1, clientCredentials},
	"introspect":         {1, introspect},
	"refresh":            {1, refresh},
	"userinfo":           {1, userinfo},
	"authcode":           {6, authcode},
}

func same(n int, f op) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = f
	}
	return ops
}

func getScenario(path string) func(context.Context, *env, int, options) ([]op, error) {
	return func(_ context.Context, e *env, n int, _ options) ([]op, error) {
		return same(n, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.lb.url(path), nil)
			if err != nil {
				return err
			}
			return expect(e.send(req))
		}), nil
	}
}

func expect(status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("status %d: %.120s", status, body)
	}
	return nil
}

func clientCredentials(_ context.Context, e *env, n int, _ options) ([]op, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	return same(n, func(ctx context.Context) error {
		return expect(e.post(ctx, pathToken, form))
	}), nil
}

// userTokens gives each worker its own tokens from a signed-in user's browser (no password).
func (e *env) userTokens(ctx context.Context, n int, email string) ([]tokens, error) {
	var emails []string
	if email != "" {
		emails = []string{email}
	} else {
		emails = e.users
	}
	browsers := make([]*browser, len(emails))
	defer func() {
		for _, b := range browsers {
			if b != nil {
				b.close()
			}
		}
	}()
	out := make([]tokens, n)
	for i := range out {
		j := i % len(emails)
		if browsers[j] == nil {
			b, t, err := e.login(ctx, emails[j], "")
			if err != nil {
				return nil, fmt.Errorf("log in %s: %w", emails[j], err)
			}
			browsers[j], out[i] = b, t
			continue
		}
		t, err := e.again(ctx, browsers[j])
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

func introspect(ctx context.Context, e *env, n int, _ options) ([]op, error) {
	toks, err := e.userTokens(ctx, n, "")
	if err != nil {
		return nil, err
	}
	ops := make([]op, n)
	for i := range ops {
		form := url.Values{"token": {toks[i].AccessToken}}
		ops[i] = func(ctx context.Context) error {
			status, body, err := e.post(ctx, pathIntrospect, form)
			if err := expect(status, body, err); err != nil {
				return err
			}
			if !jsonHas(body, `"active":true`) {
				return fmt.Errorf("token inactive: %.120s", body)
			}
			return nil
		}
	}
	return ops, nil
}

// refresh: each worker rotates its own refresh token (scopes openid profile email phone
// address offline_access, so every refresh also signs a new ID token).
func refresh(ctx context.Context, e *env, n int, _ options) ([]op, error) {
	toks, err := e.userTokens(ctx, n, "")
	if err != nil {
		return nil, err
	}
	ops := make([]op, n)
	for i := range ops {
		current := toks[i].RefreshToken
		ops[i] = func(ctx context.Context) error {
			t, err := e.tokenRequest(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current}})
			if err != nil {
				return err
			}
			if t.RefreshToken == "" || t.RefreshToken == current {
				return fmt.Errorf("refresh token not rotated")
			}
			current = t.RefreshToken
			return nil
		}
	}
	return ops, nil
}

func userinfo(ctx context.Context, e *env, n int, _ options) ([]op, error) {
	toks, err := e.userTokens(ctx, n, e.uiEmail)
	if err != nil {
		return nil, err
	}
	ops := make([]op, n)
	for i := range ops {
		token := toks[i].AccessToken
		ops[i] = func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.lb.url(pathUserinfo), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			return expect(e.send(req))
		}
	}
	return ops, nil
}

// authcode is the whole browser flow with a fresh browser each time: authorize → login page
// → password → consent page → allow → code → token exchange. With --authcode-user=new the
// person registers instead of logging in. Either way one argon2id computation per operation.
//
// Each worker signs in as a person of its own (registered here, unmeasured): Facet counts
// every login attempt of an account until it succeeds (so parallel guesses cannot outrun the
// per-account limit of 5), and workers sharing a few accounts would have several logins of
// one account waiting for a hash slot at once and meet that limit, which no single person
// signing in does.
func authcode(ctx context.Context, e *env, n int, o options) ([]op, error) {
	if o.authcodeUser == "new" {
		var next atomic.Uint64
		return same(n, func(ctx context.Context) error {
			return e.signUpFlow(ctx, fmt.Sprintf("bench-new-%d-%s@example.com", next.Add(1), randomLabel()))
		}), nil
	}
	emails := make([]string, n)
	errs := make([]error, n)
	label := randomLabel()
	slots := make(chan struct{}, 4) // registrations at once: each is an argon2id hash
	var wg sync.WaitGroup
	for w := range emails {
		emails[w] = fmt.Sprintf("bench-login-%s-%d@example.com", label, w)
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			b, err := e.register(ctx, emails[w], "Bench Login")
			if err != nil {
				errs[w] = fmt.Errorf("register %s: %w", emails[w], err)
				return
			}
			b.close()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ops := make([]op, n)
	for w := range ops {
		ops[w] = func(ctx context.Context) error {
			b, _, err := e.login(ctx, emails[w], "consent")
			if b != nil {
				b.close()
			}
			return err
		}
	}
	return ops, nil
}

// signUpFlow: authorize → registration form → consent → code → token.
func (e *env) signUpFlow(ctx context.Context, email string) error {
	b, err := newBrowser(e.lb, e.issuer, e.ips)
	if err != nil {
		return err
	}
	defer b.close()
	ar := newAuthRequest(e.clientID, "")
	p, err := b.get(ctx, "/register?"+url.Values{"return_to": {ar.url}}.Encode())
	if err != nil {
		return err
	}
	f, err := findForm(p.body, "/register")
	if err != nil {
		return err
	}
	f.values.Set("email", email)
	f.values.Set("password", benchPass)
	f.values.Set("confirm", benchPass)
	f.values.Set("name", "New Person")
	if p, err = b.post(ctx, f.action, f.values); err != nil {
		return err
	}
	_, err = e.finish(ctx, b, ar, p)
	return err
}

// run is one scenario's measurement: n workers loop until the deadline or the request cap.
type runResult struct {
	latencies [][]time.Duration
	errors    atomic.Int64
	mu        sync.Mutex
	samples   []string
	elapsed   time.Duration
}

func (r *runResult) fail(err error) {
	r.errors.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 5 {
		r.samples = append(r.samples, err.Error())
	}
}

func measure(ctx context.Context, ops []op, d time.Duration, maxRequests int) *runResult {
	res := &runResult{latencies: make([][]time.Duration, len(ops))}
	var count atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d+requestTimeout)
	defer cancel()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, f := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			for time.Now().Before(deadline) && count.Add(1) <= int64(maxRequests) && ctx.Err() == nil {
				t0 := time.Now()
				err := f(ctx)
				lat = append(lat, time.Since(t0))
				if err != nil {
					res.fail(err)
				}
			}
			res.latencies[i] = lat
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}
