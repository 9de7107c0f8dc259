package activity

import (
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// TestEventRowRussian: an event shows in the reader's language, its time in their zone.
func TestEventRowRussian(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	e := storage.Event{ID: "e1", Category: "login", At: time.Date(2030, time.January, 2, 3, 2, 0, 0, time.UTC), Device: "desktop",
		Details: map[string]string{"method": "password"}}
	row := newEventRow(templates.Russian, e, moscow)
	if row.Time != "2 янв. 2030, 06:02:00" || row.Header != "Вход" || row.Device != "Компьютер" {
		t.Errorf("row %+v", row)
	}
	if len(row.Details) != 1 || row.Details[0] != templates.Russian.T("events.says.method.password") || row.Details[0] == templates.English.T("events.says.method.password") {
		t.Errorf("details %+v", row.Details)
	}
	app, opts := categoryOptions(templates.Russian, []string{"login", "password_changed", "registration", profile.CategoryAppSignIn}, "login")
	if len(app) != 1 || app[0].Label == "" || app[0].Label == profile.CategoryAppSignIn || app[0].Label == templates.English.T("events.category."+profile.CategoryAppSignIn) {
		t.Errorf("app options %+v", app)
	}
	var labels []string
	for _, o := range opts {
		labels = append(labels, o.Label)
	}
	if len(labels) != 3 || labels[0] != "Вход" || labels[1] != "Пароль изменён" || labels[2] != "Учётная запись создана" || !opts[0].Selected {
		t.Errorf("options %q", labels)
	}
	if en := newEventRow(templates.English, e, time.UTC); en.Time != "2 Jan 2030, 03:02:00" || en.Header != "Signed in" {
		t.Errorf("English row %+v", en)
	}
}
