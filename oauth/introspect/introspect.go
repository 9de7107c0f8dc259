// Package introspect holds the rules of Facet's token introspection (RFC 7662) that are not
// fosite's: who may introspect a token, which client authentication a client may use at
// introspection and revocation, and the response's members.
//
// A client may introspect only the tokens issued to it, or tokens whose audience names its
// client id (the resource server the token was issued for); any other token answers
// {"active": false}, as an unknown one does, so client B learns nothing of A's tokens.
package introspect

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Visible reports whether the client callerID may learn about a token issued to clientID
// with audience aud.
func Visible(callerID, clientID string, aud []string) bool {
	return callerID != "" && (callerID == clientID || slices.Contains(aud, callerID))
}

// Method is the client authentication method a request used: "client_secret_basic" (an
// HTTP Basic Authorization header), "client_secret_post" (client_id and client_secret in
// the body), "none" (client_id only) or "" (no client named at all).
func Method(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "client_secret_basic"
	}
	switch {
	case r.PostForm.Get("client_secret") != "":
		return "client_secret_post"
	case r.PostForm.Get("client_id") != "":
		return "none"
	}
	return ""
}

// MethodAllowed reports whether a client registered with method registered may
// authenticate with used: HTTP Basic works for every confidential client, the secret in the
// body only for clients registered with client_secret_post, and none only for public clients.
func MethodAllowed(registered string, public bool, used string) bool {
	switch used {
	case "client_secret_basic":
		return !public
	case "client_secret_post":
		return !public && registered == "client_secret_post"
	case "none":
		return public
	}
	return false
}

// Challenge sets WWW-Authenticate on a 401 invalid_client answered to a request that
// authenticated with HTTP Basic (RFC 6749 §5.2).
func Challenge(w http.ResponseWriter, r *http.Request, realm string) {
	if _, _, ok := r.BasicAuth(); ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	}
}

// Response is an introspection response (RFC 7662 §2.2). Extra holds extension members
// (the claims consent releases); they never replace a standard member.
type Response struct {
	Active    bool
	Issuer    string
	ClientID  string
	Subject   string
	Scope     string
	Audience  []string
	TokenType string // "Bearer" for access tokens, empty (omitted) for refresh tokens
	Expires   time.Time
	IssuedAt  time.Time
	Extra     map[string]any
}

// Write writes resp as JSON, uncached.
func Write(w http.ResponseWriter, resp Response) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if !resp.Active {
		_, _ = w.Write([]byte(`{"active":false}` + "\n"))
		return
	}
	out := make(map[string]any, 10+len(resp.Extra))
	for k, v := range resp.Extra {
		out[k] = v
	}
	out["active"] = true
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	set("iss", resp.Issuer)
	set("client_id", resp.ClientID)
	set("sub", resp.Subject)
	set("scope", resp.Scope)
	set("token_type", resp.TokenType)
	delete(out, "aud")
	if len(resp.Audience) > 0 {
		out["aud"] = resp.Audience
	}
	delete(out, "exp")
	if !resp.Expires.IsZero() {
		out["exp"] = resp.Expires.Unix()
	}
	delete(out, "iat")
	if !resp.IssuedAt.IsZero() {
		out["iat"] = resp.IssuedAt.Unix()
	}
	delete(out, "username")
	_ = json.NewEncoder(w).Encode(out)
}
