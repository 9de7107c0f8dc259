package profile

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestProfileEditPickers: language and time zone are <select>s; a stored value outside the
// lists stays selected; the server still refuses what is not a tag or a zone.
func TestProfileEditPickers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		b, u := e.signUp("pick@example.com", "Pat Picker", "192.0.2.42")
		form := b.get("/profile/edit?block=additional")
		mustContain(t, form, `<select id="f-locale" name="locale" autocomplete="language">`, `<option value="" selected>—</option>`,
			`<option value="ru">Russian — русский</option>`, `<option value="de-CH">Swiss High German — Schweizer Hochdeutsch</option>`,
			`<select id="f-zoneinfo" name="zoneinfo"`, `<option value="UTC">UTC</option>`, `<optgroup label="Europe">`,
			`<option value="Europe/Paris">Paris</option>`, `<option value="America/Argentina/Buenos_Aires">Argentina/Buenos Aires</option>`)
		if strings.Contains(form.Body, `id="f-locale" name="locale" type="text"`) {
			t.Error("language is still a text input")
		}

		res := b.post("/profile/edit", url.Values{"block": {"additional"}, "locale": {"ru"}, "zoneinfo": {"Europe/Moscow"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", res.Status, res.Body)
		}
		if v := e.values(u.ID); v["locale"] != "ru" || v["zoneinfo"] != "Europe/Moscow" {
			t.Fatalf("stored %v", v)
		}
		// The stored values are selected.
		form = b.get("/profile/edit?block=additional")
		mustContain(t, form, `<option value="ru" selected>`, `<option value="Europe/Moscow" selected>Moscow</option>`)

		// Values valid but outside the lists (stored through the API, say) stay selected.
		must(t, e.store.PutProfileValues(t.Context(), u.ID, map[string]string{"locale": "gsw", "zoneinfo": "US/Eastern"}, e.clock.Now()))
		form = b.get("/profile/edit?block=additional")
		mustContain(t, form, `<option value="gsw" selected>Swiss German — Schwiizertüütsch</option>`, `<option value="US/Eastern" selected>US/Eastern</option>`)

		for _, c := range []struct{ field, value, msg string }{
			{"locale", "no such locale", "Enter a language tag"},
			{"zoneinfo", "Mars/Base", "Enter a time zone name"},
		} {
			res := b.post("/profile/edit", url.Values{"block": {"additional"}, c.field: {c.value}})
			mustContain(t, res, c.msg, `<option value="`+c.value+`" selected>`)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s %q: %d", c.field, c.value, res.Status)
			}
		}
		if v := e.values(u.ID); v["locale"] != "gsw" || v["zoneinfo"] != "US/Eastern" {
			t.Errorf("refused values changed the profile: %v", v)
		}
	})
}
