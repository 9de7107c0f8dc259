package profile

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Routes lists profile's pages and the account JSON API, and returns the two routers the
// sub-packages of the personal account add theirs to: pages, whose requests carry their Origin
// (withOrigin), and api, the account API under APIPrefix, whose handlers only run for an
// authenticated caller (CallerFrom).
func (h *Handler) Routes(root *mux.Router) (pages, api *mux.Router) {
	r := root.NewRoute().Subrouter()
	r.Use(h.withOrigin)

	api = r.PathPrefix(APIPrefix).Subrouter()
	api.Use(h.apiAuth)
	h.accountRoutes(r, api)
	h.privacyRoutes(r, api)
	return r, api
}

// APIPrefix is where the account JSON API lives.
const APIPrefix = "/api/account"

// RestorePath is the page a person signed in to the personal account sees while the account
// waits out its recovery window: it offers Restore account and nothing else.
const RestorePath = "/profile/restore"

// PendingDeletionPath is the page that ends an app's sign-in of an account pending deletion
// (return_to carries the authorization request, which the page lets the person refuse):
// recovery is for the personal account only. oauth.PathPendingDeletion is the same path.
const PendingDeletionPath = "/login/pending-deletion"

// AccountScope is the scope a bearer token needs to call the account API.
const AccountScope = "account"

// TokenVerifier checks a bearer access token (oauth implements it; cmd wires it). It returns
// the token's subject, client and granted scopes, or an error when the token is not active —
// one wrapping storage.ErrUnavailable when that cannot be known because the database is out.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (subject, clientID string, scopes []string, err error)
}

// AuthTimeVerifier is a TokenVerifier that can also tell when the user logged in for the
// grant a token descends from (oauth implements it): the zero time when unknown or the token
// is no longer active, an error only when it cannot answer (storage). Without it, or without
// a recorded login time, bearer calls cannot change contacts: the recent-login rule fails
// closed.
type AuthTimeVerifier interface {
	AccessTokenAuthTime(ctx context.Context, token string) (time.Time, error)
}

// Caller is who calls the account API: the user, and the app when a bearer token was used.
type Caller struct {
	User     storage.User
	Session  storage.Session // zero for bearer calls
	ClientID string          // empty for browser-session calls
	token    string          // the bearer token, for AuthTimeVerifier
}

type callerKey struct{}

// CallerFrom returns the authenticated caller apiAuth put in ctx.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// apiAuth authenticates an account API call by the browser session (cmd's cross-origin
// protection covers it) or by a bearer access token carrying AccountScope. Anything else is
// 401 with a JSON error body.
func (h *Handler) apiAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var c Caller
		if auth := r.Header.Get("Authorization"); auth != "" {
			token, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || h.Tokens == nil {
				WriteAPIError(w, http.StatusUnauthorized, "invalid_token", templates.Tr(ctx, "api.err.bearer_format"))
				return
			}
			sub, clientID, scopes, err := h.Tokens.VerifyAccessToken(ctx, strings.TrimSpace(token))
			if errors.Is(err, storage.ErrUnavailable) {
				// Whether the token is active is unknown: not invalid_token.
				h.APIServerError(w, r, "verify access token", err)
				return
			}
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				WriteAPIError(w, http.StatusUnauthorized, "invalid_token", templates.Tr(ctx, "api.err.token_inactive"))
				return
			}
			if !slices.Contains(scopes, AccountScope) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+AccountScope+`"`)
				WriteAPIError(w, http.StatusForbidden, "insufficient_scope", templates.Tr(ctx, "api.err.scope"))
				return
			}
			u, err := h.Store.GetUser(ctx, sub)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				h.APIServerError(w, r, "get user", err)
				return
			}
			if err != nil || u.Status != storage.UserActive {
				WriteAPIError(w, http.StatusUnauthorized, "invalid_token", templates.Tr(ctx, "api.err.token_user"))
				return
			}
			c = Caller{User: u, ClientID: clientID, token: strings.TrimSpace(token)}
		} else {
			s, ok, err := h.Current(r)
			if err != nil {
				h.APIServerError(w, r, "current session", err)
				return
			}
			if !ok {
				WriteAPIError(w, http.StatusUnauthorized, "login_required", templates.Tr(ctx, "api.err.login_required"))
				return
			}
			u, err := h.Store.GetUser(ctx, s.UserID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				h.APIServerError(w, r, "get user", err)
				return
			}
			if err != nil || u.Status != storage.UserActive {
				WriteAPIError(w, http.StatusUnauthorized, "login_required", templates.Tr(ctx, "api.err.login_again"))
				return
			}
			c = Caller{User: u, Session: s}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callerKey{}, c)))
	})
}

