package templates

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	xmessage "golang.org/x/text/message"
)

// printers format the catalog's texts: numbers (%d) get the language's digit grouping
// ("12,345", "12 345"). A Printer is safe for concurrent use.
var printers = map[Lang]*xmessage.Printer{
	English: xmessage.NewPrinter(language.English),
	Russian: xmessage.NewPrinter(language.Russian),
}

// sprintf formats s with args in l.
func (l Lang) sprintf(s string, args ...any) string {
	p, ok := printers[l]
	if !ok {
		p = printers[English]
	}
	return p.Sprintf(s, args...)
}

// Number formats n with l's digit grouping: "12,345" in English, "12 345" in Russian.
func (l Lang) Number(n int) string { return l.sprintf("%d", n) }

// Date formats a calendar date in l: "10 December 1990", "10 декабря 1990 г.". It reads the
// date of t as it is; convert t to the reader's zone first.
func (l Lang) Date(t time.Time) string {
	return l.T("date.long", strconv.Itoa(t.Day()), l.T("date.month."+strconv.Itoa(int(t.Month()))), strconv.Itoa(t.Year()))
}

// DateTime formats an instant in its zone (convert it to the reader's first) in l: "2 Jan
// 2006, 15:04:05", "2 янв. 2006, 15:04:05" (the compact form tables use). The page names
// the zone.
func (l Lang) DateTime(t time.Time) string {
	return l.T("date.time", strconv.Itoa(t.Day()), l.T("date.month_short."+strconv.Itoa(int(t.Month()))), strconv.Itoa(t.Year()), t.Format("15:04:05"))
}

// LanguageName names the language of a BCP 47 tag in l, followed by its own name when that
// says something more ("German — Deutsch", "немецкий — Deutsch", "русский (Россия)"); a
// tag that does not parse is returned as it is.
func (l Lang) LanguageName(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	name := display.Tags(l.Tag()).Name(t)
	self := display.Self.Name(t)
	switch {
	case name == "":
		return tag
	case self == "" || strings.Contains(strings.ToLower(name), strings.ToLower(self)):
		return name
	default:
		return name + " — " + self
	}
}
