package formpost

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/facetid/facet/templates"
)

func TestWrite(t *testing.T) {
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	wr := Writer{Templates: tpl}
	redirect, _ := url.Parse("https://app.example/cb?tenant=1")
	params := url.Values{"code": {"c"}, "state": {`s"<x>`}, "iss": {"https://id.example"}}
	r := httptest.NewRequest("GET", "/oauth2/auth", nil)

	rec := httptest.NewRecorder()
	wr.Write(rec, r, fosite.ResponseModeQuery, redirect, params)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 303 || loc.Query().Get("tenant") != "1" || loc.Query().Get("iss") != "https://id.example" || loc.Fragment != "" {
		t.Errorf("query: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if redirect.RawQuery != "tenant=1" {
		t.Errorf("the redirect URI changed: %s", redirect)
	}

	rec = httptest.NewRecorder()
	wr.Write(rec, r, fosite.ResponseModeFragment, redirect, params)
	loc, _ = url.Parse(rec.Header().Get("Location"))
	if f, _ := url.ParseQuery(loc.Fragment); f.Get("iss") != "https://id.example" || loc.Query().Get("iss") != "" {
		t.Errorf("fragment: iss must be in the fragment only: %s", rec.Header().Get("Location"))
	}

	rec = httptest.NewRecorder()
	wr.Write(rec, r, fosite.ResponseModeFormPost, redirect, params)
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Location") != "" {
		t.Errorf("form_post: %d %v", rec.Code, rec.Header())
	}
	for _, want := range []string{`action="https://app.example/cb?tenant=1"`, `name="iss" value="https://id.example"`,
		`name="state" value="s&#34;&lt;x&gt;"`, `data-autosubmit`, `type="submit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form_post page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "onload") || strings.Contains(body, "<script>") {
		t.Errorf("form_post page has inline script:\n%s", body)
	}
}
