package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// logoutField is the confirm button of logout.html.
const logoutField = "facet_logout"

// PathLogoutConfirm receives the user's confirmation from logout.html. Unlike
// PathEndSession it is a browser form endpoint under cross-origin protection (Routes).
const PathLogoutConfirm = PathEndSession + "/confirm"

// logoutPage is the data of logout.html.
type logoutPage struct {
	SignedIn bool   // a session exists: ask to confirm
	Done     bool   // the session was ended
	AppName  string // the app that asked, when known
	Email    string
	Action   string
	Field    string
	Fields   []hiddenField
}

// hintClaims are the parts of an id_token_hint end_session reads.
type hintClaims struct {
	Subject  string
	Audience []string
}

// parseIDTokenHint verifies an ID token Facet issued: RS256 only (the allowlist rejects none,
// HS256 and everything else before any key is looked at), signed by a published key, our
// issuer, a subject and an audience. Expiry is not checked: RP-Initiated Logout 1.0 §2 lets
// an expired ID token serve as the hint.
func (p *Provider) parseIDTokenHint(ctx context.Context, raw string) (hintClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return hintClaims{}, fmt.Errorf("parse id_token_hint: %w", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return hintClaims{}, errors.New("id_token_hint: one signature with a kid expected")
	}
	key, err := p.keys.PublicKey(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return hintClaims{}, fmt.Errorf("id_token_hint: %w", err)
	}
	var c jwt.Claims
	if err := tok.Claims(key, &c); err != nil {
		return hintClaims{}, fmt.Errorf("id_token_hint signature: %w", err)
	}
	if c.Issuer != p.cfg.Issuer {
		return hintClaims{}, errors.New("id_token_hint: wrong issuer")
	}
	if c.Subject == "" || len(c.Audience) == 0 {
		return hintClaims{}, errors.New("id_token_hint: no subject or audience")
	}
	return hintClaims{Subject: c.Subject, Audience: c.Audience}, nil
}

// handleEndSession is the end_session_endpoint (OIDC RP-Initiated Logout 1.0 §2), GET and
// POST. Relying parties send the browser here from their own origin, so a POST is
// cross-site by design and Routes puts this path in the protocol group, without cross-origin
// protection; for the same reason a request here never ends a session on the user's say-so
// alone. It redirects
// only to a post_logout_redirect_uri registered exactly for the client the valid
// id_token_hint was issued to (echoing state); in every other case it asks the user, whose
// confirmation goes to PathLogoutConfirm, a same-origin form endpoint (OIDC RP-Initiated
// Logout §2, §3; cross-origin posts refused as OWASP ASVS 5.0 V3.5 asks).
func (p *Endpoints) handleEndSession(w http.ResponseWriter, r *http.Request) {
	p.endSession(w, r, false)
}

// handleLogoutConfirm receives logout.html's form: the user's own "Sign out" (cmd applies
// cross-origin protection, so another site cannot press it). The form carries the original
// logout parameters, checked again from scratch.
func (p *Endpoints) handleLogoutConfirm(w http.ResponseWriter, r *http.Request) {
	p.endSession(w, r, true)
}

// endSession serves both paths; confirm says the request is the user's confirmation form.
func (p *Endpoints) endSession(w http.ResponseWriter, r *http.Request, confirm bool) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "", "", "")
		return
	}
	form := r.Form
	if confirm && r.PostForm.Get(logoutField) != "yes" {
		p.errorPage(w, r, http.StatusBadRequest, "", "", "")
		return
	}
	var (
		hint     hintClaims
		hintOK   bool
		appName  string
		redirect string
	)
	if raw := form.Get("id_token_hint"); raw != "" {
		h, err := p.parseIDTokenHint(ctx, raw)
		if err != nil {
			p.logger.InfoContext(ctx, "end_session: id_token_hint refused", "err", err)
		} else {
			hint, hintOK = h, true
		}
	}
	clientID := form.Get("client_id")
	if hintOK {
		switch {
		case clientID == "" && len(hint.Audience) == 1:
			clientID = hint.Audience[0]
		case clientID != "" && !slices.Contains(hint.Audience, clientID):
			hintOK = false // the hint was not issued to this client
		}
	}
	known := false // clientID names a registered app
	if clientID != "" {
		if c, err := p.clients.get(ctx, clientID); err == nil {
			known = true
			appName = c.c.Name
			if uri := form.Get("post_logout_redirect_uri"); hintOK && uri != "" && slices.Contains(c.c.PostLogoutRedirectURIs, uri) {
				redirect = uri
			}
		}
	}

	sess, signedIn, err := p.sessions.Current(r)
	if err != nil {
		p.logger.ErrorContext(ctx, "end_session: current session", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "", "", "")
		return
	}
	// Without confirmation, only a valid hint for the signed-in user with a registered
	// redirect ends the session at once.
	silent := redirect != "" && (!signedIn || sess.UserID == hint.Subject)

	if signedIn && !confirm && !silent {
		page := logoutPage{SignedIn: true, AppName: appName, Action: PathLogoutConfirm, Field: logoutField}
		if u, err := p.store.GetUser(ctx, sess.UserID); err == nil {
			page.Email = u.Email
		}
		for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id"} {
			if v := form.Get(k); v != "" {
				page.Fields = append(page.Fields, hiddenField{Name: k, Value: v})
			}
		}
		p.renderLogout(w, r, page)
		return
	}
	if signedIn {
		// The logout is the app's activity when a registered app asked for it.
		asked := ""
		if known {
			asked = clientID
		}
		if err := p.sessions.End(w, r, asked); err != nil {
			p.logger.ErrorContext(ctx, "end_session: end session", "err", err)
			p.errorPage(w, r, http.StatusInternalServerError, "", "", "")
			return
		}
	}
	if redirect != "" {
		u, err := url.Parse(redirect)
		if err == nil {
			if state := form.Get("state"); state != "" {
				q := u.Query()
				q.Set("state", state)
				u.RawQuery = q.Encode()
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	p.renderLogout(w, r, logoutPage{Done: true, AppName: appName})
}

func (p *Provider) renderLogout(w http.ResponseWriter, r *http.Request, page logoutPage) {
	if err := p.templates.Render(w, r, http.StatusOK, "logout", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render logout", "err", err)
	}
}
