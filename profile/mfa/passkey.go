package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gorilla/mux"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// Passkeys (W3C Web Authentication Level 3; OWASP ASVS 5.0 V6.5 "multi-factor authentication
// and hardware authenticators"). Facet is the Relying Party; its ID is the issuer's host, so a
// passkey works on the issuer's origin only. Registration asks for a discoverable credential
// (residentKey required) without attestation (none: Facet keeps no authenticator allowlist),
// user verification preferred, and excludes the credentials the account has already. A
// passkey signs in on its own (discoverable login, user verification required) or completes a
// password sign-in as the second factor (user verification preferred). Every ceremony keeps
// its state in the database (storage.WebAuthnChallenge) under the hash of a random value in a
// short-lived cookie, consumed once, so any node finishes what another began.
const (
	ceremonyTTL     = 5 * time.Minute
	maxPasskeyName  = 64
	maxPasskeys     = 20       // per account: the creation options list them all to exclude
	maxCredentialJS = 64 << 10 // a credential's JSON: a few KiB in practice
	// passkeyFailuresPerIP bounds the failed passkey sign-ins from one IP per window; like the
	// password login's per-IP rule, only failures count.
	passkeyFailuresPerIP = 20
	passkeyWindow        = 15 * time.Minute
	// passkeyBeginsPerIP bounds the sign-in ceremonies one IP may begin per throttle window
	// of the kit: each stores a row, and beginning needs no account.
	passkeyBeginsPerIP = 60
)

// CategoryPasskeyRenamed: the user renamed a passkey (Details "passkey": the new name).
// Adding and removing one are profile.CategoryMFAEnabled and CategoryMFADisabled with
// Details "factor": "passkey", like the other second factors.
const CategoryPasskeyRenamed = "passkey_renamed"

// PasskeyView is one passkey as the account API (GET /api/account/mfa, the answers of the
// passkey routes) shows it.
type PasskeyView = PasskeyInfo

// registered is the answer of a finished registration: the passkey, and the recovery codes
// when it is the account's first second factor (shown once).
type registered struct {
	PasskeyView
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

func newPasskeyView(p storage.Passkey) PasskeyView {
	v := PasskeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		v.LastUsedAt = &t
	}
	return v
}

// newRelyingParty is the WebAuthn Relying Party of issuer: its host is the RP ID, its origin
// the one origin ceremonies may come from. An issuer a browser cannot run WebAuthn on (an IP
// address; plain http other than localhost) has none: passkeys are off.
func newRelyingParty(issuer string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an absolute URL", issuer)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return nil, fmt.Errorf("issuer host %q is an IP address, which cannot be a WebAuthn RP ID", host)
	}
	if u.Scheme != "https" && host != "localhost" {
		return nil, fmt.Errorf("issuer %q is not https: browsers offer WebAuthn only to secure origins", issuer)
	}
	return webauthn.New(&webauthn.Config{
		RPID:                  host,
		RPDisplayName:         "Facet",
		RPOrigins:             []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
}

// PasskeysUsable reports whether passkeys work with issuer (the login page shows its button
// only then).
func PasskeysUsable(issuer string) bool {
	_, err := newRelyingParty(issuer)
	return err == nil
}

// passkeyUser is an account as the WebAuthn library sees it. The user handle is the account's
// id (a random UUID, OIDC "sub"), never the email address (WebAuthn §14.6.1: the handle must
// not identify the person).
type passkeyUser struct {
	user    storage.User
	name    string
	display string
	keys    []storage.Passkey
}

func (u passkeyUser) WebAuthnID() []byte          { return []byte(u.user.ID) }
func (u passkeyUser) WebAuthnName() string        { return u.name }
func (u passkeyUser) WebAuthnDisplayName() string { return u.display }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.keys))
	for _, p := range u.keys {
		out = append(out, credential(p))
	}
	return out
}

