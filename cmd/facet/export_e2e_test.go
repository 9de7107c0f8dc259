package main

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/facetid/facet/oauth/federation"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// exportSchema compiles lifecycle.ExportSchema with formats asserted (date-time, uri).
func exportSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(lifecycle.ExportSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("export.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("export.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExport: Download Data of an account that touches every feature there is (profile
// fields with levels, a verified phone, a pending email change, a photo, the private-profile
// switch, a grant with claims and a decline, the disclosure record, browser sessions with
// the apps signed in through them, the activity log) is valid against the JSON Schema and
// holds each of them; the page and the API answer the same download. A document the schema
// refuses is refused (the test can fail).
func TestExport(t *testing.T) {
	schema := exportSchema(t)
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			s := signUpAndExchange(t, be, "exp@example.com", "Ex Porter")
			f, b := s.f, s.b
			users, err := f.app.store.ListUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sub := users[0].ID
			now := f.app.cfg.Now()
			if err := f.app.store.PutProfileFields(ctx, []storage.ProfileField{{UserID: sub, Field: "phone_number", Value: "+15550109999", Privacy: "on_request", UpdatedAt: now}}); err != nil {
				t.Fatal(err)
			}
			if p := uploadPhoto(t, b, http.MethodPut, "/api/account/photo", noisePNG(t, 64)); p.status != http.StatusOK {
				t.Fatalf("photo: %d %s", p.status, p.body)
			}
			if st, body := apiJSON(t, b, http.MethodPost, "/api/account/email", `{"email":"next@example.com"}`); st != http.StatusAccepted {
				t.Fatalf("email change: %d %s", st, body)
			}
			if st, body := apiJSON(t, b, http.MethodPut, "/api/account/private-profile", `{"enabled":true}`); st != http.StatusOK {
				t.Fatalf("private profile: %d %s", st, body)
			}
			if err := f.app.store.PutClaimDeclines(ctx, sub, s.r.clientID, []string{"birthdate"}, now); err != nil {
				t.Fatal(err)
			}
			if err := f.app.store.RecordDisclosures(ctx, []storage.Disclosure{{UserID: sub, ClientID: s.r.clientID, Claims: []string{"email", "name"}, FirstAt: now, LastAt: now, Count: 2}}); err != nil {
				t.Fatal(err)
			}

			dl := b.get("/profile/export")
			api := b.get("/api/account/export")
			for name, p := range map[string]page{"page": dl, "api": api} {
				if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: %d %s", name, p.status, p.header.Get("Content-Type"))
				}
				disp, params, err := mime.ParseMediaType(p.header.Get("Content-Disposition"))
				if err != nil || disp != "attachment" || !strings.HasSuffix(params["filename"], ".json") {
					t.Errorf("%s Content-Disposition %q", name, p.header.Get("Content-Disposition"))
				}
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(dl.body))
			if err != nil {
				t.Fatalf("export is not JSON: %v\n%s", err, dl.body)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("export against the schema: %v\n%s", err, dl.body)
			}

			var e struct {
				SchemaVersion int `json:"schema_version"`
				Account       struct {
					Sub            string `json:"sub"`
					PrivateProfile bool   `json:"private_profile"`
				} `json:"account"`
				Profile []struct {
					Field, Value, Privacy string
				} `json:"profile"`
				Contacts struct {
					Email struct {
						Value   string
						Pending *struct{ Value string }
					}
					Phone struct {
						Value    string
						Verified bool
					}
				} `json:"contacts"`
				Photo *struct {
					URL    string `json:"url"`
					SHA256 string `json:"sha256"`
				} `json:"photo"`
				Apps []struct {
					ClientID       string   `json:"client_id"`
					Claims         []string `json:"claims"`
					DeclinedClaims []string `json:"declined_claims"`
					ActiveTokens   int      `json:"active_tokens"`
				} `json:"apps"`
				Disclosures     []struct{ Count int } `json:"disclosures"`
				BrowserSessions []struct {
					Apps []struct {
						ClientID string `json:"client_id"`
						SID      string `json:"sid"`
					} `json:"apps"`
				} `json:"browser_sessions"`
				ActivityLog []struct{ Category string } `json:"activity_log"`
			}
			if err := json.Unmarshal([]byte(dl.body), &e); err != nil {
				t.Fatal(err)
			}
			levels := map[string]string{}
			for _, p := range e.Profile {
				levels[p.Field] = p.Value + "|" + p.Privacy
			}
			switch {
			case e.SchemaVersion != 1 || e.Account.Sub != sub || !e.Account.PrivateProfile:
				t.Errorf("account: %+v (version %d)", e.Account, e.SchemaVersion)
			case !strings.HasPrefix(levels["given_name"], "Ex|") || levels["phone_number"] != "+15550109999|on_request":
				t.Errorf("profile levels: %v", levels)
			case e.Contacts.Email.Value != "exp@example.com" || e.Contacts.Email.Pending == nil || e.Contacts.Email.Pending.Value != "next@example.com":
				t.Errorf("email contact: %+v", e.Contacts.Email)
			case !e.Contacts.Phone.Verified || e.Contacts.Phone.Value != "+15550109999":
				t.Errorf("phone contact: %+v", e.Contacts.Phone)
			case e.Photo == nil || len(e.Photo.SHA256) != 64 || !strings.HasPrefix(e.Photo.URL, f.issuer+"/public/images/profile/"):
				t.Errorf("photo: %+v", e.Photo)
			case len(e.Apps) != 1 || e.Apps[0].ClientID != s.r.clientID || len(e.Apps[0].DeclinedClaims) != 1 || e.Apps[0].ActiveTokens == 0:
				t.Errorf("apps: %+v", e.Apps)
			case len(e.Disclosures) == 0:
				t.Errorf("disclosures: %+v", e.Disclosures)
			case len(e.BrowserSessions) != 1 || len(e.BrowserSessions[0].Apps) != 1 || e.BrowserSessions[0].Apps[0].SID == "":
				t.Errorf("browser sessions: %+v", e.BrowserSessions)
			case len(e.ActivityLog) < 3:
				t.Errorf("activity log: %+v", e.ActivityLog)
			}

			// The schema is a real check: a document without its version is refused.
			broken := strings.Replace(dl.body, `"schema_version":1,`, ``, 1)
			inst, err = jsonschema.UnmarshalJSON(strings.NewReader(broken))
			if err != nil {
				t.Fatal(err)
			}
			if schema.Validate(inst) == nil {
				t.Error("the schema admits an export without schema_version")
			}
			if p := newAgent(t, f.issuer).get("/profile/export"); p.url.Path != "/login" {
				t.Errorf("export without a session ends on %s", p.url)
			}
		})
	}
}

