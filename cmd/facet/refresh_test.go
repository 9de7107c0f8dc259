package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage/sqltest"
)

// The reuse grace of rotated refresh tokens (refresh_token_grace), black-box through the
// token, userinfo, introspection and revocation endpoints.

const testGrace = 30 * time.Second

func withGrace(d time.Duration) func(*config.Config) {
	return func(c *config.Config) { c.RefreshTokenGrace = d }
}

// refresh redeems token at r's token endpoint.
func refresh(r *rp, token string) (*oauth2.Token, error) {
	return r.conf.TokenSource(r.ctx(), &oauth2.Token{RefreshToken: token}).Token()
}

// liveRefreshTokens counts the active refresh tokens stored: every test here has one grant,
// so this is its family's.
func liveRefreshTokens(t testing.TB, f *facet) int {
	t.Helper()
	return f.countTokensWhere(t, "kind = 'refresh_token' AND active")
}

func wantUserinfo(t testing.TB, r *rp, tok *oauth2.Token, what string) {
	t.Helper()
	if _, err := r.provider.UserInfo(r.ctx(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo with the access token of %s: %v", what, err)
	}
}

// TestRefreshGraceRetry: a client whose refresh answer was lost retries with the same refresh
// token within the grace and gets a working pair; the family lives on with one live refresh
// token, and the successor nobody received is revoked with its access token.
func TestRefreshGraceRetry(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newClock()
			s := signUpAndExchangeOn(t, be, c, "grace@example.com", "", withGrace(testGrace))
			r, first := s.r, s.tok

			lost, err := refresh(r, first.RefreshToken) // committed; the client never sees it
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			c.advance(testGrace - 5*time.Second)
			retried, err := refresh(r, first.RefreshToken)
			if err != nil {
				t.Fatalf("retry with the rotated refresh token within the grace: %v", err)
			}
			if retried.RefreshToken == "" || retried.RefreshToken == lost.RefreshToken || retried.RefreshToken == first.RefreshToken {
				t.Fatalf("retry did not issue a new refresh token")
			}
			wantUserinfo(t, r, retried, "the retry")
			if active(t, r, lost.AccessToken) || active(t, r, lost.RefreshToken) {
				t.Errorf("the lost successor's tokens are still active beside the retry's")
			}
			// Only the token endpoint's refresh grant knows the grace: to introspection a
			// rotated token is inactive.
			if active(t, r, first.RefreshToken) {
				t.Errorf("the rotated refresh token introspects as active")
			}
			if n := liveRefreshTokens(t, s.f); n != 1 {
				t.Errorf("%d live refresh tokens after the retry, want 1", n)
			}

			// The family goes on from the retry's token.
			next, err := refresh(r, retried.RefreshToken)
			if err != nil {
				t.Fatalf("refresh with the retry's token: %v", err)
			}
			wantUserinfo(t, r, next, "the next refresh")
			if n := liveRefreshTokens(t, s.f); n != 1 {
				t.Errorf("%d live refresh tokens, want 1", n)
			}
		})
	}
}