// credential is a stored passkey as the library's credential record.
func credential(p storage.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, 0, len(p.Transports))
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID:              p.CredentialID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       transports,
		Flags:           webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(p.Flags)),
		Authenticator:   webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// byPasskey returns the passkey of keys with the credential id.
func byPasskey(keys []storage.Passkey, credID []byte) (storage.Passkey, bool) {
	for _, p := range keys {
		if bytes.Equal(p.CredentialID, credID) {
			return p, true
		}
	}
	return storage.Passkey{}, false
}

// loadPasskeyUser loads u with its passkeys and the names an authenticator shows for it.
func (h *Handler) loadPasskeyUser(ctx context.Context, u storage.User) (passkeyUser, error) {
	keys, err := h.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	pu := passkeyUser{user: u, keys: keys, name: u.Email}
	if pu.name == "" {
		name, _, err := h.kit.FieldLevel(ctx, u.ID, "preferred_username")
		if err != nil {
			return passkeyUser{}, err
		}
		pu.name = name
	}
	if pu.name == "" {
		pu.name = u.ID
	}
	var parts []string
	for _, f := range []string{"given_name", "family_name"} {
		v, _, err := h.kit.FieldLevel(ctx, u.ID, f)
		if err != nil {
			return passkeyUser{}, err
		}
		if v != "" {
			parts = append(parts, v)
		}
	}
	pu.display = strings.Join(parts, " ")
	if pu.display == "" {
		pu.display = pu.name
	}
	return pu, nil
}

// passkeyInfos is Passkeys for the second step and GET /api/account/mfa (Handler.passkeys).
func (h *Handler) passkeyInfos(ctx context.Context, userID string) ([]PasskeyInfo, error) {
	return h.Passkeys(ctx, userID)
}

// Passkeys lists the user's passkeys, oldest first (GET /api/account/mfa, the Security block).
func (h *Handler) Passkeys(ctx context.Context, userID string) ([]PasskeyView, error) {
	keys, err := h.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]PasskeyView, 0, len(keys))
	for _, p := range keys {
		out = append(out, newPasskeyView(p))
	}
	return out, nil
}

