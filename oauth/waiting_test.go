package oauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
)

// failingClients is a store whose client lookups fail as a database outage does.
type failingClients struct{ storage.Storage }

func (failingClients) GetClient(context.Context, string) (storage.Client, error) {
	return storage.Client{}, errors.New("connection refused")
}

// TestFlow: a return_to that is an authorization request of a registered app is a Flow
// naming the app, whose cancel form is that request with Deny pressed; anything else is no
// flow; a failing lookup is an error, not "no flow".
func TestFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db storage.Storage) {
		s := newTestServer(t, db)
		ctx := t.Context()
		params := authorizeParams()
		params.Set(consentField, "allow")
		params.Add(claimField, "email")
		f, ok, err := s.p.Flow(ctx, PathAuth+"?"+params.Encode())
		if err != nil || !ok {
			t.Fatalf("Flow of an authorization request = %v, %v", ok, err)
		}
		if f.AppName != "Demo App" || f.ClientID != "app" || f.CancelAction != PathConsent {
			t.Errorf("Flow = %+v", f)
		}
		want := authorizeParams()
		want.Set(consentField, "deny")
		if f.CancelForm.Encode() != want.Encode() {
			t.Errorf("cancel form = %s, want %s", f.CancelForm.Encode(), want.Encode())
		}
		// The cancel form is the consent page's Deny: access_denied to the app.
		s.sessions.sess = &storage.Session{ID: "s1", UserID: "u1", AuthTime: time.Now(), AMR: []string{"pwd"}}
		if loc := location(t, s.postForm(f.CancelAction, f.CancelForm)); loc.Query().Get("error") != "access_denied" {
			t.Errorf("posting the cancel form: %s", loc)
		}
		for _, rt := range []string{
			"", "/", "/profile", PathConsent + "?client_id=app",
			PathAuth + "?" + url.Values{"client_id": {"nobody"}}.Encode(),
			PathAuth + "?response_type=code",
			"https://evil.example" + PathAuth + "?client_id=app",
			"//evil.example" + PathAuth + "?client_id=app",
		} {
			if _, ok, err := s.p.Flow(ctx, rt); ok || err != nil {
				t.Errorf("Flow(%q) = %v, %v; want no flow", rt, ok, err)
			}
		}
		cs, err := consent.NewService(db, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		broken, err := New(Config{Issuer: testIssuer, Secret: []byte(strings.Repeat("k", 32))}, failingClients{db}, cs, s.p.templates, nil, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := broken.Flow(ctx, PathAuth+"?client_id=other"); err == nil || ok {
			t.Errorf("Flow with a failing client lookup = %v, %v; want an error", ok, err)
		}
	})
}
