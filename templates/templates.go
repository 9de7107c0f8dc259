// Package templates owns Facet's HTML pages and static assets, embedded in the binary.
//
// Every page `name.html` defines {{define "title"}} and {{define "content"}} and is rendered
// inside layout.html; a page may set {{define "wide"}}1{{end}} to leave the narrow centred
// card of flow pages. Pages print user-visible text through the message catalog
// ({{T "key"}}, and {{TN "key" count}} for a text depending on a count; see messages.go) and
// link assets through {{static "file"}}, which adds a content hash so assets can be cached
// for a year. Each page is parsed once per language of the catalog, with T bound to it, and
// rendered in the language of the request (LangFrom).
//
// It owns presentation only: handlers in profile and oauth decide what to show.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

// FS holds the pages (*.html) and the static assets (static/).
//
//go:embed *.html apps/*.html lifecycle card/*.html catalog/*.html static
var FS embed.FS

// pageDirs are the folders of Facet pages that a sub-package owns (templates/card/ for
// profile/card, templates/lifecycle/ for profile/lifecycle, templates/catalog/ for
// profile/catalog). Their pages render in the layout like the others.
var pageDirs = []string{"card", "catalog", "lifecycle"}

// layoutFile is the frame every page is rendered in.
const layoutFile = "layout.html"

// StaticPrefix is the URL path StaticHandler is mounted at.
const StaticPrefix = "/static/"

// ErrorPage is the data of error.html: a sentence a person understands (Message), what to do
// next (Next) and a reference id for support (RequestID). Empty Title/Message/Next fall back to
// a text chosen by Status.
type ErrorPage struct {
	Status    int
	Title     string
	Message   string
	Next      string
	RequestID string
}

// Templates is the set of parsed pages, one set per language. It is safe for concurrent use.
type Templates struct {
	pages map[Lang]map[string]*template.Template
}

// New parses every page with layout.html. It fails when a page is missing its title or
// content, does not parse, or cannot be escaped safely, so a bad page stops the server at
// start instead of at the first request.
func New() (*Templates, error) {
	return parse(FS)
}

// parse builds the pages found in fsys (FS in production, a fstest.MapFS in tests), once
// per language.
func parse(fsys fs.FS) (*Templates, error) {
	hashes, err := staticHashes(fsys)
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: make(map[Lang]map[string]*template.Template)}
	for _, l := range Languages() {
		funcs := template.FuncMap{
			"T":      l.translate,
			"TN":     l.translatePlural,
			"static": staticURL(hashes),
			"icon":   icon,
		}
		pages, err := parsePages(fsys, funcs)
		if err != nil {
			return nil, err
		}
		t.pages[l] = pages
	}
	return t, nil
}

// parsePages parses every page with funcs: Facet's pages with the layout and the partials,
// the apps' pages on their own.
func parsePages(fsys fs.FS, funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	// Partials (files named _*.html, e.g. the account sidebar) hold {{define}}s that every page
	// may use; they are not pages themselves.
	partials, err := fs.Glob(fsys, "_*.html")
	if err != nil {
		return nil, fmt.Errorf("list partials: %w", err)
	}
	// A folder of pageDirs holds a sub-package's pages, named "dir/page", and its partials
	// (dir/_*.html), which every page may use too (the profile page places their blocks).
	for _, dir := range pageDirs {
		more, err := fs.Glob(fsys, dir+"/*.html")
		if err != nil {
			return nil, fmt.Errorf("list pages of %s: %w", dir, err)
		}
		for _, f := range more {
			if strings.HasPrefix(path.Base(f), "_") {
				partials = append(partials, f)
			} else {
				names = append(names, f)
			}
		}
	}
	pages := make(map[string]*template.Template)
	for _, file := range names {
		if file == layoutFile || strings.HasPrefix(file, "_") {
			continue
		}
		files := append([]string{layoutFile}, partials...)
		page, err := template.New(layoutFile).Funcs(funcs).ParseFS(fsys, append(files, file)...)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", file, err)
		}
		for _, block := range []string{"title", "content"} {
			if page.Lookup(block) == nil {
				return nil, fmt.Errorf("page %s: no {{define %q}}", file, block)
			}
		}
		if err := checkEscaping(page); err != nil {
			return nil, fmt.Errorf("page %s: %w", file, err)
		}
		pages[strings.TrimSuffix(file, ".html")] = page
	}
	// Pages under apps/ belong to apps built into Facet (the demo relying party): whole
	// documents of their own, parsed without Facet's layout so they do not look like Facet.
	apps, err := fs.Glob(fsys, "apps/*.html")
	if err != nil {
		return nil, fmt.Errorf("list app pages: %w", err)
	}
	for _, file := range apps {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if pages[name] != nil {
			return nil, fmt.Errorf("app page %s: a Facet page has the same name", file)
		}
		page, err := template.New(path.Base(file)).Funcs(funcs).ParseFS(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("parse app page %s: %w", file, err)
		}
		if err := checkEscaping(page); err != nil {
			return nil, fmt.Errorf("app page %s: %w", file, err)
		}
		pages[name] = page
	}
	for _, required := range []string{"error", "home", "login", "register"} {
		if pages[required] == nil {
			return nil, fmt.Errorf("page %s.html is missing", required)
		}
	}
	return pages, nil
}