// passkeyRoutes adds the passkey pages, the passwordless sign-in and the account API.
func (h *Handler) passkeyRoutes(r, api *mux.Router) {
	if h.rp == nil {
		return
	}
	r.HandleFunc("/login/passkey/begin", h.loginBegin).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey/finish", h.loginFinish).Methods(http.MethodPost)
	r.HandleFunc(PathLogin+"/passkey/begin", h.secondBegin).Methods(http.MethodPost)
	r.HandleFunc(PathLogin+"/passkey/finish", h.secondFinish).Methods(http.MethodPost)
	r.HandleFunc(passkeysPage, h.passkeysPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(passkeysPage, h.passkeysOpen).Methods(http.MethodPost)
	r.HandleFunc(passkeysPage+"/{id}/rename", h.renameForm).Methods(http.MethodPost)
	r.HandleFunc(passkeysPage+"/{id}/remove", h.removeConfirm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(passkeysPage+"/{id}/remove", h.removeForm).Methods(http.MethodPost)
	if api != nil {
		api.HandleFunc("/mfa/passkeys/register/begin", h.apiRegisterBegin).Methods(http.MethodPost)
		api.HandleFunc("/mfa/passkeys/register/finish", h.apiRegisterFinish).Methods(http.MethodPost)
		api.HandleFunc("/mfa/passkeys/{id}", h.apiRename).Methods(http.MethodPatch)
		api.HandleFunc("/mfa/passkeys/{id}", h.apiRemove).Methods(http.MethodDelete)
	}
}

// Ceremony cookies: one per kind, so a sign-in started in one tab does not spoil a
// registration in another.
func (h *Handler) ceremonyCookie(kind string) string {
	name := "facet_webauthn_" + kind
	if h.secureCookies() {
		return "__Host-" + name
	}
	return name
}

func (h *Handler) secureCookies() bool { return h.cfg.SecureCookies }

// challengeID is the stored key of a ceremony cookie's value: its SHA-256, so the table
// alone does not let anyone finish a ceremony.
func challengeID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// saveCeremony stores the library's session data of a ceremony of kind for userID ("" before
// the user is known) and gives the browser its cookie.
func (h *Handler) saveCeremony(ctx context.Context, w http.ResponseWriter, kind, userID string, sd *webauthn.SessionData) error {
	data, err := json.Marshal(sd)
	if err != nil {
		return fmt.Errorf("encode webauthn session: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails since Go 1.24
	value := base64.RawURLEncoding.EncodeToString(raw)
	now := h.now().UTC()
	if err := h.store.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: challengeID(value), Kind: kind, UserID: userID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(ceremonyTTL)}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: h.ceremonyCookie(kind), Value: value, Path: "/", MaxAge: int(ceremonyTTL / time.Second),
		HttpOnly: true, Secure: h.secureCookies(), SameSite: http.SameSiteStrictMode})
	return nil
}

// errCeremony: no ceremony of this kind is waiting for this browser (none began, it expired,
// or it was finished already).
var errCeremony = profile.Refuse(http.StatusBadRequest, "ceremony_expired", "passkey.err.ceremony")

// takeCeremony consumes the ceremony of kind r's cookie names, clearing the cookie; a
// ceremony bound to a user must be userID's.
func (h *Handler) takeCeremony(w http.ResponseWriter, r *http.Request, kind, userID string) (webauthn.SessionData, error) {
	c, err := r.Cookie(h.ceremonyCookie(kind))
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return webauthn.SessionData{}, errCeremony
	}
	http.SetCookie(w, &http.Cookie{Name: h.ceremonyCookie(kind), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secureCookies(), SameSite: http.SameSiteStrictMode})
	ch, err := h.store.ConsumeWebAuthnChallenge(r.Context(), challengeID(c.Value), kind, h.now().UTC())
	if errors.Is(err, storage.ErrNotFound) {
		return webauthn.SessionData{}, errCeremony
	}
	if err != nil {
		return webauthn.SessionData{}, err
	}
	if ch.UserID != userID {
		return webauthn.SessionData{}, errCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(ch.Data, &sd); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("decode webauthn session: %w", err)
	}
	return sd, nil
}

// readCredential reads the browser's credential JSON (a bounded body of type JSON).
func readCredential(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, profile.Refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "api.err.json_type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCredentialJS))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, profile.Refuse(http.StatusRequestEntityTooLarge, "request_too_large", "api.err.too_large")
	}
	if err != nil {
		return nil, profile.Refuse(http.StatusBadRequest, "invalid_request", "api.err.json_shape")
	}
	return body, nil
}

// Refusals of the passkey API.
var (
	errPasskeyInvalid  = profile.Refuse(http.StatusBadRequest, "invalid_credential", "passkey.err.invalid")
	errPasskeyTaken    = profile.Refuse(http.StatusConflict, "already_registered", "passkey.err.taken")
	errPasskeyTooMany  = profile.Refuse(http.StatusConflict, "too_many_passkeys", "passkey.err.too_many", maxPasskeys)
	errPasskeyNotFound = profile.Refuse(http.StatusNotFound, "not_found", "passkey.err.not_found")
	errPasskeyName     = profile.InvalidField("name", "passkey.err.name", maxPasskeyName)
)

// cleanName is a passkey's name as typed: trimmed, at most maxPasskeyName characters of
// valid UTF-8 without control characters; empty takes fallback.
func cleanName(s, fallback string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback, nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxPasskeyName {
		return "", errPasskeyName
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", errPasskeyName
		}
	}
	return s, nil
}

