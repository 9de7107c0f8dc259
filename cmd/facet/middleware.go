package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/facetid/facet/templates"
)

// maxBodyBytes bounds every request body except those of the routes that name a larger limit
// of their own (photo uploads: see observe's bodyLimit).
const maxBodyBytes = 1 << 20

// contentSecurityPolicy is sent with every browser page. There is no form-action directive on
// purpose: the consent and login forms post to us and we answer with a redirect to the
// client's redirect URI, and browsers apply form-action to that redirect too.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

type ctxKey int

const requestInfoKey ctxKey = iota

// requestInfo travels in a request's context: the outer middleware creates it, the router
// fills in the matched route template, and the access log and metrics read it afterwards.
type requestInfo struct {
	id    string
	route string
}

// requestIDFrom returns the request id carried by ctx, or "".
func requestIDFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// httpMetrics are the per-route request metrics, registered on the app's own registry. Labels
// stay few: routes are templates, methods are the router's few, and an unmatched path counts
// as "unmatched".
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// observe records one request. Keeping the children looked up would save ≈ 0.1 µs a request
// (BenchmarkHTTPMetrics), about 0.1 % of a userinfo or introspection request, so nothing
// caches them.
func (m *httpMetrics) observe(route, method string, code int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "facet_http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "facet_http_request_duration_seconds",
			Help:    "HTTP request duration by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

// observe wraps the whole router: request id, panic recovery, body limit, access log and
// metrics. It is the outermost layer so a panic anywhere still gets a 500 and a log line.
// bodyLimit names the body limit of the few routes that take more than maxBodyBytes (it
// answers false for every other request); nil keeps maxBodyBytes for all. Handlers still
// set their own tighter limit before reading: this one only keeps any body bounded.
func observe(next http.Handler, logger *slog.Logger, m *httpMetrics, t *templates.Templates, bodyLimit func(*http.Request) (int64, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for the request's bookkeeping.
		st := &observed{info: requestInfo{id: newRequestID(), route: "unmatched"}, rec: statusRecorder{ResponseWriter: w}}
		info, rec := &st.info, &st.rec
		ctx := context.WithValue(r.Context(), requestInfoKey, info)
		r = r.WithContext(ctx)
		w.Header()["X-Request-Id"] = []string{info.id}
		limit := int64(maxBodyBytes)
		if bodyLimit != nil {
			if n, ok := bodyLimit(r); ok {
				limit = n
			}
		}
		r.Body = http.MaxBytesReader(rec, r.Body, limit)

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(ctx, "panic serving request", "panic", fmt.Sprint(p), "route", info.route, "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					writeError(rec, r, t, logger, templates.ErrorPage{Status: http.StatusInternalServerError})
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.observe(info.route, r.Method, status, elapsed)
			// Never the query string: it carries codes, states and sometimes tokens.
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(ctx, level, "http request",
				slog.String("method", r.Method),
				slog.String("route", info.route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", elapsed),
			)
		}()
		next.ServeHTTP(rec, r)
	})
}

// observed is what observe keeps per request.
type observed struct {
	info requestInfo
	rec  statusRecorder
}

// newRequestID returns 128 random bits as 32 hex digits.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// routeName is a mux middleware (it runs after matching) recording the route template for
// the access log and the metrics, whose labels must stay few.
func routeName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(requestInfoKey).(*requestInfo); ok {
			if route := mux.CurrentRoute(r); route != nil {
				if tmpl, err := route.GetPathTemplate(); err == nil {
					info.route = tmpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// browserPages is the middleware of the browser group: the pages a person's browser loads
// with the session cookie. Every response gets the page headers (setBrowserHeaders); an
// unsafe cross-origin request is refused with 403 by http.CrossOriginProtection, which reads
// Sec-Fetch-Site and Origin (OWASP's CSRF defence by standard headers, with the SameSite=Lax
// cookie as the second layer); and text the database cannot hold is refused before any
// handler runs (validText). It is built once and returns a wrapper per matched route.
func browserPages(logger *slog.Logger, t *templates.Templates) mux.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setBrowserHeaders(w.Header())
			if err := cop.Check(r); err != nil {
				logger.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path)
				writeError(w, r, t, logger, templates.ErrorPage{
					Status:  http.StatusForbidden,
					Title:   templates.Tr(r.Context(), "crossorigin.title"),
					Message: templates.Tr(r.Context(), "crossorigin.message"),
					Next:    templates.Tr(r.Context(), "crossorigin.next"),
				})
				return
			}
			if !validText(w, r, logger, t) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// protocolEndpoints is the middleware of the protocol group: the endpoints other sites and
// programs call by design (token, revocation, introspection, userinfo, discovery, JWKS,
// authorization, end_session) and the machine endpoints (health, static files). They take no
// cross-origin protection, and their JSON keeps its own headers, but any HTML page they answer
// with (the consent page shown by /oauth2/auth, an error page) still gets the page headers, so
// it cannot be framed to clickjack its buttons. The OAuth endpoints check their own input
// text, because they answer with OAuth2 errors.
func protocolEndpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&htmlHeaders{ResponseWriter: w}, r)
	})
}

