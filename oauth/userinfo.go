package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/facetid/facet/consent"
)

// handleUserinfo is the UserInfo endpoint (OIDC Core §5.3). The access token comes from the
// Authorization header or, for POST, the form body (RFC 6750 §2.1–2.2) — never the query
// string (RFC 6750 §2.3, §5.3), where it would leak into logs and Referer headers. The claims
// are consent's release over the user's current data, the grant, the token's scopes and the
// claims parameter's userinfo member; consent also keeps the disclosure record.
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Has("access_token") {
		p.bearerError(w, r, http.StatusUnauthorized, "invalid_token", "Send the access token in the Authorization header, not the URL.")
		return
	}
	token, ok := bearerToken(w, r)
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+p.cfg.Issuer+`"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tu, ar, err := p.oauth.IntrospectToken(context.WithValue(ctx, releaseVersionKey{}, true), token, fosite.AccessToken, newSession())
	if fault, ok := serverFault(err); ok {
		// The token may be valid: a resource server told invalid_token would drop it.
		p.logFault(w, r, "userinfo failed", fault, err)
		p.bearerError(w, r, fault.CodeField, fault.ErrorField, fault.DescriptionField)
		return
	}
	if err != nil || tu != fosite.AccessToken {
		p.bearerError(w, r, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
		return
	}
	if !ar.GetGrantedScopes().Has("openid") {
		p.bearerError(w, r, http.StatusForbidden, "insufficient_scope", "The access token was not issued for openid.")
		return
	}
	sess, _ := ar.GetSession().(*Session)
	var (
		cr      consent.ClaimsRequest
		version int64 = -1
	)
	if sess != nil {
		cr = sess.ClaimsRequest
		if sess.hasReleaseVersion {
			version = sess.releaseVersion
		}
	}
	// The user, profile, privacy switch and grant: current data, from the per-node cache when
	// it holds them at the version read with the token.
	claims, _, err := p.consent.UserClaimsAt(ctx, consent.TargetUserinfo, p.cfg.Issuer, ar.GetSession().GetSubject(),
		ar.GetClient().GetID(), ar.GetGrantedScopes(), cr, version)
	if errors.Is(err, consent.ErrUserInactive) {
		p.bearerError(w, r, http.StatusUnauthorized, "invalid_token", "The account is no longer active.")
		return
	}
	if err != nil {
		fault := failure(err)
		p.logFault(w, r, "userinfo claims", fault, err)
		p.bearerError(w, r, fault.CodeField, fault.ErrorField, fault.DescriptionField)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(claims); err != nil {
		// The claims are strings, numbers, booleans and maps: only the client going away
		// fails here.
		p.logger.DebugContext(r.Context(), "write userinfo", "err", err)
	}
}

// bearerToken reads the token from "Authorization: Bearer" or a POSTed form body.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	if r.Method != http.MethodPost {
		return "", false
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return "", false
	}
	return r.PostForm.Get("access_token"), true
}

// bearerError writes an RFC 6750 §3 error.
func (p *Provider) bearerError(w http.ResponseWriter, r *http.Request, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+sanitizeDescription(desc)+`"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": sanitizeDescription(desc)}); err != nil {
		// A map of strings always encodes: only the client going away fails here.
		p.logger.DebugContext(r.Context(), "write userinfo error", "err", err)
	}
}