// beginRegistration starts adding a passkey to u: the creation options, excluding u's
// passkeys, and the ceremony stored for the browser.
func (h *Handler) beginRegistration(ctx context.Context, w http.ResponseWriter, u storage.User) (*protocol.CredentialCreation, error) {
	pu, err := h.loadPasskeyUser(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(pu.keys) >= maxPasskeys {
		return nil, errPasskeyTooMany
	}
	creds := pu.WebAuthnCredentials()
	exclude := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		exclude = append(exclude, c.Descriptor())
	}
	options, sd, err := h.rp.BeginRegistration(pu, webauthn.WithExclusions(exclude),
		webauthn.WithCredentialParameters(webauthn.CredentialParametersRecommendedL3()))
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	if err := h.saveCeremony(ctx, w, storage.ChallengeRegister, u.ID, sd); err != nil {
		return nil, err
	}
	return options, nil
}

// finishRegistration checks the browser's new credential against the ceremony and stores it
// under name; the event is recorded and the owner told by mail.
//
// When the passkey is the account's first second factor, the account's recovery codes are
// made with it and returned (shown once, like after the authenticator app's setup); else nil.
func (h *Handler) finishRegistration(w http.ResponseWriter, r *http.Request, u storage.User, name string, body []byte) (storage.Passkey, []string, error) {
	p, first, err := h.addPasskey(w, r, u, name, body)
	if err != nil || !first {
		return p, nil, err
	}
	codes, err := h.newRecoveryCodes(r.Context(), u.ID)
	if err != nil {
		return storage.Passkey{}, nil, err
	}
	return p, codes, nil
}

// addPasskey verifies and stores the new credential; first says it is the account's first
// second factor.
func (h *Handler) addPasskey(w http.ResponseWriter, r *http.Request, u storage.User, name string, body []byte) (storage.Passkey, bool, error) {
	ctx := r.Context()
	sd, err := h.takeCeremony(w, r, storage.ChallengeRegister, u.ID)
	if err != nil {
		return storage.Passkey{}, false, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		h.logger.InfoContext(ctx, "passkey registration unreadable", "user_id", u.ID, "err", err)
		return storage.Passkey{}, false, errPasskeyInvalid
	}
	pu, err := h.loadPasskeyUser(ctx, u)
	if err != nil {
		return storage.Passkey{}, false, err
	}
	cred, err := h.rp.CreateCredential(pu, sd, parsed)
	if err != nil {
		h.logger.InfoContext(ctx, "passkey registration refused", "user_id", u.ID, "err", err)
		return storage.Passkey{}, false, errPasskeyInvalid
	}
	if name, err = cleanName(name, templates.Tr(ctx, "passkey.default_name", len(pu.keys)+1)); err != nil {
		return storage.Passkey{}, false, err
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p := storage.Passkey{ID: profile.NewID(), UserID: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AAGUID: cred.Authenticator.AAGUID, Transports: transports,
		AttestationType: cred.AttestationType, Flags: uint8(cred.Flags.ProtocolValue()),
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Name: name, CreatedAt: h.now().UTC()}
	first, err := h.firstFactor(ctx, u.ID)
	if err != nil {
		return storage.Passkey{}, false, err
	}
	if err := h.store.CreatePasskey(ctx, p); errors.Is(err, storage.ErrAlreadyExists) {
		return storage.Passkey{}, false, errPasskeyTaken
	} else if err != nil {
		return storage.Passkey{}, false, err
	}
	h.events.Record(ctx, h.kit.Origin(r), u.ID, profile.Event{Category: profile.CategoryMFAEnabled,
		Details: map[string]string{"factor": "passkey", "passkey": p.Name}})
	h.logger.InfoContext(ctx, "passkey added", "user_id", u.ID, "passkey_id", p.ID, "backup_eligible", p.BackupEligible)
	h.kit.AccountNotice(ctx, u.ID, "passkey.mail.added.subject", "passkey.mail.added.text", p.Name)
	return p, first, nil
}

// rename sets the name of userID's passkey id.
func (h *Handler) rename(ctx context.Context, o profile.Origin, userID, id, name string) (storage.Passkey, error) {
	name, err := cleanName(name, "")
	if err != nil {
		return storage.Passkey{}, err
	}
	if name == "" {
		return storage.Passkey{}, errPasskeyName
	}
	if err := h.store.RenamePasskey(ctx, userID, id, name); errors.Is(err, storage.ErrNotFound) {
		return storage.Passkey{}, errPasskeyNotFound
	} else if err != nil {
		return storage.Passkey{}, err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: CategoryPasskeyRenamed, Details: map[string]string{"passkey": name}})
	return h.ownPasskey(ctx, userID, id)
}

