package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestNewAppCatalog: newApp builds one catalog from the configuration and hands it to both
// the account pages and the consent service; a bad key stops newApp; the SMTP password is not
// in the start-up log.
func TestNewAppCatalog(t *testing.T) {
	dbURL := sqltest.Backends(t)[0].NewURL(t)
	var logs syncBuffer
	cfg := config.Config{
		Issuer: "http://127.0.0.1:1", DatabaseURL: dbURL,
		MandatoryFields: []string{"given_name", "nickname"},
		LockedFields:    []string{"family_name"},
		DefaultPrivacy:  map[string]consent.Level{"birthdate": consent.LevelPublic},
		SMTPHost:        "mail.invalid", SMTPUsername: "facet", SMTPPassword: "pw-never-logged",
	}
	a, err := newApp(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Consent decides with the configured catalog too: birthdate is public by default there.
	now := time.Now().UTC()
	if err := a.store.CreateUser(t.Context(), storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if levels, _, err := a.grants.Levels(t.Context(), "u1"); err != nil || levels["birthdate"] != consent.LevelPublic {
		t.Fatalf("consent's birthdate level %q (%v), want public from the configured catalog", levels["birthdate"], err)
	}
	cat := a.prof.Catalog
	if f, _ := cat.Field("nickname"); !f.Mandatory {
		t.Error("nickname is not mandatory")
	}
	if f, _ := cat.Field("family_name"); f.Mandatory || !f.Locked {
		t.Errorf("family_name: mandatory %v locked %v, want not mandatory, locked", f.Mandatory, f.Locked)
	}
	if f, _ := cat.Field("birthdate"); f.DefaultLevel != consent.LevelPublic {
		t.Errorf("birthdate default level %q, want public", f.DefaultLevel)
	}
	if a.prof.Mail == nil || a.phone == nil {
		t.Error("development with smtp_host: want the SMTP mailer and the log SMS sender")
	}
	if !strings.Contains(logs.String(), "mail.invalid") || strings.Contains(logs.String(), "pw-never-logged") {
		t.Errorf("start-up log should name the SMTP host and never the password:\n%s", logs.String())
	}

	cfg.MandatoryFields = []string{"shoe_size"}
	if _, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "shoe_size") {
		t.Errorf("unknown mandatory field: err = %v", err)
	}
}

// TestNewAppProductionWithoutSMTP: production without smtp_host starts, with email and phone
// verification disabled (profile answers 503), and says so in the log.
func TestNewAppProductionWithoutSMTP(t *testing.T) {
	var logs syncBuffer
	cfg := config.Config{Issuer: "https://id.example.com", DatabaseURL: sqltest.Backends(t)[0].NewURL(t), Mode: config.ModeProduction, Secret: testSecret}
	a, err := newApp(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.prof.Mail != nil || a.phone != nil {
		t.Errorf("production without SMTP or SMS: Mail %v, Phone %v; want none", a.prof.Mail, a.phone)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "smtp_host") {
		t.Errorf("want a warning naming smtp_host:\n%s", logs.String())
	}
}
