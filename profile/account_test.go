package profile

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
	"github.com/facetid/facet/templates"
)

// signUp registers email with name in a new browser (signed in) and returns it with the user.
func (e *env) signUp(email, name, ip string) (*browser, storage.User) {
	e.t.Helper()
	b := e.browser(ip)
	b.register(email, goodPassword, name, "/")
	u, err := e.store.GetUserByEmail(e.t.Context(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return b, u
}

// values returns userID's stored profile values by key.
func (e *env) values(userID string) map[string]string {
	e.t.Helper()
	fields, err := e.store.GetProfileFields(e.t.Context(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fields {
		out[f.Field] = f.Value
	}
	return out
}

// sendJSON sends body (nil: none) as JSON with method.
func (b *browser) sendJSON(method, path, body string, header ...string) response {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Header.Set(testIPHeader, b.ip)
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: sb.String(), Location: res.Header.Get("Location")}
}

func TestProfilePage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		if res := e.browser("192.0.2.9").get("/profile"); res.Status != http.StatusSeeOther || res.Location != "/login?return_to=%2Fprofile" {
			t.Fatalf("signed out: %d %q", res.Status, res.Location)
		}
		b, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		must(t, e.store.PutProfileValues(t.Context(), u.ID, map[string]string{
			"birthdate": "1990-04-01", "address": `{"street_address":"1 Main St","locality":"Paris","country":"FR"}`,
			"gender": "female", "phone_number": "+33612345678",
		}, e.clock.Now()))
		res := b.get("/profile")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /profile: %d\n%s", res.Status, res.Body)
		}
		mustContain(t, res,
			"Main Information", "Additional Information", "Contacts", "Security",
			"Alex", "Timofeeva", "1 April 1990", "Female", "1 Main St", "Paris", "&#43;33 6 12 34 56 78", "alex@example.com",
			`<span class="account-initials" aria-hidden="true">AT</span>`,
			// privacy: words with the icon; the form posts to the privacy helper's route
			`action="/profile/privacy/given_name"`, `action="/profile/privacy/birthdate"`, `action="/profile/privacy/email"`,
			`name="level" value="private"`, `name="level" value="on_request"`, `name="level" value="public"`,
			`class="icon icon-lock" aria-hidden="true"`, "Only you", `class="icon icon-handshake" aria-hidden="true"`, "On request", "Everyone",
			// links to the other areas' pages
			`href="/profile/edit?block=main"`, `href="/profile/edit?block=additional"`, `href="/profile/email"`,
			`href="/profile/phone"`, `href="/profile/photo"`, `href="/profile/password"`,
			`href="/profile/events"`, `aria-current="page"`, "1 active session")
		if strings.Contains(res.Body, "Complete your profile") {
			t.Error("complete profile shown as incomplete")
		}
		// Birth date defaults to "Only you", given name to "On request" (catalog defaults).
		birth := res.Body[strings.Index(res.Body, "/profile/privacy/birthdate")-600:]
		if !strings.Contains(birth, "Only you") {
			t.Error("birthdate level not shown")
		}
		// The strict Content-Security-Policy allows only our own files: no inline style, and
		// each script is a file under /static/.
		if strings.Contains(res.Body, "style=") || strings.Count(res.Body, "<script") != strings.Count(res.Body, `<script src="/static/`) {
			t.Error("inline style or script")
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestProfileEdit(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		_, other := e.signUp("sam@example.com", "Sam Roe", "192.0.2.2")
		must(t, e.store.PutProfileValues(t.Context(), other.ID, map[string]string{"preferred_username": "sam"}, e.clock.Now()))
		before := e.values(u.ID)

		form := b.get("/profile/edit?block=main")
		mustContain(t, form, `action="/profile/edit"`, `name="block" value="main"`, `value="Alex"`, `autocomplete="given-name"`,
			`type="date"`, `max="2030-01-02"`, `<option value="female">Female</option>`)
		if res := b.get("/profile/edit?block=contacts"); res.Status != http.StatusNotFound {
			t.Errorf("edit contacts block: %d", res.Status)
		}

		main := func(kv ...string) url.Values {
			v := url.Values{"block": {"main"}, "given_name": {"Alexandra"}, "family_name": {"Timofeeva"}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		bad := []struct {
			name string
			form url.Values
			msg  string
		}{
			{"bad date", main("birthdate", "1990-02-30"), "Enter a real date as YYYY-MM-DD"},
			{"future date", main("birthdate", "2031-01-01"), "The date cannot be in the future."},
			{"too old", main("birthdate", "1850-01-01"), "Enter a date from 1900 on."},
			{"too long", main("nickname", strings.Repeat("x", 101)), "This is too long."},
			{"control chars", main("middle_name", "a\x07b"), "characters that cannot be used"},
			{"username charset", main("preferred_username", "alex smith"), "Use only lower-case letters"},
			{"username start", main("preferred_username", "9lives"), "Start with a letter."},
			{"username taken", main("preferred_username", "SAM"), "This username is already taken."},
			{"gender", main("gender", "robot"), "Choose one of the options."},
			{"bad URL", url.Values{"block": {"additional"}, "website": {"javascript:alert(1)"}, "locale": {"de"}}, "Enter a full web address"},
			{"long URL", url.Values{"block": {"additional"}, "website": {"https://e.example/" + strings.Repeat("a", 2048)}}, "This is too long."},
			{"locale", url.Values{"block": {"additional"}, "locale": {"no such locale"}}, "Enter a language tag"},
			{"zone", url.Values{"block": {"additional"}, "zoneinfo": {"Mars/Base"}}, "Enter a time zone name"},
			{"address part", url.Values{"block": {"additional"}, "address.locality": {strings.Repeat("a", 201)}, "address.country": {"FR"}}, "This is too long."},
		}
		for _, c := range bad {
			res := b.post("/profile/edit", c.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", c.name, res.Status)
				continue
			}
			mustContain(t, res, c.msg, `aria-invalid="true"`, "Nothing was saved")
			// The entered values are kept.
			for k := range c.form {
				// A select cannot show a value it does not offer.
				if k == "block" || k == "gender" {
					continue
				}
				if v := c.form.Get(k); !strings.Contains(res.Body, `value="`+htmlEscape(v)+`"`) && !strings.Contains(res.Body, `value="`+htmlEscape(v)+`" selected`) {
					t.Errorf("%s: entered %s=%q not kept", c.name, k, v)
				}
			}
			if got := e.values(u.ID); !equalMaps(got, before) {
				t.Errorf("%s: saved something: %v, want %v", c.name, got, before)
			}
		}

		// A valid save: PRG to the profile with a notice.
		res := b.post("/profile/edit", main("preferred_username", " Alex.T ", "birthdate", "1990-04-01", "nickname", ""))
		if res.Status != http.StatusSeeOther || res.Location != "/profile?notice=saved#main" {
			t.Fatalf("save: %d %q\n%s", res.Status, res.Location, res.Body)
		}
		got := e.values(u.ID)
		if got["given_name"] != "Alexandra" || got["preferred_username"] != "alex.t" || got["birthdate"] != "1990-04-01" {
			t.Errorf("saved values = %v", got)
		}
		mustContain(t, b.get("/profile?notice=saved"), "Saved.", "Alexandra", "alex.t")

		res = b.post("/profile/edit", url.Values{"block": {"additional"}, "website": {"HTTPS://alex.example/"}, "locale": {"en-gb"},
			"zoneinfo": {"Europe/Paris"}, "address.street_address": {"1 Main St"}, "address.locality": {"Paris"}, "address.country": {"FR"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("save additional: %d\n%s", res.Status, res.Body)
		}
		got = e.values(u.ID)
		if got["website"] != "https://alex.example/" || got["locale"] != "en-GB" || got["address"] != `{"street_address":"1 Main St","locality":"Paris","country":"FR"}` {
			t.Errorf("saved additional values = %v", got)
		}
		// The other user is untouched.
		if v := e.values(other.ID); v["given_name"] != "Sam" || v["preferred_username"] != "sam" {
			t.Errorf("other user's values changed: %v", v)
		}
		// Each save is one profile_updated event naming the fields, never their values; the
		// refused saves recorded nothing.
		events, err := e.store.ListEvents(t.Context(), u.ID, storage.EventFilter{Category: CategoryProfileUpdated})
		must(t, err)
		seen := map[string]bool{}
		for _, ev := range events {
			seen[ev.Details["fields"]] = true
		}
		if len(events) != 2 || !seen["birthdate,given_name,preferred_username"] || !seen["address,locale,website,zoneinfo"] {
			t.Errorf("profile_updated events = %+v", events)
		}
		for _, ev := range events {
			for _, v := range ev.Details {
				if strings.Contains(v, "Alexandra") || strings.Contains(v, "Paris") {
					t.Errorf("event carries a value: %+v", ev)
				}
			}
		}
	})
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestLockedFields(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		cat, err := consent.NewCatalog(consent.CatalogConfig{Locked: []string{"family_name"}, Now: e.clock.Now})
		must(t, err)
		e.h.Catalog = cat
		b, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		mustContain(t, b.get("/profile"), "Contact the administrator")
		form := b.get("/profile/edit?block=main")
		mustContain(t, form, `value="Timofeeva" readonly`, "Contact the administrator")
		if strings.Contains(form.Body, `name="family_name"`) {
			t.Error("locked field is submitted with the form")
		}
		res := b.post("/profile/edit", url.Values{"block": {"main"}, "given_name": {"Al"}, "family_name": {"Other"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("save: %d", res.Status)
		}
		if v := e.values(u.ID); v["family_name"] != "Timofeeva" || v["given_name"] != "Al" {
			t.Errorf("values = %v", v)
		}
		res = b.sendJSON(http.MethodPatch, "/api/account/profile", `{"family_name":"Other","given_name":"Bo"}`)
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Contact the administrator") {
			t.Errorf("PATCH locked: %d %s", res.Status, res.Body)
		}
		// Echoing the unchanged locked value is no edit.
		res = b.sendJSON(http.MethodPatch, "/api/account/profile", `{"family_name":"Timofeeva","given_name":"Bo"}`)
		if res.Status != http.StatusOK {
			t.Errorf("PATCH with unchanged locked value: %d %s", res.Status, res.Body)
		}
	})
}

func TestPasswordChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		b, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		other := e.browser("192.0.2.2")
		if res := other.login("alex@example.com", goodPassword); res.Status != http.StatusSeeOther {
			t.Fatalf("second login: %d", res.Status)
		}
		_, bystander := e.signUp("sam@example.com", "Sam Roe", "192.0.2.3")
		for _, tok := range []storage.Token{
			{Kind: storage.KindAccessToken, Signature: "at-alex", RequestID: "r1", ClientID: "app", Subject: u.ID, Active: true},
			{Kind: storage.KindRefreshToken, Signature: "rt-alex", RequestID: "r1", ClientID: "app", Subject: u.ID, Active: true},
			{Kind: storage.KindAccessToken, Signature: "at-sam", RequestID: "r2", ClientID: "app", Subject: bystander.ID, Active: true},
		} {
			tok.RequestedAt, tok.ExpiresAt, tok.Data = e.clock.Now(), e.clock.Now().Add(time.Hour), []byte("{}")
			must(t, e.store.CreateToken(ctx, tok))
		}
		mustContain(t, b.get("/profile"), "2 active sessions")

		page := b.get("/profile/password")
		mustContain(t, page, `autocomplete="current-password"`, `autocomplete="new-password"`, `name="confirm"`)

		const newPassword = "a brand new passphrase"
		cases := []struct {
			name string
			form url.Values
			msg  string
		}{
			{"wrong current", url.Values{"current_password": {"not it at all"}, "new_password": {newPassword}, "confirm": {newPassword}}, "The current password is not correct."},
			{"short", url.Values{"current_password": {goodPassword}, "new_password": {"short"}, "confirm": {"short"}}, "Use at least 8 characters."},
			{"common", url.Values{"current_password": {goodPassword}, "new_password": {"password123"}, "confirm": {"password123"}}, "too common"},
			{"mismatch", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}, "confirm": {newPassword + "x"}}, "do not match"},
			{"same", url.Values{"current_password": {goodPassword}, "new_password": {goodPassword}, "confirm": {goodPassword}}, "same as the current one"},
			{"no current", url.Values{"new_password": {newPassword}, "confirm": {newPassword}}, "Enter your current password."},
		}
		for _, c := range cases {
			res := b.post("/profile/password", c.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d", c.name, res.Status)
			}
			mustContain(t, res, c.msg)
			if strings.Contains(res.Body, "not it at all") || strings.Contains(res.Body, newPassword) {
				t.Errorf("%s: password echoed", c.name)
			}
		}
		// The wrong current password counted toward the account's login throttle.
		n, err := e.store.Hit(ctx, AccountCounter(u.ID), e.clock.Now().Truncate(15*time.Minute))
		must(t, err)
		if n < 2 {
			t.Errorf("account counter = %d; the wrong password was not counted", n)
		}

		res := b.post("/profile/password", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}, "confirm": {newPassword}})
		if res.Status != http.StatusSeeOther || res.Location != "/login?notice=password_changed" {
			t.Fatalf("change: %d %q\n%s", res.Status, res.Location, res.Body)
		}
		if !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("cookie not cleared: %q", res.Header.Get("Set-Cookie"))
		}
		// Every session of the user is gone, the other browser's too.
		for _, br := range []*browser{b, other} {
			if _, ok := br.current(); ok {
				t.Error("a session survived the password change")
			}
		}
		if res := other.get("/profile"); res.Status != http.StatusSeeOther {
			t.Errorf("other browser still signed in: %d", res.Status)
		}
		// Every token of the user ended; the bystander's did not.
		for _, sig := range []struct {
			kind storage.TokenKind
			sig  string
		}{{storage.KindAccessToken, "at-alex"}, {storage.KindRefreshToken, "rt-alex"}} {
			tok, err := e.store.GetToken(ctx, sig.kind, sig.sig)
			if err == nil && tok.Active {
				t.Errorf("token %s still active", sig.sig)
			} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
		}
		if tok, err := e.store.GetToken(ctx, storage.KindAccessToken, "at-sam"); err != nil || !tok.Active {
			t.Errorf("bystander's token: %+v, %v", tok, err)
		}
		if events, err := e.store.ListEvents(ctx, u.ID, storage.EventFilter{Category: CategoryPasswordChanged}); err != nil || len(events) != 1 {
			t.Errorf("password_changed events = %+v, %v", events, err)
		}
		if res := e.browser("192.0.2.7").login("alex@example.com", goodPassword); res.Status != http.StatusOK {
			t.Errorf("old password still works: %d", res.Status)
		}
		if res := e.browser("192.0.2.8").login("alex@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("new password refused: %d", res.Status)
		}
	})
}