// checkEscaping runs page once with no data. html/template escapes a template the first time
// it runs, so escaping errors (an ambiguous URL or attribute context) surface now; errors from
// the missing data itself are expected and ignored.
func checkEscaping(page *template.Template) error {
	if err := page.Execute(io.Discard, nil); err != nil {
		var escErr *template.Error
		if errors.As(err, &escErr) {
			return err
		}
	}
	return nil
}

// Pages lists the names of the parsed pages, sorted.
func (t *Templates) Pages() []string {
	names := make([]string, 0, len(t.pages[English]))
	for name := range t.pages[English] {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Fragment renders the {{define}} named name (a partial, e.g. a sub-package's block of the
// profile page) in l, for a page to place as it is.
func (t *Templates) Fragment(l Lang, name string, data any) (template.HTML, error) {
	pages, ok := t.pages[l]
	if !ok {
		pages = t.pages[English]
	}
	page, ok := pages["home"]
	if !ok || page.Lookup(name) == nil {
		return "", fmt.Errorf("render fragment %q: no such template", name)
	}
	var buf bytes.Buffer
	if err := page.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render fragment %q: %w", name, err)
	}
	return template.HTML(buf.String()), nil
}

// Render writes page name ("login" or "login.html") with status, in the language of r's
// context (LangFrom). The page is rendered into a buffer first: when rendering fails the
// client gets a whole 500 error page, never half a page, and the error is returned for the
// caller to log.
func (t *Templates) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	return t.render(w, LangFrom(r.Context()), status, name, Frame{}, data)
}

// RenderFrame is Render with the layout's frame (the header's account menu).
func (t *Templates) RenderFrame(w http.ResponseWriter, r *http.Request, status int, name string, f Frame, data any) error {
	return t.render(w, LangFrom(r.Context()), status, name, f, data)
}

// RenderLang is Render in the language l.
func (t *Templates) RenderLang(w http.ResponseWriter, l Lang, status int, name string, data any) error {
	return t.render(w, l, status, name, Frame{}, data)
}

func (t *Templates) render(w http.ResponseWriter, l Lang, status int, name string, f Frame, data any) error {
	var buf bytes.Buffer
	f.Page = strings.TrimSuffix(name, ".html")
	err := t.execute(&buf, l, name, view{Frame: f, Data: data})
	if err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		if t.execute(&buf, l, "error", view{Frame: f, Data: ErrorPage{Status: status}}) != nil {
			buf.Reset()
			buf.WriteString(fallbackErrorPage)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", l.Tag().String())
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		// Pages carry forms and personal data; nothing in between may keep them.
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if _, werr := w.Write(buf.Bytes()); werr != nil && err == nil {
		err = fmt.Errorf("write page %s: %w", name, werr)
	}
	return err
}

func (t *Templates) execute(w io.Writer, l Lang, name string, data any) error {
	pages, ok := t.pages[l]
	if !ok {
		pages = t.pages[English]
	}
	page, ok := pages[strings.TrimSuffix(name, ".html")]
	if !ok {
		return fmt.Errorf("render page %q: no such page", name)
	}
	if err := page.Execute(w, data); err != nil {
		return fmt.Errorf("render page %q: %w", name, err)
	}
	return nil
}

// fallbackErrorPage is sent when even error.html fails to render.
const fallbackErrorPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Facet</title></head>
<body><main><h1>Something went wrong</h1>
<p>This page could not be shown. Please try again in a moment.</p>
<p><a href="/">Go to the start page</a></p></main></body></html>
`

// staticHashes returns the content hash (first 16 hex digits of SHA-256) of each file under
// static/, keyed by its path below static/.
func staticHashes(fsys fs.FS) (map[string]string, error) {
	hashes := make(map[string]string)
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hashes[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:8])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash static files: %w", err)
	}
	return hashes, nil
}

// staticURL returns the {{static "file"}} function: the file's URL with its content hash.
// An unknown file is an error, so a typo fails the page instead of linking nothing.
func staticURL(hashes map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		h, ok := hashes[name]
		if !ok {
			return "", fmt.Errorf("static file %q does not exist", name)
		}
		return StaticPrefix + name + "?v=" + h, nil
	}
}

// StaticHandler serves the files under static/. Mount it at StaticPrefix ("/static/"), with
// or without http.StripPrefix. A request carrying the file's current content hash (?v=, as
// {{static}} writes it) may be cached for a year; any other request is revalidated.
func StaticHandler() http.Handler {
	hashes, err := staticHashes(FS)
	if err != nil {
		// The files are embedded in the binary; reading them cannot fail at run time
		// unless the binary is corrupt. Serve nothing rather than stale guesses.
		hashes = map[string]string{}
	}
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, StaticPrefix)
		name = strings.TrimPrefix(name, "/")
		h, ok := hashes[name]
		if !ok || name != path.Clean(name) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("ETag", `"`+h+`"`)
		if r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/static/" + name
		u.RawPath = ""
		r2.URL = &u
		files.ServeHTTP(w, r2)
	})
}