// remove deletes userID's passkey id, records it and tells the owner by mail.
func (h *Handler) remove(ctx context.Context, o profile.Origin, userID, id string) error {
	p, err := h.ownPasskey(ctx, userID, id)
	if err != nil {
		return err
	}
	if err := h.store.DeletePasskey(ctx, userID, id); errors.Is(err, storage.ErrNotFound) {
		return errPasskeyNotFound
	} else if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryMFADisabled,
		Details: map[string]string{"factor": "passkey", "passkey": p.Name}})
	h.logger.InfoContext(ctx, "passkey removed", "user_id", userID, "passkey_id", id)
	h.kit.AccountNotice(ctx, userID, "passkey.mail.removed.subject", "passkey.mail.removed.text", p.Name)
	return nil
}

// ownPasskey is userID's passkey id; another user's is errPasskeyNotFound.
func (h *Handler) ownPasskey(ctx context.Context, userID, id string) (storage.Passkey, error) {
	keys, err := h.store.ListPasskeys(ctx, userID)
	if err != nil {
		return storage.Passkey{}, err
	}
	for _, p := range keys {
		if p.ID == id {
			return p, nil
		}
	}
	return storage.Passkey{}, errPasskeyNotFound
}

// apiRegisterBegin: POST /api/account/mfa/passkeys/register/begin → the creation options
// (navigator.credentials.create's publicKey, base64url-encoded binary fields).
func (h *Handler) apiRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	options, err := h.beginRegistration(r.Context(), w, c.User)
	if err != nil {
		h.kit.APIError(w, r, "begin passkey registration", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, options)
}

// apiRegisterFinish: POST /api/account/mfa/passkeys/register/finish?name=... with the
// browser's credential → 201 and the passkey.
func (h *Handler) apiRegisterFinish(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	body, err := readCredential(w, r)
	if err == nil {
		var p storage.Passkey
		var codes []string
		if p, codes, err = h.finishRegistration(w, r, c.User, r.URL.Query().Get("name"), body); err == nil {
			h.kit.WriteJSON(w, r, http.StatusCreated, registered{PasskeyView: newPasskeyView(p), RecoveryCodes: codes})
			return
		}
	}
	h.kit.APIError(w, r, "finish passkey registration", err)
}

// apiRename: PATCH /api/account/mfa/passkeys/{id} {"name"} → 200 and the passkey.
func (h *Handler) apiRename(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	var body struct {
		Name string `json:"name"`
	}
	if !profile.DecodeJSON(w, r, &body) {
		return
	}
	p, err := h.rename(r.Context(), h.kit.Origin(r), c.User.ID, mux.Vars(r)["id"], body.Name)
	if err != nil {
		h.kit.APIError(w, r, "rename passkey", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, newPasskeyView(p))
}

// apiRemove: DELETE /api/account/mfa/passkeys/{id} → 204; another user's id is 404.
func (h *Handler) apiRemove(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if h.kit.APIReauth(w, r, c) {
		return
	}
	if err := h.remove(r.Context(), h.kit.Origin(r), c.User.ID, mux.Vars(r)["id"]); err != nil {
		h.kit.APIError(w, r, "remove passkey", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