func TestPasswordChangeThrottled(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, _ := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		var last response
		for range 6 {
			last = b.post("/profile/password", url.Values{"current_password": {"wrong guess!"}, "new_password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
		}
		if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
			t.Fatalf("sixth wrong password: %d", last.Status)
		}
		mustContain(t, last, "Too many attempts")
		// Even the right password waits for the window.
		res := b.post("/profile/password", url.Values{"current_password": {goodPassword}, "new_password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("right password while throttled: %d", res.Status)
		}
	})
}

// fakeTokens is a TokenVerifier over a fixed table: token → subject and scopes.
type fakeTokens map[string]struct {
	sub    string
	scopes []string
}

func (f fakeTokens) VerifyAccessToken(_ context.Context, token string) (string, string, []string, error) {
	v, ok := f[token]
	if !ok {
		return "", "", nil, errors.New("inactive")
	}
	return v.sub, "app", v.scopes, nil
}

func TestAccountAPIProfile(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("alex@example.com", "Alex", "192.0.2.1")
		sam, other := e.signUp("sam@example.com", "Sam Roe", "192.0.2.2")
		must(t, e.store.PutProfileFields(t.Context(), []storage.ProfileField{
			{UserID: u.ID, Field: "birthdate", Value: "1990-04-01", Privacy: "public", UpdatedAt: e.clock.Now()},
			{UserID: u.ID, Field: "picture", Value: "/public/images/profile/AbCdEf0123456789", UpdatedAt: e.clock.Now()},
		}))

		if res := e.browser("192.0.2.9").sendJSON(http.MethodGet, "/api/account/profile", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("anonymous GET: %d", res.Status)
		}
		res := b.sendJSON(http.MethodGet, "/api/account/profile", "")
		if res.Status != http.StatusOK {
			t.Fatalf("GET: %d %s", res.Status, res.Body)
		}
		var p struct {
			Sub    string `json:"sub"`
			Fields map[string]struct {
				Value   json.RawMessage `json:"value"`
				Privacy string          `json:"privacy"`
			} `json:"fields"`
			Email struct {
				Value    *string `json:"value"`
				Verified bool    `json:"verified"`
				Privacy  string  `json:"privacy"`
			} `json:"email"`
			PhoneNumber struct {
				Value    *string `json:"value"`
				Verified bool    `json:"verified"`
				Privacy  string  `json:"privacy"`
			} `json:"phone_number"`
			Picture          *string  `json:"picture"`
			MissingMandatory []string `json:"missing_mandatory"`
		}
		must(t, json.Unmarshal([]byte(res.Body), &p))
		if p.Sub != u.ID || p.Email.Value == nil || *p.Email.Value != "alex@example.com" || p.Email.Privacy != "on_request" ||
			p.PhoneNumber.Value != nil || p.PhoneNumber.Privacy != "private" {
			t.Errorf("profile = %s", res.Body)
		}
		if string(p.Fields["given_name"].Value) != `"Alex"` || p.Fields["given_name"].Privacy != "on_request" ||
			string(p.Fields["birthdate"].Value) != `"1990-04-01"` || p.Fields["birthdate"].Privacy != "public" ||
			string(p.Fields["family_name"].Value) != "null" || p.Fields["address"].Privacy != "private" {
			t.Errorf("fields = %s", res.Body)
		}
		if p.Picture == nil || *p.Picture != "http://facet.test/public/images/profile/AbCdEf0123456789" {
			t.Errorf("picture = %v", p.Picture)
		}
		if len(p.MissingMandatory) != 1 || p.MissingMandatory[0] != "family_name" {
			t.Errorf("missing_mandatory = %v", p.MissingMandatory)
		}
		if _, ok := p.Fields["email"]; ok {
			t.Error("email listed among fields")
		}

		before := e.values(u.ID)
		for _, c := range []struct{ body, field string }{
			{`{"given_name":"Alexandra","birthdate":"2099-01-01"}`, "birthdate"},
			{`{"given_name":"Alexandra","shoe_size":"44"}`, "shoe_size"},
			{`{"given_name":"Alexandra","website":"ftp://x.example"}`, "website"},
			{`{"given_name":"Alexandra","preferred_username":"Ab"}`, "preferred_username"},
			{`{"given_name":"Alexandra","nickname":42}`, "nickname"},
			{`{"given_name":"Alexandra","address":{"planet":"Mars"}}`, "address"},
			{`{"given_name":"Alexandra","email":"new@example.com"}`, "email"},
			{`{"given_name":"Alexandra","picture":"/public/images/profile/AbCdEf0123456789"}`, "picture"},
		} {
			res := b.sendJSON(http.MethodPatch, "/api/account/profile", c.body)
			var body struct {
				Error  string            `json:"error"`
				Fields map[string]string `json:"fields"`
			}
			if res.Status != http.StatusUnprocessableEntity || json.Unmarshal([]byte(res.Body), &body) != nil ||
				body.Error != "validation_failed" || body.Fields[c.field] == "" || len(body.Fields) != 1 {
				t.Errorf("PATCH %s: %d %s", c.body, res.Status, res.Body)
			}
			if got := e.values(u.ID); !equalMaps(got, before) {
				t.Errorf("PATCH %s saved something: %v", c.body, got)
			}
		}
		if res := b.sendJSON(http.MethodPatch, "/api/account/profile", `not json`); res.Status != http.StatusBadRequest {
			t.Errorf("PATCH bad JSON: %d", res.Status)
		}
		req := b.sendJSON(http.MethodPatch, "/api/account/profile", "")
		if req.Status != http.StatusUnsupportedMediaType {
			t.Errorf("PATCH without JSON: %d", req.Status)
		}
		must(t, e.store.PutProfileValues(t.Context(), other.ID, map[string]string{"preferred_username": "sam"}, e.clock.Now()))
		if res := b.sendJSON(http.MethodPatch, "/api/account/profile", `{"preferred_username":"sam"}`); res.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, "already taken") {
			t.Errorf("PATCH taken username: %d %s", res.Status, res.Body)
		}

		res = b.sendJSON(http.MethodPatch, "/api/account/profile",
			`{"given_name":"Alexandra","family_name":"Timofeeva","birthdate":null,"nickname":"","address":{"locality":" Paris ","country":"FR"},"locale":"fr-fr"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("PATCH: %d %s", res.Status, res.Body)
		}
		mustContain(t, res, `"given_name":{"value":"Alexandra","privacy":"on_request"}`, `"birthdate":{"value":null,"privacy":"public"}`,
			`"address":{"value":{"locality":"Paris","country":"FR"},"privacy":"private"}`, `"locale":{"value":"fr-FR"`, `"missing_mandatory":[]`)
		got := e.values(u.ID)
		if got["birthdate"] != "" || got["given_name"] != "Alexandra" {
			t.Errorf("values after PATCH = %v", got)
		}
		// The cleared birth date keeps the level the user chose.
		fields, err := e.store.GetProfileFields(t.Context(), u.ID)
		must(t, err)
		for _, f := range fields {
			if f.Field == "birthdate" && f.Privacy != "public" {
				t.Errorf("birthdate privacy after clearing = %q", f.Privacy)
			}
		}

		// Another user's session only ever sees and edits that user.
		res = sam.sendJSON(http.MethodPatch, "/api/account/profile", `{"nickname":"sammy"}`)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `"sub":"`+other.ID+`"`) || strings.Contains(res.Body, "Alexandra") {
			t.Errorf("other user's PATCH: %d %s", res.Status, res.Body)
		}
		if e.values(u.ID)["nickname"] != "" {
			t.Error("another user's PATCH reached this user")
		}
	})
}

func TestAccountAPIBearer(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		e.h.Tokens = fakeTokens{
			"good":    {sub: u.ID, scopes: []string{"openid", AccountScope}},
			"noscope": {sub: u.ID, scopes: []string{"openid", "profile"}},
		}
		c := e.browser("192.0.2.50") // no cookie
		res := c.sendJSON(http.MethodGet, "/api/account/profile", "", "Authorization", "Bearer good")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `"sub":"`+u.ID+`"`) {
			t.Errorf("bearer GET: %d %s", res.Status, res.Body)
		}
		if res := c.sendJSON(http.MethodGet, "/api/account/profile", "", "Authorization", "Bearer noscope"); res.Status != http.StatusForbidden {
			t.Errorf("bearer without account scope: %d", res.Status)
		}
		if res := c.sendJSON(http.MethodGet, "/api/account/profile", "", "Authorization", "Bearer nope"); res.Status != http.StatusUnauthorized {
			t.Errorf("inactive bearer: %d", res.Status)
		}
		// A bearer token without the current password cannot change it.
		res = c.sendJSON(http.MethodPut, "/api/account/password", `{"new_password":"a brand new passphrase"}`, "Authorization", "Bearer good")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `"current_password"`) {
			t.Errorf("bearer password change without current: %d %s", res.Status, res.Body)
		}
		res = c.sendJSON(http.MethodPut, "/api/account/password", `{"current_password":"guess guess","new_password":"a brand new passphrase"}`, "Authorization", "Bearer good")
		if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "invalid_current_password") {
			t.Errorf("bearer password change with wrong current: %d %s", res.Status, res.Body)
		}
		res = c.sendJSON(http.MethodPut, "/api/account/password", `{"current_password":"`+goodPassword+`","new_password":"a brand new passphrase"}`, "Authorization", "Bearer good")
		if res.Status != http.StatusNoContent {
			t.Errorf("bearer password change: %d %s", res.Status, res.Body)
		}
	})
}

func TestAccountAPIPassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("alex@example.com", "Alex Timofeeva", "192.0.2.1")
		tok := storage.Token{Kind: storage.KindAccessToken, Signature: "at", RequestID: "r", ClientID: "app", Subject: u.ID, Active: true,
			RequestedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour), Data: []byte("{}")}
		must(t, e.store.CreateToken(t.Context(), tok))
		for _, c := range []struct {
			body   string
			status int
			want   string
		}{
			{`{"current_password":"` + goodPassword + `","new_password":"short"}`, http.StatusUnprocessableEntity, `"new_password":"Use at least 8 characters."`},
			{`{"current_password":"wrong wrong","new_password":"a brand new passphrase"}`, http.StatusForbidden, `"error":"invalid_current_password"`},
			{`{"current_password":"x","new_password":"a brand new passphrase","extra":1}`, http.StatusBadRequest, `"error":"invalid_request"`},
		} {
			res := b.sendJSON(http.MethodPut, "/api/account/password", c.body)
			if res.Status != c.status || !strings.Contains(res.Body, c.want) {
				t.Errorf("PUT %s: %d %s", c.body, res.Status, res.Body)
			}
		}
		res := b.sendJSON(http.MethodPut, "/api/account/password", `{"current_password":"`+goodPassword+`","new_password":"a brand new passphrase"}`)
		if res.Status != http.StatusNoContent {
			t.Fatalf("PUT: %d %s", res.Status, res.Body)
		}
		if _, ok := b.current(); ok {
			t.Error("session survived")
		}
		if got, err := e.store.GetToken(t.Context(), storage.KindAccessToken, "at"); err == nil && got.Active {
			t.Error("access token survived")
		}
		if res := b.sendJSON(http.MethodGet, "/api/account/profile", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("GET after password change: %d", res.Status)
		}
	})
}

// TestUsernameRace: 8 users claim one preferred_username at once through the API; exactly one
// gets it, the others a 422 with the "taken" message, none a 5xx.
func TestUsernameRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		const n = 8
		var browsers []*browser
		for i := range n {
			b, _ := e.signUp("u"+strconv.Itoa(i)+"@example.com", "U Ser", "192.0.2."+strconv.Itoa(10+i))
			browsers = append(browsers, b)
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i, b := range browsers {
			wg.Go(func() {
				statuses[i] = b.sendJSON(http.MethodPatch, "/api/account/profile", `{"preferred_username":"winner"}`).Status
			})
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusUnprocessableEntity:
			default:
				t.Errorf("status %d", s)
			}
		}
		if ok != 1 {
			t.Errorf("%d winners: %v", ok, statuses)
		}
	})
}

// TestProfilePrivacyBlock: the Profile Privacy block shows the private-profile switch in its
// current state with its explanation and the legend of the three levels; with the private
// profile on, a public field shows as "On request" and says why.
func TestProfilePrivacyBlock(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, _ := e.signUp("priv@example.com", "Pri Vate", "192.0.2.40")
		set := b.post("/profile/privacy/given_name", url.Values{"level": {"public"}})
		if set.Status != http.StatusSeeOther || set.Location != "/profile?field=given_name&notice=privacy#field-given_name" {
			t.Fatalf("set public: %d %q", set.Status, set.Location)
		}
		// Back at the field (an element with that id exists), with a notice naming the change.
		mustContain(t, b.get(set.Location), `id="field-given_name"`, `class="notice toast"`,
			htmlEscape(templates.T("account.notice.privacy", "Given name", "Everyone")))
		// choice returns the given_name summary (the level shown) and its form.
		choice := func(body string) (summary, form string) {
			t.Helper()
			i := strings.Index(body, `action="/profile/privacy/given_name"`)
			if i < 0 {
				t.Fatal("no given_name privacy form")
			}
			j := strings.Index(body[i:], "</details>")
			return body[strings.LastIndex(body[:i], "<details"):i], body[i : i+j]
		}

		res := b.get("/profile")
		mustContain(t, res, `id="privacy"`, "Profile Privacy", `action="/profile/private-profile"`, `name="enabled" value="on"`,
			templates.T("privacy.private_profile.is_off"), htmlEscape(templates.T("privacy.private_profile.text")),
			htmlEscape(templates.T("privacy.level.private.text")), htmlEscape(templates.T("privacy.level.on_request.text")),
			htmlEscape(templates.T("privacy.level.public.text")))
		summary, _ := choice(res.Body)
		if !strings.Contains(summary, "icon-globe") || !strings.Contains(summary, "Everyone") || strings.Contains(summary, "privacy-held") {
			t.Errorf("public given_name, private profile off:\n%s", summary)
		}

		res = b.post("/profile/private-profile", url.Values{"enabled": {"on"}})
		if res.Status != http.StatusSeeOther || res.Location != "/profile?notice=private_profile#privacy" {
			t.Fatalf("turn on: %d %q", res.Status, res.Location)
		}
		res = b.get(res.Location)
		mustContain(t, res, `name="enabled" value="off"`, templates.T("privacy.private_profile.is_on"),
			`class="notice toast"`, htmlEscape(templates.T("account.notice.private_on")))
		summary, form := choice(res.Body)
		if !strings.Contains(summary, "icon-handshake") || !strings.Contains(summary, "On request") ||
			!strings.Contains(summary, htmlEscape(templates.T("account.privacy.held"))) {
			t.Errorf("public given_name, private profile on:\n%s", summary)
		}
		if !strings.Contains(form, `value="public" class="current" aria-current="true"`) {
			t.Errorf("the chosen level is no longer marked:\n%s", form)
		}
		// A field that is on request anyway is not "held".
		if strings.Count(res.Body, `class="privacy-held"`) != 1 {
			t.Errorf("held notes: %d, want 1", strings.Count(res.Body, `class="privacy-held"`))
		}
		api := b.callJSON(http.MethodGet, APIPrefix+"/profile", "")
		if api.Status != http.StatusOK || !strings.Contains(api.Body, `"private_profile":true`) {
			t.Errorf("API: %d %s", api.Status, api.Body)
		}

		if res := b.post("/profile/private-profile", url.Values{"enabled": {"off"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("turn off: %d", res.Status)
		}
		mustContain(t, b.get("/profile"), `name="enabled" value="on"`)
	})
}

// TestSidebarTabs: the sidebar lists the built-in Profile tab, then the tabs sub-packages
// pass in Deps.Tabs, each with its counter; a failing counter leaves its tab without a
// number and the page still works.
func TestSidebarTabs(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var e *env
			e = newEnvWired(t, b, nil, func(h *Handler) {
				h.tabSources = []TabSource{
					{Label: "account.tab.events", URL: "/profile/events", Icon: "list"},
					{Label: "account.favorites", URL: "/profile/sessions-count", Icon: "apps", Count: func(ctx context.Context, userID string) (int, error) {
						return e.store.CountUserSessions(ctx, userID, time.Time{}, e.clock.Now())
					}},
					{Label: "account.close", URL: "/profile/broken", Icon: "alert", Count: func(context.Context, string) (int, error) {
						return 7, errors.New("counter down")
					}},
				}
			})
			br, _ := e.signUp("tabs@example.com", "Tab Bar", "192.0.2.30")
			res := br.get("/profile")
			if res.Status != http.StatusOK {
				t.Fatalf("GET /profile: %d", res.Status)
			}
			mustContain(t, res, `href="/profile" aria-current="page"`, `href="/profile/events">`,
				`href="/profile/sessions-count">`, `<span class="tab-count">1</span>`, `href="/profile/broken">`)
			i := strings.Index(res.Body, `href="/profile/broken">`)
			if j := strings.Index(res.Body[i:], "</a>"); strings.Contains(res.Body[i:i+j], "tab-count") {
				t.Errorf("a failing counter shows a number: %s", res.Body[i:i+j])
			}
		})
	}
}

// TestProfileBlocks: the profile page places the sub-packages' blocks (Deps.Blocks) after its
// own, each action behind its confirmation; a block that cannot be built fails the page
// with a 5xx, never a page quietly missing it.
func TestProfileBlocks(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var fail error
			e := newEnvWired(t, b, nil, func(h *Handler) {
				h.blockSources = []BlockSource{
					func(ctx context.Context, u storage.User) (ActionBlock, bool, error) {
						return ActionBlock{ID: "other-actions", Title: "Other actions", Actions: []Confirmation{{
							ID: "bye-dialog", Title: "Leave?", Consequence: "Everything ends.", Button: "Leave", Action: "/profile/bye", CancelURL: "/profile",
						}}}, true, nil
					},
					func(context.Context, storage.User) (ActionBlock, bool, error) {
						return ActionBlock{ID: "hidden"}, false, fail
					},
				}
			})
			br, _ := e.signUp("blocks@example.com", "Block Party", "192.0.2.31")
			res := br.get("/profile")
			mustContain(t, res, `<article class="account-block" id="other-actions">`, "Other actions",
				`href="/profile/bye" class="action danger" data-confirm="bye-dialog"`, `<dialog id="bye-dialog"`, "Everything ends.")
			if strings.Contains(res.Body, `id="hidden"`) {
				t.Error("a block whose source said no is shown")
			}
			if strings.Index(res.Body, `id="privacy"`) > strings.Index(res.Body, `id="other-actions"`) {
				t.Error("the sub-package's block comes before the page's own")
			}
			fail = errors.New("block source down")
			if res := br.get("/profile"); res.Status != http.StatusInternalServerError {
				t.Errorf("a failing block source: %d, want 500", res.Status)
			}
		})
	}
}

// TestSecurityEntries: a sub-package's entries go inside the Security block, in place of the
// session count, with the viewer's own session handed to the source; a failing source is a
// 500, never a block quietly missing its list.
func TestSecurityEntries(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var (
				fail   error
				viewer SecurityView
			)
			e := newEnvWired(t, b, nil, func(h *Handler) {
				h.securitySources = []SecuritySource{func(ctx context.Context, v SecurityView) (string, []SecurityItem, bool, error) {
					viewer = v
					return "Signed-in devices", []SecurityItem{{Title: "desktop · Firefox", Mark: "This browser", Lines: []string{"Signed in today"},
						Action: &ItemAction{URL: "/profile/sessions/abc/sign-out", Label: "Sign out", AriaLabel: "Sign out the session on desktop"}}}, true, fail
				}}
			})
			br, _ := e.signUp("security@example.com", "Sec Urity", "192.0.2.32")
			res := br.get("/profile")
			security := res.Body[strings.Index(res.Body, `id="security"`):]
			security = security[:strings.Index(security, "</article>")]
			for _, want := range []string{"Signed-in devices", "desktop · Firefox", "<mark>This browser</mark>", "Signed in today",
				`<form method="post" action="/profile/sessions/abc/sign-out">`, `aria-label="Sign out the session on desktop"`} {
				if !strings.Contains(security, want) {
					t.Errorf("the Security block lacks %q:\n%s", want, security)
				}
			}
			if strings.Contains(security, `href="/profile/apps#devices"`) {
				t.Error("the session count row is shown beside the device list")
			}
			if s, ok := br.current(); !ok || viewer.Session.ID != s.ID || viewer.User.ID != s.UserID || viewer.Kit == nil {
				t.Errorf("the source saw session %q user %q, want the viewer's %q", viewer.Session.ID, viewer.User.ID, s.ID)
			}
			fail = errors.New("device list down")
			if res := br.get("/profile"); res.Status != http.StatusInternalServerError {
				t.Errorf("a failing security source: %d, want 500", res.Status)
			}
		})
	}
}

// TestCompletionHints: "Complete your profile" prefills a missing mandatory field with the
// first hint source's suggestion that fits the field (one over its length limit is passed
// over), names the sources it used, stores nothing until saved, and fails with a 5xx when a
// source cannot answer.
func TestCompletionHints(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var fail error
			e := newEnvWired(t, b, nil, func(h *Handler) {
				h.hintSources = []HintSource{
					func(context.Context, storage.User) (Hints, error) {
						return Hints{From: "Long", Values: map[string]string{"family_name": strings.Repeat("x", 101), "given_name": "Unused"}}, fail
					},
					func(context.Context, storage.User) (Hints, error) {
						return Hints{From: "Acme ID", Values: map[string]string{"family_name": "Lovelace"}}, nil
					},
					func(context.Context, storage.User) (Hints, error) {
						return Hints{From: "Late", Values: map[string]string{"family_name": "Other"}}, nil
					},
				}
			})
			br, u := e.signUp("hints@example.com", "Ada Lovelace", "192.0.2.40")
			if err := e.store.DeleteProfileField(t.Context(), u.ID, "family_name"); err != nil {
				t.Fatal(err)
			}
			res := br.get("/profile/complete")
			mustContain(t, res, `name="family_name"`, `value="Lovelace"`, "Filled in from your Acme ID account: check it and save.")
			for _, not := range []string{"Long", "Late", `value="Other"`, `name="given_name"`} {
				if strings.Contains(res.Body, not) {
					t.Errorf("the completion page holds %q:\n%s", not, res.Body)
				}
			}
			if v := e.values(u.ID)["family_name"]; v != "" {
				t.Errorf("family name stored before saving: %q", v)
			}
			fail = errors.New("source down")
			if res := br.get("/profile/complete"); res.Status != http.StatusInternalServerError {
				t.Errorf("a failing hint source: %d", res.Status)
			}
		})
	}
}
