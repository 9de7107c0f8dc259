package oauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/facetid/facet/storage"
)

// A failure on Facet's side — the database unreachable, read-only or full — is not an answer
// about the client or the token. fosite wraps whatever a client or token lookup returns into
// invalid_client, request_unauthorized (introspection: "active": false) or a 401, so
// without care an outage tells every relying party that its secret and every resource server
// that its tokens are invalid. The store therefore turns every storage error other than
// "not found" and "conflict" into temporarily_unavailable (or server_error) in the chain
// fosite wraps, and each endpoint looks for that in the whole chain before it writes fosite's
// outer error: RFC 6749 §5.2 and §4.1.2.1 name temporarily_unavailable, answered 503 with
// Retry-After (RFC 9110 §15.6.4, §10.2.3).

// retryAfter is the Retry-After, in seconds, of a temporarily_unavailable answer: about the
// time a database restart or a pool reconnect takes.
const retryAfter = "5"

// serverFault returns the error an endpoint answers when err's chain holds a failure on
// Facet's side: temporarily_unavailable for a storage outage, server_error for anything else
// that is not the client's doing (including errors fosite does not recognise, which it would
// answer as {"error": "error"}). ok is false when err is about the request.
func serverFault(err error) (fault *fosite.RFC6749Error, ok bool) {
	switch {
	case err == nil:
		return nil, false
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, fosite.ErrTemporarilyUnavailable):
		return fosite.ErrTemporarilyUnavailable, true
	case errors.Is(err, fosite.ErrServerError):
		return fosite.ErrServerError, true
	}
	var rfc *fosite.RFC6749Error
	if !errors.As(err, &rfc) || rfc.CodeField >= http.StatusInternalServerError {
		return fosite.ErrServerError, true
	}
	return nil, false
}

// failure is the fault to answer for an error of our own (not fosite's) that is not about
// the request: temporarily_unavailable for a storage outage, server_error otherwise.
func failure(err error) *fosite.RFC6749Error {
	if errors.Is(err, storage.ErrUnavailable) {
		return fosite.ErrTemporarilyUnavailable
	}
	return fosite.ErrServerError
}

// rootCause unwraps fosite's error wrappers down to the error that started it (the storage
// error with its driver message), for the log: an RFC6749Error's Error() is only its name.
func rootCause(err error) error {
	for range 16 {
		var rfc *fosite.RFC6749Error
		if !errors.As(err, &rfc) || rfc.Cause() == nil || rfc.Cause() == error(rfc) {
			return err
		}
		err = rfc.Cause()
	}
	return err
}

// faultsKey is the ctx key of a *faults.
type faultsKey struct{}

// faults keeps the storage failures the store met while serving one request, for a log line
// that must name its cause where fosite drops it: its revocation handler answers a failed
// token lookup with a bare temporarily_unavailable.
type faults struct{ errs []error }

// withFaults returns a ctx in which the store records its failures.
func withFaults(ctx context.Context) (context.Context, *faults) {
	f := &faults{}
	return context.WithValue(ctx, faultsKey{}, f), f
}

// noteFault records err in ctx's faults when it is a failure on our side, and returns it.
func noteFault(ctx context.Context, err error) error {
	if f, ok := ctx.Value(faultsKey{}).(*faults); ok {
		if _, fault := serverFault(err); fault {
			f.errs = append(f.errs, rootCause(err))
		}
	}
	return err
}

// logFault logs a server fault at ERROR with its cause and sets Retry-After when the fault is
// temporary. what names the endpoint; noted are the store's failures when fosite dropped them.
func (p *Provider) logFault(w http.ResponseWriter, r *http.Request, what string, fault *fosite.RFC6749Error, err error, noted ...error) {
	if fault.ErrorField == fosite.ErrTemporarilyUnavailable.ErrorField {
		w.Header().Set("Retry-After", retryAfter)
	}
	cause := rootCause(err)
	if len(noted) > 0 {
		cause = errors.Join(noted...)
	}
	p.logger.ErrorContext(r.Context(), what, "error", fault.ErrorField, "cause", cause)
}

// writeFault answers a server fault at an OAuth2 endpoint whose errors are RFC 6749 §5.2
// JSON (token, revocation, introspection).
func (p *Provider) writeFault(w http.ResponseWriter, r *http.Request, what string, fault *fosite.RFC6749Error, err error, noted ...error) {
	p.logFault(w, r, what, fault, err, noted...)
	p.oauth.WriteAccessError(r.Context(), w, nil, sanitize(fault))
}
