package main

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

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
