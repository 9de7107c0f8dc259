package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// getWith fetches path with the agent's cookies and the given headers.
func getWith(t testing.TB, b *agent, path string, h map[string]string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// anonGet fetches path with no cookie.
func anonGet(t testing.TB, f *facet, path string, h map[string]string) page {
	t.Helper()
	return getWith(t, newAgent(t, f.issuer), path, h)
}

// publicBody decodes a public profile answer.
func publicFields(t testing.TB, p page) map[string]any {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("public profile: %d %s", p.status, p.body)
	}
	var body struct {
		Sub     string         `json:"sub"`
		Fields  map[string]any `json:"fields"`
		Picture *string        `json:"picture"`
	}
	if err := json.Unmarshal([]byte(p.body), &body); err != nil {
		t.Fatalf("public profile body %q: %v", p.body, err)
	}
	return body.Fields
}

// requestRef is the error page's reference id, the one part of two 404 pages that differs.
var requestRef = regexp.MustCompile(`Reference: [^<]*`)

// sameNotFound is a 404 page without its reference id.
func sameNotFound(p page) string { return requestRef.ReplaceAllString(p.body, "") }

// TestPublicProfile: the public profile and its vCard hold what consent releases at each
// request; others read it with a session or any active access token; unknown, private and
// pending-deletion accounts are the same 404.
func TestPublicProfile(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "pub@example.com", "Alex Timofeeva")
			f, b := s.f, s.b
			ctx := t.Context()
			u, err := f.app.store.GetUserByEmail(ctx, "pub@example.com")
			if err != nil {
				t.Fatal(err)
			}
			// Nothing public yet: the owner sees an empty profile, others the 404.
			if got := publicFields(t, getWith(t, b, "/api/account/public-profile", nil)); len(got) != 0 {
				t.Fatalf("own public profile before any public field = %v", got)
			}
			self := "/api/users/" + u.ID + "/public"
			unknown := getWith(t, b, "/api/users/00000000-0000-4000-8000-000000000000/public", nil)
			empty := getWith(t, b, self, nil)
			if unknown.status != http.StatusNotFound || empty.status != http.StatusNotFound || unknown.body != empty.body {
				t.Fatalf("unknown %d %q, nothing public %d %q; want the same 404", unknown.status, unknown.body, empty.status, empty.body)
			}

			setLevel(t, b, "given_name", "public")
			setLevel(t, b, "email", "public")
			got := publicFields(t, getWith(t, b, self, nil))
			if got["given_name"] != "Alex" || got["email"] != "pub@example.com" || got["family_name"] != nil {
				t.Fatalf("public fields = %v, want given_name and email only", got)
			}
			// The Public Data window shows them; Export vCard downloads them.
			w := b.get("/profile/public")
			panel, _, _ := strings.Cut(w.body[strings.Index(w.body, "data-edit-panel")+1:], "</article>")
			if w.status != http.StatusOK || !strings.Contains(panel, "Alex") || strings.Contains(panel, "Timofeeva") {
				t.Fatalf("Public Data window: %d\n%s", w.status, w.body)
			}
			if p := b.get("/profile"); !strings.Contains(p.body, `href="/profile/public"`) {
				t.Error("the Profile Privacy block has no Public Data link")
			}
			dl := b.get("/profile/public/vcard")
			if dl.header.Get("Content-Type") != "text/vcard; charset=utf-8" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("Export vCard headers: %v", dl.header)
			}

			// Accept negotiation: JSON by default, the vCard when asked.
			vc := getWith(t, b, self, map[string]string{"Accept": "text/vcard"})
			card, err := vcard.NewDecoder(strings.NewReader(vc.body)).Decode()
			if err != nil || vc.header.Get("Content-Type") != "text/vcard; charset=utf-8" {
				t.Fatalf("vCard answer %q (%v), Content-Type %q", vc.body, err, vc.header.Get("Content-Type"))
			}
			if card.Name().GivenName != "Alex" || card.Value(vcard.FieldEmail) != "pub@example.com" || card.Name().FamilyName != "" || card.Value(vcard.FieldUID) != u.ID {
				t.Fatalf("vCard = %q", vc.body)
			}
			if j := getWith(t, b, self, map[string]string{"Accept": "application/json, text/vcard;q=0.5"}); !strings.HasPrefix(j.header.Get("Content-Type"), "application/json") {
				t.Errorf("Accept preferring JSON got %q", j.header.Get("Content-Type"))
			}

			// Made private: gone at once, from both.
			setLevel(t, b, "email", "private")
			if got := publicFields(t, getWith(t, b, self, nil)); got["email"] != nil || got["given_name"] != "Alex" {
				t.Fatalf("after email went private: %v", got)
			}
			if vc := getWith(t, b, self, map[string]string{"Accept": "text/vcard"}); strings.Contains(vc.body, "pub@example.com") {
				t.Fatalf("vCard still has the private email:\n%s", vc.body)
			}

			// Another member (browser session) and an app (any active token) read it; nobody else.
			other := newAgent(t, f.issuer)
			ar := s.r.start()
			signUp(t, other, s.r, ar, "other@example.com", "correct horse battery", "Other Person")
			if got := publicFields(t, getWith(t, other, self, nil)); got["given_name"] != "Alex" {
				t.Fatalf("another member sees %v", got)
			}
			bearer := map[string]string{"Authorization": "Bearer " + s.tok.AccessToken}
			if got := publicFields(t, anonGet(t, f, self, bearer)); got["given_name"] != "Alex" {
				t.Fatalf("with an access token: %v", got)
			}
			if p := anonGet(t, f, self, nil); p.status != http.StatusUnauthorized {
				t.Fatalf("without credentials: %d", p.status)
			}
			if p := anonGet(t, f, self, map[string]string{"Authorization": "Bearer not-a-token"}); p.status != http.StatusUnauthorized {
				t.Fatalf("with a bad token: %d", p.status)
			}

			// The private profile: the same 404 as an unknown account.
			b.post("/profile/private-profile", url.Values{"enabled": {"on"}})
			if p := getWith(t, other, self, nil); p.status != http.StatusNotFound || p.body != unknown.body {
				t.Fatalf("private profile: %d %q, want the unknown account's 404", p.status, p.body)
			}
			if w := b.get("/profile/public"); !strings.Contains(w.body, "Your profile is private") {
				t.Errorf("Public Data window with the private profile on:\n%s", w.body)
			}
			b.post("/profile/private-profile", url.Values{"enabled": {"off"}})
			// Pending deletion: the same 404.
			u2 := u
			u2.Status = storage.UserPendingDeletion
			if err := f.app.store.UpdateUser(ctx, u2); err != nil {
				t.Fatal(err)
			}
			if p := getWith(t, other, self, nil); p.status != http.StatusNotFound || p.body != unknown.body {
				t.Fatalf("pending deletion: %d %q, want the unknown account's 404", p.status, p.body)
			}
		})
	}
}

