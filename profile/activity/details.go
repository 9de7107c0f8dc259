package activity

import (
	"sort"
	"strings"
	"time"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/templates"
)

// An event's details are names, never values (profile.Event): which fields changed, which
// level a field got, which scopes and claims an app received. The Event Log writes them as
// sentences from the message catalog ("events.says.*"), naming fields and scopes in words.

// detailSentences writes details as sentences, in a fixed order: the keys this file knows
// first, then any other key as "Label: value" (its label "events.detail.<key>", else the key).
// lang is the reader's language, loc the zone times are shown in. brief leaves out the scopes, which the event's own page
// lists: a sign-in repeats them every time, and the table stays readable.
func detailSentences(lang templates.Lang, d map[string]string, loc *time.Location, brief bool) []string {
	if len(d) == 0 {
		return nil
	}
	var out []string
	done := map[string]bool{}
	say := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := d[k]; !ok {
				return false
			}
		}
		for _, k := range keys {
			done[k] = true
		}
		return true
	}

	// A privacy level: "Family name: visible to only you".
	if say("field", "level") {
		out = append(out, lang.T("events.says.level", fieldLabel(lang, d["field"]), levelWords(lang, d["level"])))
	}
	if say("private_profile") {
		switch d["private_profile"] {
		case "on":
			out = append(out, lang.T("events.says.private_profile.on"))
		case "off":
			out = append(out, lang.T("events.says.private_profile.off"))
		default:
			done["private_profile"] = false
		}
	}
	if say("fields") {
		out = append(out, lang.T("events.says.fields", names(lang, d["fields"], fieldLabel)))
	}
	if say("method") {
		if key := "events.says.method." + d["method"]; templates.HasMessage(key) {
			out = append(out, lang.T(key))
		} else {
			done["method"] = false
		}
	}
	// App activity (oauth.AppActivity's details).
	for _, k := range []string{"claims", "public", "declined"} {
		if say(k) {
			out = append(out, lang.T("events.says."+k, names(lang, d[k], fieldLabel)))
		}
	}
	if say("scopes") && !brief {
		out = append(out, lang.T("events.says.scopes", names(lang, d["scopes"], scopeWords)))
	}
	if say("auth_time") {
		if at, err := time.Parse(time.RFC3339, d["auth_time"]); err == nil {
			out = append(out, lang.T("events.says.auth_time", lang.DateTime(at.In(loc))))
		} else {
			done["auth_time"] = false
		}
	}

	var rest []string
	for k := range d {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, lang.T("events.says.other", messageOr(lang, "events.detail."+k, k), d[k]))
	}
	return out
}

// names writes a comma-separated list of names in words of lang, in the order given.
func names(lang templates.Lang, list string, word func(templates.Lang, string) string) string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, word(lang, n))
		}
	}
	return strings.Join(out, lang.T("events.says.separator"))
}

// fieldLabel is a profile field's (or claim's) name in words; the key itself when the catalog
// has none.
func fieldLabel(lang templates.Lang, key string) string { return messageOr(lang, "field."+key, key) }

// scopeWords is a scope in words, as the consent page says it.
func scopeWords(lang templates.Lang, scope string) string {
	key, known := consent.ScopeText(scope)
	if !known {
		return lang.T(key, scope)
	}
	return lang.T(key)
}

// levelWords is what a privacy level means for the field, as the end of a sentence; an
// unknown level reads as "only you" (privacy fails closed).
func levelWords(lang templates.Lang, level string) string {
	l, ok := consent.ParseLevel(level)
	if !ok {
		l = consent.LevelPrivate
	}
	switch l {
	case consent.LevelPublic:
		return lang.T("events.says.level.public")
	case consent.LevelOnRequest:
		return lang.T("events.says.level.on_request")
	case consent.LevelPrivate:
		return lang.T("events.says.level.private")
	}
	return lang.T("events.says.level.private")
}