// TestExportLinkedData: the export holds what other modules keep about the person — a linked
// identifier with the level chosen for it in the profile, the business card, access to a
// closed app and an invitation addressed to the confirmed email — valid against the schema,
// and none of their secrets (the login method's client secret, the invitation's token hash).
// The schema refuses an identifier that carries a token.
func TestExportLinkedData(t *testing.T) {
	schema := exportSchema(t)
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			s := signUpAndExchange(t, be, "linked@example.com", "Lin Ked")
			f, b := s.f, s.b
			st := f.app.store
			u := userByEmail(t, f, "linked@example.com")
			now := f.app.cfg.Now().UTC().Truncate(time.Second)
			if _, err := st.VerifyEmail(ctx, u.ID, "linked@example.com", now); err != nil {
				t.Fatal(err)
			}
			const upstreamSecret = "upstream-client-secret-never-exported"
			m, err := federation.Create(ctx, st, testSecret, federation.Spec{Preset: "github", Name: "GitHub",
				AuthURL: "https://github.example/authorize", TokenURL: "https://github.example/token", UserinfoURL: "https://github.example/user",
				ClientID: "facet-down", Secret: upstreamSecret, Public: true}, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateIdentifier(ctx, storage.Identifier{ID: "ident-1", UserID: u.ID, MethodID: m.ID, Subject: "4001",
				Email: "octo@github.example", Name: "Octo Cat", Picture: "https://github.example/a.png", LinkedAt: now, LastUsedAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if code, body := apiJSON(t, b, http.MethodPut, "/api/account/privacy/identifier:ident-1", `{"level":"public"}`); code != http.StatusOK {
				t.Fatalf("identifier level: %d %s", code, body)
			}
			if _, err := st.CreateCardIfAbsent(ctx, storage.Card{UserID: u.ID, Identifier: "Lin-Ked", Active: true, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := st.GrantClientAccess(ctx, s.r.clientID, u.ID, now); err != nil {
				t.Fatal(err)
			}
			const tokenHash = "invitation-token-hash-never-exported"
			if err := st.CreateInvitation(ctx, storage.Invitation{ID: "inv-1", ClientID: s.r.clientID, Email: "linked@example.com",
				TokenHash: tokenHash, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateInvitation(ctx, storage.Invitation{ID: "inv-other", ClientID: s.r.clientID, Email: "someone@example.com",
				TokenHash: "other-hash", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}

			p := b.get("/api/account/export")
			if p.status != http.StatusOK {
				t.Fatalf("export: %d %s", p.status, p.body)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(p.body))
			if err != nil {
				t.Fatalf("export is not JSON: %v", err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("export against the schema: %v\n%s", err, p.body)
			}
			for _, secret := range []string{upstreamSecret, tokenHash, "other-hash", "someone@example.com"} {
				if strings.Contains(p.body, secret) {
					t.Errorf("the export holds %q", secret)
				}
			}
			var e struct {
				Identifiers []struct {
					ID, Method, Subject, Email, Name, Privacy string
					MethodID                                  string    `json:"method_id"`
					LinkedAt                                  time.Time `json:"linked_at"`
					LastUsedAt                                time.Time `json:"last_used_at"`
				} `json:"identifiers"`
				BusinessCard *struct {
					Identifier, URL string
					Active          bool
				} `json:"business_card"`
				AppAccess []struct {
					ClientID string `json:"client_id"`
					Name     string
				} `json:"app_access"`
				Invitations []struct {
					ID, State, Email, Name string
					ClientID               string `json:"client_id"`
				} `json:"invitations"`
			}
			if err := json.Unmarshal([]byte(p.body), &e); err != nil {
				t.Fatal(err)
			}
			if len(e.Identifiers) != 1 {
				t.Fatalf("identifiers: %+v", e.Identifiers)
			}
			id := e.Identifiers[0]
			switch {
			case id.ID != "ident-1" || id.MethodID != m.ID || id.Method != "GitHub" || id.Subject != "4001" || id.Email != "octo@github.example" ||
				id.Name != "Octo Cat" || id.Privacy != "public" || !id.LinkedAt.Equal(now) || !id.LastUsedAt.Equal(now.Add(time.Hour)):
				t.Errorf("identifier: %+v", id)
			case e.BusinessCard == nil || e.BusinessCard.Identifier != "Lin-Ked" || !e.BusinessCard.Active || e.BusinessCard.URL != f.issuer+"/api/cards/Lin-Ked":
				t.Errorf("business card: %+v", e.BusinessCard)
			case len(e.AppAccess) != 1 || e.AppAccess[0].ClientID != s.r.clientID || e.AppAccess[0].Name == "":
				t.Errorf("app access: %+v", e.AppAccess)
			case len(e.Invitations) != 1 || e.Invitations[0].ID != "inv-1" || e.Invitations[0].State != "pending" || e.Invitations[0].Name == "":
				t.Errorf("invitations: %+v", e.Invitations)
			}

			// The schema is a real check of what an identifier may hold.
			leaky := strings.Replace(p.body, `"id":"ident-1",`, `"id":"ident-1","access_token":"x",`, 1)
			if leaky == p.body {
				t.Fatal("no identifier to alter")
			}
			if inst, err = jsonschema.UnmarshalJSON(strings.NewReader(leaky)); err != nil {
				t.Fatal(err)
			}
			if schema.Validate(inst) == nil {
				t.Error("the schema admits an identifier with an access token")
			}
			if inst, err = jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(p.body, `"identifiers":`, `"identifiers_gone":`, 1))); err != nil {
				t.Fatal(err)
			}
			if schema.Validate(inst) == nil {
				t.Error("the schema admits an export without identifiers")
			}
		})
	}
}
