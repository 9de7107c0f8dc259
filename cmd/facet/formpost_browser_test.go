package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage/sqltest"
)

// TestBrowserFormPost: a response_mode=form_post authorization in Chromium, under Facet's
// Content-Security-Policy. With JavaScript the page posts itself to the app (no script
// error, no CSP violation); without JavaScript it shows a Continue button that does. The
// app receives code, state and iss in the POST body. Screenshots at 1280 and 390 px.
func TestBrowserFormPost(t *testing.T) {
	profiletest.RequireChromium(t)
	be := sqltest.Backend{Name: "sqlite"}
	f := startFacet(t, be.NewURL(t), nil)

	var mu sync.Mutex
	var posts []url.Values
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			v, _ := url.ParseQuery(string(body))
			mu.Lock()
			posts = append(posts, v)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><title>App</title><p id=done>App received the response</p>")
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("the app received: %v", posts)
			mu.Unlock()
		}
	})
	cb := app.URL + "/cb"
	c, _, err := registration.Create(t.Context(), f.app.store, registration.Spec{Name: "Form Post App",
		RedirectURIs: []string{cb}, PKCE: "optional"})
	if err != nil {
		t.Fatal(err)
	}
	authURL := func(state string) string {
		return f.issuer + oauth.PathAuth + "?" + url.Values{"response_type": {"code"}, "client_id": {c.ID},
			"redirect_uri": {cb}, "scope": {"openid"}, "state": {state}, "response_mode": {"form_post"}}.Encode()
	}
	last := func(state string) url.Values {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(posts) == 0 {
			t.Fatal("the app received no POST")
		}
		v := posts[len(posts)-1]
		if v.Get("state") != state || v.Get("code") == "" || v.Get("iss") != f.issuer {
			t.Fatalf("the app received %v", v)
		}
		return v
	}

	ch := profiletest.StartChrome(t, f.issuer, 1280, 90*time.Second)
	b := &browserTab{Chrome: ch, t: t, ctx: ch.Context()}
	b.Load("authorize", chromedp.Navigate(authURL("state-with-js")))
	b.Load("register link", chromedp.Click(chromedp.CSS(`a[href^="/register"]`), chromedp.NodeVisible))
	b.Fill("#name", "Form Post")
	b.Fill("#email", "formpost@example.com")
	b.Fill("#password", "lantern-orbit-47")
	b.Fill("#confirm", "lantern-orbit-47")
	b.Load("register", chromedp.Click(chromedp.CSS(`form[action^="/register"] button[type=submit]`), chromedp.NodeVisible))
	b.Load("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`), chromedp.NodeVisible))
	b.Step("the app page", chromedp.WaitVisible(`#done`))
	last("state-with-js")
	for _, s := range b.Odd() {
		t.Errorf("the browser saw: %s", s)
	}

	// Without JavaScript: the page waits with its Continue button.
	b.Step("disable JavaScript", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	})
	b.Load("authorize without JavaScript", chromedp.Navigate(authURL("state-no-js")))
	b.WantText("main", "Returning you to the app")
	if loc := b.Location(); !strings.HasPrefix(loc, f.issuer+oauth.PathAuth) {
		t.Fatalf("without JavaScript the page left by itself: %s", loc)
	}
	b.shots("formpost")
	b.Load("continue", chromedp.Click(chromedp.CSS(`form[data-autosubmit] button[type=submit]`), chromedp.NodeVisible))
	b.Step("the app page", chromedp.WaitVisible(`#done`))
	last("state-no-js")
	for _, s := range b.Odd() {
		t.Errorf("the browser saw: %s", s)
	}
}