// SignedIn returns the user of r's browser session. Without one it redirects to the login
// page (coming back to this page afterwards) and returns false.
func (h *Handler) SignedIn(w http.ResponseWriter, r *http.Request) (storage.User, storage.Session, bool) {
	s, ok, err := h.Current(r)
	if err != nil {
		h.ServerError(w, r, "current session", err)
		return storage.User{}, storage.Session{}, false
	}
	if ok {
		u, err := h.Store.GetUser(r.Context(), s.UserID)
		switch {
		case err == nil && u.Status == storage.UserActive:
			templates.SetAccount(r.Context(), templates.NewAccount(u.Email))
			return u, s, true
		case err == nil && u.Status == storage.UserPendingDeletion:
			// Signed in to the personal account during the recovery window: the one page
			// there is the restore page (spec "Account Deletion and Recovery").
			http.Redirect(w, r, RestorePath, http.StatusSeeOther)
			return storage.User{}, storage.Session{}, false
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			h.ServerError(w, r, "get user", err)
			return storage.User{}, storage.Session{}, false
		}
	}
	back := r.URL.Path
	if r.Method != http.MethodGet {
		back = "/profile"
	} else if r.URL.RawQuery != "" {
		back += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/login?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
	return storage.User{}, storage.Session{}, false
}

// apiError is the account API's error body.
type apiError struct {
	Error       string            `json:"error"`
	Description string            `json:"error_description,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
}

// WriteJSON writes v as the JSON response body with status. v is encoded before anything is
// sent, so a value that does not encode (a programming error) is logged and answered 500
// instead of a status with half a body; a write that fails (the client went away) is logged
// at debug level, there being nobody left to answer.
func (h *Handler) WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.APIServerError(w, r, "encode JSON response", err)
		return
	}
	writeJSONHeader(w, status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		h.Logger.DebugContext(r.Context(), "write JSON response", "err", err)
	}
}

// WriteAPIErrorFields writes {"error": code, "error_description": text, "fields": {name:
// message}} with status: a refused value, with the message for each field.
func WriteAPIErrorFields(w http.ResponseWriter, status int, code, text string, fields map[string]string) {
	writeAPIError(w, status, apiError{Error: code, Description: text, Fields: fields})
}

// WriteAPIError writes {"error": code, "error_description": text} with status.
func WriteAPIError(w http.ResponseWriter, status int, code, text string) {
	writeAPIError(w, status, apiError{Error: code, Description: text})
}

// writeAPIError writes an error body. An apiError holds strings only, which always encode;
// should that ever change, the fallback body still carries the status. Like net/http's own
// error replies it does not report a failed write: the client went away, and the caller has
// logged what went wrong.
func writeAPIError(w http.ResponseWriter, status int, e apiError) {
	b, err := json.Marshal(e)
	if err != nil {
		b = []byte(`{"error":"server_error"}`)
	}
	writeJSONHeader(w, status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSONHeader sends status with the headers of a JSON answer.
func writeJSONHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// APIServerError logs err with the request id and answers without internals: 503
// temporarily_unavailable with Retry-After when the database is out (the request may be
// retried as is, RFC 9110 §15.6.4), else 500 server_error.
func (h *Handler) APIServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := RequestID(w, r)
	h.Logger.ErrorContext(r.Context(), what, "err", err)
	if errors.Is(err, storage.ErrUnavailable) {
		w.Header().Set("Retry-After", retryAfter)
		WriteAPIError(w, http.StatusServiceUnavailable, "temporarily_unavailable", templates.Tr(r.Context(), "api.err.unavailable", id))
		return
	}
	WriteAPIError(w, http.StatusInternalServerError, "server_error", templates.Tr(r.Context(), "api.err.server", id))
}

// retryAfter is the Retry-After, in seconds, of a 503 for a database outage: about the time
// a database restart or a pool reconnect takes.
const retryAfter = "5"

// DecodeJSON reads a bounded JSON body into v. On failure it has answered (400, 413 or 415)
// and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		WriteAPIError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", templates.Tr(r.Context(), "api.err.json_type"))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteAPIError(w, http.StatusRequestEntityTooLarge, "request_too_large", templates.Tr(r.Context(), "api.err.too_large"))
			return false
		}
		WriteAPIError(w, http.StatusBadRequest, "invalid_request", templates.Tr(r.Context(), "api.err.json_shape"))
		return false
	}
	return true
}