// pageLanguage applies lang (the middleware choosing a page's language) to the requests for
// paths, and passes every other request on untouched: the protocol endpoints that answer
// machines need no language.
func pageLanguage(lang mux.MiddlewareFunc, paths ...string) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		withLang := lang(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range paths {
				if r.URL.Path == p {
					withLang.ServeHTTP(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// setBrowserHeaders sets the headers every page a browser renders carries. X-Frame-Options
// repeats frame-ancestors 'none' for browsers that predate CSP Level 2 (RFC 7034; OWASP's
// clickjacking defence sends both, and CSP wins where it is understood).
func setBrowserHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// htmlHeaders adds the browser headers to a response when, at the moment its header is
// written, its Content-Type is HTML.
type htmlHeaders struct {
	http.ResponseWriter
	wrote bool
}

func (w *htmlHeaders) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		h := w.Header()
		if ct := h.Get("Content-Type"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/html") {
			setBrowserHeaders(h)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *htmlHeaders) Write(b []byte) (int, error) {
	if !w.wrote {
		if w.Header().Get("Content-Type") == "" {
			// What net/http will sniff; an HTML body must not escape the headers that way.
			w.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *htmlHeaders) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// strictTransport tells browsers to use https only (RFC 6797); added when the issuer is https.
func strictTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// writeError answers with a page a person understands (browsers) or a small JSON body
// (everything else); never an internal error message. Empty Title, Message and Next in page
// take the message catalog's text for page.Status.
func writeError(w http.ResponseWriter, r *http.Request, t *templates.Templates, logger *slog.Logger, page templates.ErrorPage) {
	page.RequestID = requestIDFrom(r.Context())
	if t != nil && strings.Contains(r.Header.Get("Accept"), "text/html") {
		if err := t.Render(w, r, page.Status, "error", page); err != nil {
			logger.ErrorContext(r.Context(), "render error page", "err", err)
		}
		return
	}
	code := strings.ReplaceAll(strings.ToLower(http.StatusText(page.Status)), " ", "_")
	msg := page.Message
	if msg == "" && t != nil {
		msg = page.TextIn(templates.LangFrom(r.Context()))
	}
	writeJSON(w, r, logger, page.Status, map[string]string{"error": code, "error_description": msg, "request_id": page.RequestID})
}

// writeJSON writes v as the JSON body of a response with status. Nothing cmd answers in
// JSON (errors, health) may be stored by a cache. An encoding error means the client went
// away; it is logged at debug level, as there is no one left to tell.
func writeJSON(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger.DebugContext(r.Context(), "write response", "err", err)
	}
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status = code
		s.wroteHeader = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