// TestBusinessCard: the feature switch (database over config, no restart), the Activity
// toggle, identifiers (rules, taken, freed at once, 16 concurrent claims), the card page and
// its vCard regardless of levels, ETag, the QR code decoding to the URL, and the same 404
// for every absence.
func TestBusinessCard(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			// The racers sign up from addresses of their own (behind a trusted proxy), so the
			// registration throttle per address lets them in.
			s := signUpAndExchangeOn(t, be, nil, "card@example.com", "Alex Timofeeva", func(c *config.Config) {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			})
			f, b := s.f, s.b
			ctx := t.Context()
			u, err := f.app.store.GetUserByEmail(ctx, "card@example.com")
			if err != nil {
				t.Fatal(err)
			}
			// Off by default: the block is absent and every route is 404.
			if p := getWith(t, b, "/api/account/card", nil); p.status != http.StatusNotFound {
				t.Fatalf("GET /api/account/card with the feature off: %d", p.status)
			}
			if p := b.get("/profile"); strings.Contains(p.body, `id="business-card"`) {
				t.Fatal("Business Card block shown with the feature off")
			}
			// Switched on in the database: at the next request, no restart.
			if err := f.app.store.SetFeature(ctx, "business-card", true, time.Now()); err != nil {
				t.Fatal(err)
			}
			var c struct {
				Available  bool   `json:"available"`
				Active     bool   `json:"active"`
				Identifier string `json:"identifier"`
				URL        string `json:"url"`
			}
			p := getWith(t, b, "/api/account/card", nil)
			if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &c) != nil || c.Active || c.Available || len(c.Identifier) != 12 ||
				c.URL != f.issuer+"/api/cards/"+c.Identifier {
				t.Fatalf("GET /api/account/card: %d %s", p.status, p.body)
			}
			// Inactive: the same 404 as unknown.
			unknown := anonGet(t, f, "/api/cards/no-such-card", nil)
			if got := anonGet(t, f, "/api/cards/"+c.Identifier, nil); got.status != http.StatusNotFound || unknown.status != http.StatusNotFound ||
				sameNotFound(got) != sameNotFound(unknown) {
				t.Fatalf("inactive card %d, unknown %d; want 404", got.status, unknown.status)
			}
			if p := b.get("/profile"); !strings.Contains(p.body, `id="business-card"`) || !strings.Contains(p.body, c.URL) {
				t.Fatalf("Business Card block missing:\n%s", p.body)
			}

			// Identifier rules through the API.
			for _, x := range []struct {
				body   string
				status int
			}{
				{`{"identifier":"ab"}`, http.StatusUnprocessableEntity},
				{`{"identifier":"-alex"}`, http.StatusUnprocessableEntity},
				{`{"identifier":"admin"}`, http.StatusUnprocessableEntity},
				{`{"identifier":"Alex-T","active":true}`, http.StatusOK},
			} {
				if got := apiPut(t, b, "/api/account/card", x.body); got != x.status {
					t.Errorf("PUT /api/account/card %s: %d, want %d", x.body, got, x.status)
				}
			}
			// Someone else cannot take it, in another case: 409.
			other := newAgent(t, f.issuer)
			signUp(t, other, s.r, s.r.start(), "other@example.com", "correct horse battery", "Other Person")
			if got := apiPut(t, other, "/api/account/card", `{"identifier":"alex-t"}`); got != http.StatusConflict {
				t.Fatalf("taking a taken identifier: %d, want 409", got)
			}
			// The form says so in words, keeping the value typed.
			if p := other.post("/profile/card", url.Values{"identifier": {"ALEX-T"}}); p.status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.body, "already taken") || !strings.Contains(p.body, `value="ALEX-T"`) {
				t.Fatalf("form with a taken identifier: %d\n%s", p.status, p.body)
			}

			// The card shows the fields whatever their levels (birth date and phone are private).
			if err := f.app.store.PutProfileFields(ctx, []storage.ProfileField{
				{UserID: u.ID, Field: "birthdate", Value: "1990-05-06", Privacy: "private", UpdatedAt: time.Now()},
				{UserID: u.ID, Field: "phone_number", Value: "+15551234567", Privacy: "private", UpdatedAt: time.Now()},
			}); err != nil {
				t.Fatal(err)
			}
			setLevel(t, b, "family_name", "private")
			page := anonGet(t, f, "/api/cards/alex-T", nil)
			for _, want := range []string{"Alex Timofeeva", "card@example.com", "15551234567", "1990", `href="/api/cards/Alex-T?format=vcf"`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("card page lacks %q\n%s", want, page.body)
				}
			}
			etag, lm := page.header.Get("ETag"), page.header.Get("Last-Modified")
			if page.status != http.StatusOK || etag == "" || lm == "" {
				t.Fatalf("card page: %d, ETag %q, Last-Modified %q", page.status, etag, lm)
			}
			if p := anonGet(t, f, "/api/cards/Alex-T", map[string]string{"If-None-Match": etag}); p.status != http.StatusNotModified {
				t.Errorf("If-None-Match: %d, want 304", p.status)
			}
			vc := anonGet(t, f, "/api/cards/Alex-T", map[string]string{"Accept": "text/vcard"})
			card, err := vcard.NewDecoder(strings.NewReader(vc.body)).Decode()
			if err != nil || card.Value(vcard.FieldTelephone) != "+15551234567" || card.Value(vcard.FieldBirthday) != "1990-05-06" ||
				card.Name().FamilyName != "Timofeeva" || card.Value(vcard.FieldUID) != u.ID {
				t.Fatalf("card vCard (%v):\n%s", err, vc.body)
			}
			if vf := anonGet(t, f, "/api/cards/Alex-T?format=vcf", nil); vf.body != vc.body {
				t.Errorf("?format=vcf differs from Accept: text/vcard")
			}

			// The QR code decodes back to the card's URL.
			qr := anonGet(t, f, "/api/cards/Alex-T/qr.png", nil)
			img, err := png.Decode(bytes.NewReader([]byte(qr.body)))
			if err != nil {
				t.Fatalf("qr.png: %d %v", qr.status, err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			if err != nil || res.GetText() != f.issuer+"/api/cards/Alex-T" {
				t.Fatalf("QR code decodes to %v (%v), want %s", res, err, f.issuer+"/api/cards/Alex-T")
			}
			if svg := anonGet(t, f, "/api/cards/Alex-T/qr.svg", nil); svg.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg.body, "<svg") {
				t.Errorf("qr.svg: %q %.40s", svg.header.Get("Content-Type"), svg.body)
			}

			// Changing the identifier frees the old one at once.
			if got := apiPut(t, b, "/api/account/card", `{"identifier":"alex-new"}`); got != http.StatusOK {
				t.Fatalf("rename: %d", got)
			}
			if p := anonGet(t, f, "/api/cards/Alex-T", nil); p.status != http.StatusNotFound {
				t.Fatalf("released identifier: %d", p.status)
			}
			if got := apiPut(t, other, "/api/account/card", `{"identifier":"alex-t","active":true}`); got != http.StatusOK {
				t.Fatalf("taking the freed identifier: %d", got)
			}

			// Accounts claim one identifier at once through the API: exactly one wins, the rest
			// get 409 (storagetest's CardIdentifierRace runs 16 claims against the store itself;
			// here each racer costs a registration, so 4 keep the package's test time down).
			agents := make([]*agent, 4)
			for i := range agents {
				agents[i] = newAgent(t, f.issuer)
				agents[i].header = http.Header{"X-Forwarded-For": {fmt.Sprintf("192.0.2.%d", i+1)}}
				signUp(t, agents[i], s.r, s.r.start(), fmt.Sprintf("racer%d@example.com", i), "correct horse battery", "Racer")
				if got := getWith(t, agents[i], "/api/account/card", nil); got.status != http.StatusOK {
					t.Fatalf("racer %d card: %d", i, got.status)
				}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for _, a := range agents {
				wg.Go(func() {
					code := apiPut(t, a, "/api/account/card", `{"identifier":"Popular-Name","active":true}`)
					mu.Lock()
					codes[code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if codes[http.StatusOK] != 1 || codes[http.StatusConflict] != len(agents)-1 {
				t.Fatalf("%d concurrent claims: %v, want one 200 and the rest 409", len(agents), codes)
			}

			// Switched off (Activity), the feature off, pending deletion: the same 404.
			if got := apiPut(t, b, "/api/account/card", `{"active":false}`); got != http.StatusOK {
				t.Fatal(got)
			}
			if p := anonGet(t, f, "/api/cards/alex-new", nil); p.status != http.StatusNotFound || sameNotFound(p) != sameNotFound(unknown) {
				t.Fatalf("switched-off card: %d", p.status)
			}
			if p := anonGet(t, f, "/api/cards/alex-t", nil); p.status != http.StatusOK {
				t.Fatalf("other's active card: %d", p.status)
			}
			if err := f.app.store.SetFeature(ctx, "business-card", false, time.Now()); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/api/cards/alex-t", "/api/cards/alex-t/qr.png", "/api/cards/alex-t/qr.svg", "/api/cards/alex-t/photo"} {
				if p := anonGet(t, f, path, nil); p.status != http.StatusNotFound {
					t.Errorf("%s with the feature off: %d", path, p.status)
				}
			}
			if p := getWith(t, other, "/api/account/card", nil); p.status != http.StatusNotFound {
				t.Errorf("GET /api/account/card with the feature off: %d", p.status)
			}
			if got := apiPut(t, other, "/api/account/card", `{"active":true}`); got != http.StatusNotFound {
				t.Errorf("PUT /api/account/card with the feature off: %d", got)
			}
			if err := f.app.store.SetFeature(ctx, "business-card", true, time.Now()); err != nil {
				t.Fatal(err)
			}
			o, err := f.app.store.GetUserByEmail(ctx, "other@example.com")
			if err != nil {
				t.Fatal(err)
			}
			o.Status = storage.UserPendingDeletion
			if err := f.app.store.UpdateUser(ctx, o); err != nil {
				t.Fatal(err)
			}
			if p := anonGet(t, f, "/api/cards/alex-t", nil); p.status != http.StatusNotFound || sameNotFound(p) != sameNotFound(unknown) {
				t.Fatalf("card of an account pending deletion: %d", p.status)
			}
		})
	}
}

// TestFeatureConfigDefault: the features key switches the card on by default; a stored
// switch wins over it.
func TestFeatureConfigDefault(t *testing.T) {
	be := sqltest.Backends(t)[0]
	s := signUpAndExchangeOn(t, be, nil, "cfg@example.com", "Alex T", func(c *config.Config) { c.Features = []string{"business-card"} })
	if p := getWith(t, s.b, "/api/account/card", nil); p.status != http.StatusOK {
		t.Fatalf("features=business-card: %d", p.status)
	}
	if err := s.f.app.store.SetFeature(t.Context(), "business-card", false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if p := getWith(t, s.b, "/api/account/card", nil); p.status != http.StatusNotFound {
		t.Fatalf("stored off over the config's on: %d", p.status)
	}
}
