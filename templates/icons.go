package templates

import (
	"fmt"
	"html/template"
)

// icons are the console's inline SVG icons (24×24, drawn with the text colour). Every icon is
// decorative: {{icon}} marks it aria-hidden, and the words beside it carry the meaning, so
// nothing depends on an emoji font or on the icon alone (WCAG 2.2 SC 1.1.1, 1.4.1).
var icons = map[string]string{
	// privacy levels (UI.md: lock = only you, handshake = on request, globe = everyone)
	"lock":      `<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>`,
	"handshake": `<path d="M2 12l4-5 4 2 2-1.5L15 6l7 6"/><path d="M6 7v6l5 5a1.4 1.4 0 0 0 2-2l-2-2m0 0 3 3a1.4 1.4 0 0 0 2-2l-3-3m0 0 2 2a1.4 1.4 0 0 0 2-2l-4-4-3 2-2-1"/>`,
	"globe":     `<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9c-2.5-2.5-3.8-5.5-3.8-9S9.5 5.5 12 3z"/>`,
	// actions and states
	"edit":    `<path d="M4 20h4L19 9l-4-4L4 16z"/><path d="M13.5 6.5l4 4"/>`,
	"trash":   `<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6"/>`,
	"plus":    `<path d="M12 5v14M5 12h14"/>`,
	"check":   `<path d="M5 12.5l4.5 4.5L19 7"/>`,
	"alert":   `<path d="M12 3.5L22 20H2z"/><path d="M12 10v4.5M12 17.2v.3"/>`,
	"info":    `<circle cx="12" cy="12" r="9"/><path d="M12 11v6M12 7.5v.3"/>`,
	"close":   `<path d="M6 6l12 12M18 6L6 18"/>`,
	"chevron": `<path d="M6 9l6 6 6-6"/>`,
	"back":    `<path d="M19 12H5M11 6l-6 6 6 6"/>`,
	"logout":  `<path d="M10 4H5v16h5M15 8l4 4-4 4M19 12H9"/>`,
	"refresh": `<path d="M20 11a8 8 0 0 0-14.5-4.5L4 8M4 4v4h4M4 13a8 8 0 0 0 14.5 4.5L20 16M20 20v-4h-4"/>`,
	// things
	"qr":       `<rect x="4" y="4" width="6" height="6"/><rect x="14" y="4" width="6" height="6"/><rect x="4" y="14" width="6" height="6"/><path d="M14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2"/>`,
	"copy":     `<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3"/>`,
	"download": `<path d="M12 4v11M7 10l5 5 5-5M5 20h14"/>`,
	"user":     `<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>`,
	"list":     `<path d="M9 6h12M9 12h12M9 18h12M4 6h.5M4 12h.5M4 18h.5"/>`,
	"mail":     `<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3.5 7l8.5 6 8.5-6"/>`,
	"phone":    `<rect x="7" y="2.5" width="10" height="19" rx="2"/><path d="M11 18h2"/>`,
	"camera":   `<path d="M4 7.5h3.5L9.5 5h5l2 2.5H20V19H4z"/><circle cx="12" cy="13" r="3.5"/>`,
	"key":      `<circle cx="8" cy="15" r="4"/><path d="M11 12l8.5-8.5M16.5 6.5l2.5 2.5M14.5 8.5l2 2"/>`,
	"shield":   `<path d="M12 3l8 3v6c0 4.5-3.4 8-8 9-4.6-1-8-4.5-8-9V6z"/>`,
	"apps":     `<rect x="4" y="4" width="6.5" height="6.5" rx="1.5"/><rect x="13.5" y="4" width="6.5" height="6.5" rx="1.5"/><rect x="4" y="13.5" width="6.5" height="6.5" rx="1.5"/><rect x="13.5" y="13.5" width="6.5" height="6.5" rx="1.5"/>`,
	"star":     `<path d="M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.8-5.2 2.8 1-5.8-4.3-4.1 5.9-.9z"/>`,
	"document": `<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>`,
}

// icon is the {{icon "name"}} template function: the named icon as an aria-hidden inline SVG.
// An unknown name is an error, so a typo fails the page (and the tests) instead of drawing
// nothing.
func icon(name string) (template.HTML, error) {
	body, ok := icons[name]
	if !ok {
		return "", fmt.Errorf("icon %q does not exist", name)
	}
	// The markup is a constant of this file; nothing from a request reaches it.
	return template.HTML(`<svg class="icon icon-` + name + `" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">` + body + `</svg>`), nil
}

// IconNames lists the icons, for tests.
func IconNames() []string {
	names := make([]string, 0, len(icons))
	for n := range icons {
		names = append(names, n)
	}
	return names
}
