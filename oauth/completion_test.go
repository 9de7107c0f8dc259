package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// fakeCompletion is a Completion a test controls.
type fakeCompletion struct {
	need  bool
	err   error
	asked []string
}

func (f *fakeCompletion) NeedsCompletion(_ context.Context, userID string) (bool, error) {
	f.asked = append(f.asked, userID)
	return f.need, f.err
}

func TestAuthorizeProfileCompletion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		s := newTestServer(t, db)
		fc := &fakeCompletion{need: true}
		s.p.completion = fc

		// Not signed in: login comes first; completion is not asked yet.
		rec := s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil))
		if loc := location(t, rec); loc.Path != "/login" || len(fc.asked) != 0 {
			t.Fatalf("signed out: %s, asked %v", loc, fc.asked)
		}

		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now().Add(-time.Minute), AMR: []string{"pwd"}}
		params := authorizeParams("claims", `{"userinfo":{"email":null}}`)
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+params.Encode(), nil))
		loc := location(t, rec)
		if loc.Path != PathComplete || loc.Host != "" {
			t.Fatalf("incomplete profile: redirected to %s, want %s", loc, PathComplete)
		}
		ret, err := url.Parse(loc.Query().Get("return_to"))
		if err != nil || ret.Path != PathAuth || ret.Host != "" || ret.Scheme != "" {
			t.Fatalf("return_to %q is not the authorization endpoint's path", loc.Query().Get("return_to"))
		}
		for k := range params {
			if ret.Query().Get(k) != params.Get(k) {
				t.Errorf("return_to lost %s: %q, want %q", k, ret.Query().Get(k), params.Get(k))
			}
		}
		if len(fc.asked) != 1 || fc.asked[0] != "u1" {
			t.Fatalf("completion asked for %v", fc.asked)
		}

		// prompt=none cannot show the page: interaction_required to the app, with iss.
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams("prompt", "none").Encode(), nil))
		loc = location(t, rec)
		if loc.Query().Get("error") != "interaction_required" || loc.Query().Get("iss") != testIssuer || loc.Host != "127.0.0.1:5555" {
			t.Fatalf("prompt=none with an incomplete profile: %s", loc)
		}

		// The consent form's POST is checked too (the profile may have changed meanwhile).
		post := authorizeParams()
		post.Set(consentField, "allow")
		if loc = location(t, s.postForm(PathConsent, post)); loc.Path != PathComplete || strings.Contains(loc.Query().Get("return_to"), consentField) {
			t.Fatalf("consent POST with an incomplete profile: %s", loc)
		}

		// Deny (the completion page's Cancel) needs no complete profile: access_denied to the
		// app, with state and iss, through the authorization error path.
		deny := authorizeParams()
		deny.Set(consentField, "deny")
		loc = location(t, s.postForm(PathConsent, deny))
		if loc.Host != "127.0.0.1:5555" || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "state-123456" || loc.Query().Get("iss") != testIssuer {
			t.Fatalf("deny with an incomplete profile: %s", loc)
		}

		// A failing check is a server_error for the app, not a redirect to the page.
		fc.err = errors.New("database down")
		if loc = location(t, s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil))); loc.Query().Get("error") != "server_error" {
			t.Fatalf("failing completion check: %s", loc)
		}

		// Complete: on to consent, as without a Completion.
		fc.err, fc.need = nil, false
		rec = s.do(httptest.NewRequest(http.MethodGet, PathAuth+"?"+authorizeParams().Encode(), nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<form") {
			t.Fatalf("complete profile: %d, want the consent page", rec.Code)
		}
	})
}