// TestRefreshReuseOutsideGrace: past the grace, or with refresh_token_grace 0, presenting a
// rotated refresh token is reuse and revokes the whole family (RFC 9700 §4.14.2), as is a
// retry within the grace once the family was revoked.
func TestRefreshReuseOutsideGrace(t *testing.T) {
	cases := []struct {
		name   string
		grace  time.Duration
		wait   time.Duration
		revoke bool // revoke the successor (RFC 7009) before the replay
	}{
		{"after the grace", testGrace, testGrace + time.Second, false},
		{"grace 0", 0, 0, false},
		{"revoked family within the grace", testGrace, time.Second, true},
	}
	for _, be := range sqltest.Backends(t) {
		for _, tc := range cases {
			t.Run(be.Name+"/"+tc.name, func(t *testing.T) {
				c := newClock()
				s := signUpAndExchangeOn(t, be, c, "reuse@example.com", "", withGrace(tc.grace))
				r, first := s.r, s.tok
				second, err := refresh(r, first.RefreshToken)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if tc.revoke {
					revoke(t, r, second.RefreshToken)
				}
				c.advance(tc.wait)
				_, err = refresh(r, first.RefreshToken)
				if code := oauthError(t, err); code != "invalid_grant" {
					t.Fatalf("replayed refresh token: %q, want invalid_grant", code)
				}
				_, err = refresh(r, second.RefreshToken)
				if code := oauthError(t, err); code != "invalid_grant" {
					t.Fatalf("refresh token of a replayed family: %q, want invalid_grant", code)
				}
				if active(t, r, second.AccessToken) {
					t.Errorf("access token of a replayed family still active")
				}
				if n := liveRefreshTokens(t, s.f); n != 0 {
					t.Errorf("%d live refresh tokens after the replay, want 0", n)
				}
			})
		}
	}
}

// raceRefresh has n goroutines redeem token at once and returns their tokens and the error
// codes of the others; a 5xx, a transport error, an error other than invalid_grant, or a
// description telling the client to retry with a spent token fails the test.
func raceRefresh(t *testing.T, r *rp, token string, n int) []*oauth2.Token {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []*oauth2.Token
		bad  []string
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			tok, err := refresh(r, token)
			mu.Lock()
			defer mu.Unlock()
			var re *oauth2.RetrieveError
			switch {
			case err == nil:
				wins = append(wins, tok)
			case !errors.As(err, &re) || re.Response.StatusCode >= 500:
				bad = append(bad, "5xx or transport: "+err.Error())
			case re.ErrorCode != "invalid_grant" || strings.Contains(strings.ToLower(re.ErrorDescription), "retry"):
				bad = append(bad, re.ErrorCode+": "+re.ErrorDescription)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("concurrent refreshes answered %q; a loser must get invalid_grant, never a 5xx or a request to retry", bad)
	}
	return wins
}

// TestRefreshRace: 16 goroutines redeem one refresh token. Without a grace exactly one wins;
// the others get invalid_grant (the token is spent: asking them to retry would have them
// present a rotated token), none a 5xx.
func TestRefreshRace(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "race@example.com", "")
			if wins := raceRefresh(t, s.r, s.tok.RefreshToken, 16); len(wins) != 1 {
				t.Fatalf("%d refreshes succeeded, want exactly 1", len(wins))
			}
		})
	}
}

// TestRefreshRaceGrace: with a grace, requests that read the token after a concurrent one
// rotated it are retries within the grace and may succeed one after another, but the family
// never forks: afterwards exactly one refresh token handed out is live, only its access token
// is active, and it refreshes. None gets a 5xx; the losers get invalid_grant.
func TestRefreshRaceGrace(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchangeOn(t, be, newClock(), "race-grace@example.com", "", withGrace(testGrace))
			r := s.r
			wins := raceRefresh(t, r, s.tok.RefreshToken, 16)
			if len(wins) == 0 {
				t.Fatal("no concurrent refresh succeeded")
			}
			if n := liveRefreshTokens(t, s.f); n != 1 {
				t.Fatalf("%d live refresh tokens after %d successful concurrent refreshes, want 1", n, len(wins))
			}
			var live *oauth2.Token
			liveRT, liveAT := 0, 0
			for _, tok := range wins {
				if active(t, r, tok.RefreshToken) {
					liveRT++
					live = tok
				}
				if active(t, r, tok.AccessToken) {
					liveAT++
				}
			}
			if liveRT != 1 || liveAT != 1 {
				t.Fatalf("of %d refreshes that succeeded, %d refresh and %d access tokens are live, want 1 and 1", len(wins), liveRT, liveAT)
			}
			wantUserinfo(t, r, live, "the live pair")
			if _, err := refresh(r, live.RefreshToken); err != nil {
				t.Fatalf("refresh with the live token: %v", err)
			}
		})
	}
}
