package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

// Scopes the bench client holds and the user flows ask for.
const (
	clientScopes = "openid profile email phone address offline_access"
	userScopes   = "openid profile email phone address offline_access"
	benchPass    = "bench correct horse battery"
)

// env is what the scenarios share: the nodes, the client, the users.
type env struct {
	lb       *balancer
	issuer   *url.URL
	api      *http.Client // keep-alive client for the protocol endpoints
	ips      *sourceIPs
	clientID string
	secret   string
	users    []string // emails of users with the bench password, already consented once
	uiEmail  string   // the user with a populated profile (userinfo)

	profileSource string
	profileFields int
	userinfoKeys  int

	clusterEnv []string
	facetBin   string
}

func newEnv(o options) *env {
	return &env{
		lb:  &balancer{targets: o.targets},
		ips: newSourceIPs(),
		api: &http.Client{Transport: newTransport(o.concurrency, nil), Timeout: requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

func (e *env) prepare(ctx context.Context, o options, log io.Writer) error {
	if err := e.discover(ctx); err != nil {
		return err
	}
	if err := e.registerClient(ctx, o, log); err != nil {
		return err
	}
	needUsers := false
	for _, s := range o.scenarios {
		switch s {
		case "refresh", "introspect", "userinfo", "authcode":
			needUsers = true
		}
	}
	if !needUsers {
		return nil
	}
	run := rand.Text()[:8]
	for i := range o.users {
		email := fmt.Sprintf("bench-%s-%d@example.com", run, i)
		if _, err := e.register(ctx, email, "Bench User"); err != nil {
			return fmt.Errorf("register %s: %w", email, err)
		}
		e.users = append(e.users, email)
	}
	e.uiEmail = fmt.Sprintf("bench-%s-profile@example.com", run)
	b, err := e.register(ctx, e.uiEmail, "Ada Lovelace")
	if err != nil {
		return fmt.Errorf("register profile user: %w", err)
	}
	defer b.close()
	return e.fillProfile(ctx, o, b)
}

// discover reads the issuer from the first node's discovery document.
func (e *env) discover(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.lb.targets[0]+pathDiscovery, nil)
	if err != nil {
		return err
	}
	resp, err := e.api.Do(req)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if e.issuer, err = url.Parse(doc.Issuer); err != nil || e.issuer.Host == "" {
		return fmt.Errorf("discovery: bad issuer %q", doc.Issuer)
	}
	return nil
}

// registerClient runs `facet clients create --json` against the servers' database, or takes
// the client given on the command line.
func (e *env) registerClient(ctx context.Context, o options, log io.Writer) error {
	if o.clientID != "" {
		e.clientID, e.secret = o.clientID, o.clientSecret
		return nil
	}
	bin := o.facetBin
	if bin == "" {
		bin = e.facetBin
	}
	if bin == "" {
		tmp, err := os.MkdirTemp("", "facet-bench-cli-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin = filepath.Join(tmp, "facet")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/facetid/facet/cmd/facet")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/facet (or give --facet-bin): %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, bin, "clients", "create", "--json",
		"--name", "facet-bench", "--redirect-uri", redirectURI,
		"--grant-type", "authorization_code,refresh_token,client_credentials", "--scope", clientScopes)
	cmd.Env = append(os.Environ(), e.clusterEnv...)
	if len(e.clusterEnv) == 0 {
		cmd.Env = append(cmd.Env, "FACET_DATABASE_URL="+o.databaseURL)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("facet clients create: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.ID == "" || c.Secret == "" {
		return fmt.Errorf("facet clients create: unexpected output %q", out.String())
	}
	e.clientID, e.secret = c.ID, c.Secret
	return nil
}

// register signs a new user up through the registration form and returns the signed-in
// browser.
func (e *env) register(ctx context.Context, email, name string) (*browser, error) {
	b, err := newBrowser(e.lb, e.issuer, e.ips)
	if err != nil {
		return nil, err
	}
	p, err := b.get(ctx, "/register")
	if err != nil {
		return nil, err
	}
	f, err := findForm(p.body, "/register")
	if err != nil {
		return nil, fmt.Errorf("register page (status %d): %w", p.status, err)
	}
	f.values.Set("email", email)
	f.values.Set("password", benchPass)
	f.values.Set("confirm", benchPass)
	f.values.Set("name", name)
	p, err = b.post(ctx, f.action, f.values)
	if err != nil {
		return nil, err
	}
	if p.status != http.StatusOK || strings.Contains(p.body, `action="/register"`) {
		return nil, fmt.Errorf("registration refused (status %d)", p.status)
	}
	return b, nil
}

// authRequest is one authorization request of the bench client.
type authRequest struct {
	url, state, verifier string
}

func newAuthRequest(clientID string, prompt string) authRequest {
	ar := authRequest{state: rand.Text(), verifier: rand.Text() + rand.Text()}
	sum := sha256.Sum256([]byte(ar.verifier))
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {userScopes}, "state": {ar.state}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	ar.url = pathAuth + "?" + q.Encode()
	return ar
}

// authorize runs an authorization request in a signed-in browser, allowing the consent page
// when it appears, and returns the code.
func (e *env) authorize(ctx context.Context, b *browser, ar authRequest, p page) (string, error) {
	if p.location == "" && p.status == http.StatusOK {
		f, err := findForm(p.body, "/oauth2/consent")
		if err != nil {
			return "", fmt.Errorf("expected the consent page (status %d): %w", p.status, err)
		}
		name, ok := f.button["allow"]
		if !ok {
			return "", errors.New("consent page has no allow button")
		}
		f.values.Set(name, "allow")
		if p, err = b.post(ctx, f.action, f.values); err != nil {
			return "", err
		}
	}
	if !strings.HasPrefix(p.location, redirectURI) {
		return "", fmt.Errorf("expected a redirect to the client, got status %d location %q", p.status, p.location)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("state") != ar.state {
		return "", errors.New("state mismatch")
	}
	if q.Get("error") != "" {
		return "", fmt.Errorf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code"), nil
}

// tokens are a token response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// exchange redeems a code at the token endpoint.
func (e *env) exchange(ctx context.Context, code, verifier string) (tokens, error) {
	return e.tokenRequest(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
	})
}

func (e *env) tokenRequest(ctx context.Context, form url.Values) (tokens, error) {
	var t tokens
	status, body, err := e.post(ctx, pathToken, form)
	if err != nil {
		return t, err
	}
	if status != http.StatusOK {
		return t, fmt.Errorf("token endpoint: status %d: %.200s", status, body)
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return t, fmt.Errorf("token response: %w", err)
	}
	return t, nil
}

// post sends a client-authenticated form to a protocol endpoint.
func (e *env) post(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.lb.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.secret))
	return e.send(req)
}

func (e *env) send(req *http.Request) (int, []byte, error) {
	resp, err := e.api.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, body, err
}

// userTokens logs email in with a fresh browser (one password check), consents, and returns
// tokens. Later calls with the returned browser need no password.
func (e *env) login(ctx context.Context, email, prompt string) (*browser, tokens, error) {
	b, err := newBrowser(e.lb, e.issuer, e.ips)
	if err != nil {
		return nil, tokens{}, err
	}
	ar := newAuthRequest(e.clientID, prompt)
	p, err := b.get(ctx, ar.url)
	if err != nil {
		b.close()
		return nil, tokens{}, err
	}
	f, err := findForm(p.body, "/login")
	if err != nil {
		b.close()
		return nil, tokens{}, fmt.Errorf("expected the login page (status %d): %w", p.status, err)
	}
	f.values.Set("email", email)
	f.values.Set("password", benchPass)
	if p, err = b.post(ctx, f.action, f.values); err != nil {
		b.close()
		return nil, tokens{}, err
	}
	t, err := e.finish(ctx, b, ar, p)
	if err != nil {
		b.close()
		return nil, tokens{}, err
	}
	return b, t, nil
}

// finish completes an authorization (consent if shown) and redeems the code.
func (e *env) finish(ctx context.Context, b *browser, ar authRequest, p page) (tokens, error) {
	code, err := e.authorize(ctx, b, ar, p)
	if err != nil {
		return tokens{}, err
	}
	return e.exchange(ctx, code, ar.verifier)
}

// again runs one more authorization in a signed-in browser (no password) and redeems it.
func (e *env) again(ctx context.Context, b *browser) (tokens, error) {
	ar := newAuthRequest(e.clientID, "")
	p, err := b.get(ctx, ar.url)
	if err != nil {
		return tokens{}, err
	}
	return e.finish(ctx, b, ar, p)
}

// profileValues are the userinfo user's fields: every key of the field catalog (contract:
// catalog keys = OIDC claim names) and the other claims consent.Release reads, 20 in all,
// with privacy levels cycling public → on_request → private. The values must pass the
// account API's validation (a birthdate from 1900 on, ...): one invalid value and PATCH saves
// nothing.
var profileValues = []fieldValue{
	{"given_name", "Ada"}, {"family_name", "Lovelace"}, {"middle_name", "Augusta"},
	{"nickname", "ada"}, {"preferred_username", "ada.lovelace"}, {"birthdate", "1985-12-10"},
	{"gender", "female"}, {"locale", "en-GB"}, {"zoneinfo", "Europe/London"},
	{"website", "https://example.com/ada"},
	{"address", `{"street_address":"12 St James's Square","locality":"London","region":"","postal_code":"SW1Y 4JH","country":"GB"}`},
	{"picture", "/public/images/profile/bench"}, {"phone_number", "+442071234567"}, {"email", ""},
	{"name", "Ada Lovelace"}, {"profile", "https://example.com/ada/profile"}, {"phone_number_verified", "true"},
	{"organization", "Analytical Engines Ltd"}, {"job_title", "Programmer"}, {"about", "First programmer."},
}

type fieldValue struct{ key, value string }

// indexOf is key's position in profileValues (its privacy level follows from it).
func indexOf(key string) int {
	for i, f := range profileValues {
		if f.key == key {
			return i
		}
	}
	return 0
}

func level(i int) string { return []string{"public", "on_request", "private"}[i%3] }

// fillProfile gives the userinfo user 20 fields with mixed privacy levels and a grant.
// It uses the account API (PATCH /api/account/profile, PUT /api/account/privacy/{field})
// when the server has it, and otherwise writes the rows into the database directly.
func (e *env) fillProfile(ctx context.Context, o options, b *browser) error {
	// The grant: the consent page allows every claim the scopes ask for.
	t, err := e.again(ctx, b)
	if err != nil {
		return fmt.Errorf("first authorization: %w", err)
	}
	sub, _, err := e.userinfo(ctx, t.AccessToken)
	if err != nil {
		return err
	}
	if n, rest, ok := e.fillThroughAPI(ctx, b); ok {
		e.profileSource, e.profileFields = fmt.Sprintf("account API (%d fields)", n), n
		if len(rest) > 0 && o.databaseURL != "" {
			// Claims consent.Release reads that are not fields of the server's catalog (the
			// API refuses them): straight into the database, as before.
			if err := fillThroughDatabase(ctx, o.databaseURL, sub, rest); err != nil {
				return err
			}
			e.profileSource = fmt.Sprintf("account API (%d fields) + database (%d claims outside the catalog)", n, len(rest))
			e.profileFields = n + len(rest)
		}
	} else if o.databaseURL != "" {
		if err := fillThroughDatabase(ctx, o.databaseURL, sub, profileValues); err != nil {
			return err
		}
		e.profileSource, e.profileFields = "database (the account API is not available on this server)", len(profileValues)
	} else {
		e.profileSource, e.profileFields = "registration only (no account API, no --database-url)", 2
	}
	_, n, err := e.userinfo(ctx, t.AccessToken)
	e.userinfoKeys = n
	return err
}

// fillThroughAPI sets, through the account API, every value of profileValues that is a
// field of the server's catalog (the keys GET /api/account/profile lists; PATCH refuses any
// other key and then saves nothing), and the privacy level of each. It returns how many
// fields it set and the values the API cannot take.
func (e *env) fillThroughAPI(ctx context.Context, b *browser) (int, []fieldValue, bool) {
	var current struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if status, err := b.json(ctx, http.MethodGet, "/api/account/profile", nil, &current); err != nil || status != http.StatusOK {
		return 0, nil, false
	}
	values := map[string]any{}
	var rest []fieldValue
	for _, f := range profileValues {
		if _, ok := current.Fields[f.key]; !ok || f.value == "" {
			if f.value != "" {
				rest = append(rest, f)
			}
			continue
		}
		if strings.HasPrefix(f.value, "{") {
			values[f.key] = json.RawMessage(f.value) // the address, as its object
		} else {
			values[f.key] = f.value
		}
	}
	if status, _ := b.json(ctx, http.MethodPatch, "/api/account/profile", values, nil); status/100 != 2 {
		return 0, nil, false
	}
	set := 0
	for i, f := range profileValues {
		if _, ok := values[f.key]; !ok {
			continue
		}
		if status, _ := b.json(ctx, http.MethodPut, "/api/account/privacy/"+f.key, map[string]string{"level": level(i)}, nil); status/100 == 2 {
			set++
		}
	}
	return set, rest, set > 0
}

// json sends v (when not nil) as a JSON body with the browser's session cookie (the account
// API accepts it) and decodes a 200 answer into out (when not nil).
func (b *browser) json(ctx context.Context, method, path string, v, out any) (int, error) {
	var body io.Reader
	if v != nil {
		raw, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.lb.url(path), body)
	if err != nil {
		return 0, err
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func fillThroughDatabase(ctx context.Context, dbURL, userID string, values []fieldValue) error {
	st, err := sqlstore.Open(ctx, dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	now := time.Now().UTC()
	var fields []storage.ProfileField
	for _, f := range values {
		fields = append(fields, storage.ProfileField{UserID: userID, Field: f.key, Value: f.value, Privacy: level(indexOf(f.key)), UpdatedAt: now})
	}
	if err := st.PutProfileFields(ctx, fields); err != nil {
		return fmt.Errorf("write profile fields: %w", err)
	}
	return nil
}

// userinfo calls the UserInfo endpoint and returns sub and the number of claims.
func (e *env) userinfo(ctx context.Context, token string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.lb.url(pathUserinfo), nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	status, body, err := e.send(req)
	if err != nil {
		return "", 0, err
	}
	if status != http.StatusOK {
		return "", 0, fmt.Errorf("userinfo: status %d", status)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return "", 0, err
	}
	sub, _ := claims["sub"].(string)
	return sub, len(claims), nil
}
