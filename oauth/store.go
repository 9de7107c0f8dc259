package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"

	"github.com/facetid/facet/oauth/stored"
	"github.com/facetid/facet/storage"
)

// store adapts Store to every storage interface fosite's factories assert. Each
// fosite request is kept as one storage.Token row per (kind, signature); the request itself is
// kept compactly in Token.Data (see oauth/stored).
type store struct {
	db      Store
	clients *clientCache
	// codeSignature turns a raw authorization code into its HMAC signature: fosite keys the
	// OpenID Connect session by the raw code, which must not reach the database.
	codeSignature func(ctx context.Context, code string) string
	// codeLifespan is the fallback expiry of PKCE and OIDC rows whose session has none.
	codeLifespan time.Duration
	// refreshGrace is how long a rotated refresh token may be presented again (see graced);
	// 0: never, every reuse revokes the family.
	refreshGrace time.Duration
	// now is the provider's clock. fosite checks token expiry against the wall clock; the
	// store checks it again against this one, so an expired code is refused by the same clock
	// that issued it (and tests can move it).
	now func() time.Time
}

var (
	_ fosite.Storage                     = (*store)(nil)
	_ fosite.ClientManager               = (*store)(nil)
	_ oauth2.CoreStorage                 = (*store)(nil)
	_ oauth2.AuthorizeCodeStorage        = (*store)(nil)
	_ oauth2.AccessTokenStorage          = (*store)(nil)
	_ oauth2.RefreshTokenStorage         = (*store)(nil)
	_ oauth2.TokenRevocationStorage      = (*store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*store)(nil)
	_ pkce.PKCERequestStorage            = (*store)(nil)
	_ fositestorage.Transactional        = (*store)(nil)
)

// storedForm lists the request parameters later steps read back: the token endpoint compares
// redirect_uri; PKCE reads the challenge; the ID token reads nonce, max_age, prompt,
// acr_values and id_token_hint; fosite's ID-token checks read grant_type. Everything else
// (client secrets, codes, verifiers, refresh tokens) is dropped before it reaches storage.
var storedForm = []string{"redirect_uri", "code_challenge", "code_challenge_method", "nonce",
	"max_age", "prompt", "acr_values", "id_token_hint", "grant_type", "response_type"}

// encodeRequest writes r's stored form (oauth/stored). Every request Facet hands fosite
// carries a *Session (or none), so any other session is a programming error, refused rather
// than stored in a form nothing reads back.
func encodeRequest(r fosite.Requester) ([]byte, error) {
	switch s := r.GetSession().(type) {
	case nil:
		return encodeStored(r, nil)
	case *Session:
		if s == nil {
			return encodeStored(r, nil)
		}
		return encodeStored(r, s)
	default:
		return nil, fmt.Errorf("encode request: session of type %T", s)
	}
}

// encodeStored writes r, whose session is s (nil for none), keeping of its form only the
// members in storedForm.
func encodeStored(r fosite.Requester, s *Session) ([]byte, error) {
	sr := stored.Request{
		ID:              r.GetID(),
		RequestedAt:     r.GetRequestedAt().UnixMilli(),
		ClientID:        r.GetClient().GetID(),
		Scopes:          r.GetRequestedScopes(),
		GrantedScopes:   r.GetGrantedScopes(),
		Audience:        r.GetRequestedAudience(),
		GrantedAudience: r.GetGrantedAudience(),
	}
	form := r.GetRequestForm()
	n := 0
	for _, k := range storedForm {
		if form.Get(k) != "" {
			n++
		}
	}
	if n > 0 {
		sr.Form = make([]string, 0, 2*n)
		for _, k := range storedForm {
			if v := form.Get(k); v != "" {
				sr.Form = append(sr.Form, k, v)
			}
		}
	}
	if s != nil {
		var err error
		if sr.Session, err = s.stored(); err != nil {
			return nil, err
		}
	}
	return stored.Encode(sr)
}

// decodeRequest rebuilds the request with a fresh *Session. It never writes into the
// session fosite passes: in the code exchange fosite passes the live session of the token
// request (which already carries the new tokens' expiry) and only reads the returned request.
func (s *store) decodeRequest(ctx context.Context, data []byte) (*fosite.Request, error) {
	sr, err := stored.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	client, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		// A deleted client's tokens die with it.
		return nil, err
	}
	var session *Session
	if sr.Session != nil {
		if session, err = sessionFrom(sr.Session); err != nil {
			return nil, fmt.Errorf("decode session: %w", err)
		}
	} else {
		session = newSession()
	}
	form := make(url.Values, len(sr.Form)/2)
	for i := 0; i < len(sr.Form); i += 2 {
		form[sr.Form[i]] = sr.Form[i+1 : i+2 : i+2]
	}
	return &fosite.Request{
		ID:                sr.ID,
		RequestedAt:       time.UnixMilli(sr.RequestedAt).UTC(),
		Client:            client,
		RequestedScope:    sr.Scopes,
		GrantedScope:      sr.GrantedScopes,
		RequestedAudience: sr.Audience,
		GrantedAudience:   sr.GrantedAudience,
		Form:              form,
		Session:           session,
	}, nil
}

// fositeErr maps storage's sentinel errors onto the ones fosite's handlers test for. Any
// other storage error is a failure on our side, never "not found": it becomes
// temporarily_unavailable (the database is unreachable, read-only or full) or server_error,
// kept in the chain fosite wraps so the endpoints answer it (see serverFault).
func fositeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%w: %w", fosite.ErrNotFound, err)
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrAlreadyExists):
		return fmt.Errorf("%w: %w", fosite.ErrSerializationFailure, err)
	case errors.Is(err, storage.ErrUnavailable):
		return fosite.ErrTemporarilyUnavailable.WithWrap(err).WithDebug(err.Error())
	}
	return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
}

func (s *store) create(ctx context.Context, kind storage.TokenKind, signature, accessSignature string, r fosite.Requester, expiry fosite.TokenType) error {
	data, err := encodeRequest(r)
	if err != nil {
		return err
	}
	t := storage.Token{
		Kind:            kind,
		Signature:       signature,
		RequestID:       r.GetID(),
		ClientID:        r.GetClient().GetID(),
		Active:          true,
		AccessSignature: accessSignature,
		RequestedAt:     r.GetRequestedAt().UTC(),
		Data:            data,
	}
	if sess := r.GetSession(); sess != nil {
		t.Subject = sess.GetSubject()
		t.ExpiresAt = sess.GetExpiresAt(expiry)
	}
	if t.ExpiresAt.IsZero() {
		// Rows without an expiry in the session (PKCE, OIDC) live as long as a code.
		t.ExpiresAt = t.RequestedAt.Add(s.codeLifespan)
	}
	return s.write(ctx, func(ctx context.Context) error { return s.db.CreateToken(ctx, t) },
		storage.TokenWrite{Op: storage.TokenCreate, Token: t})
}

// get loads a row and its request; inactive rows come back too (t.Active false), so callers
// can return fosite's "used" errors with the request attached.
func (s *store) get(ctx context.Context, kind storage.TokenKind, signature string) (req fosite.Requester, t storage.Token, err error) {
	if ctx, err = s.readCtx(ctx); err != nil {
		return nil, t, err
	}
	var version int64
	withVersion := kind == storage.KindAccessToken && ctx.Value(releaseVersionKey{}) != nil
	if withVersion {
		t, version, err = s.db.GetTokenReleaseVersion(ctx, kind, signature)
	} else {
		t, err = s.db.GetToken(ctx, kind, signature)
	}
	if err != nil {
		return nil, t, noteFault(ctx, fositeErr(err))
	}
	if t.Active && !t.ExpiresAt.IsZero() && s.now != nil && !s.now().Before(t.ExpiresAt) {
		return nil, t, fmt.Errorf("%w: %s expired at %s", fosite.ErrNotFound, kind, t.ExpiresAt.Format(time.RFC3339))
	}
	r, err := s.decodeRequest(ctx, t.Data)
	if err != nil {
		return nil, t, err
	}
	if sess, ok := r.Session.(*Session); ok && withVersion {
		sess.releaseVersion, sess.hasReleaseVersion = version, true
	}
	return r, t, nil
}

// releaseVersionKey in a ctx asks the store to read an access token together with its
// subject's release version (storage GetTokenReleaseVersion) and keep it in the session:
// userinfo then checks its cached release data without another read.
type releaseVersionKey struct{}

// getActive reads the request stored under signature. An inactive row answers inactiveErr,
// together with the request when withRequest: fosite needs it to revoke what an invalidated
// code or a reused refresh token issued.
func (s *store) getActive(ctx context.Context, kind storage.TokenKind, signature string, inactiveErr error, withRequest bool) (fosite.Requester, error) {
	r, t, err := s.get(ctx, kind, signature)
	switch {
	case err != nil:
		return nil, err
	case t.Active:
		return r, nil
	case withRequest:
		return r, inactiveErr
	default:
		return nil, inactiveErr
	}
}

func (s *store) delete(ctx context.Context, kind storage.TokenKind, signature string) error {
	return s.write(ctx, func(ctx context.Context) error { return s.db.DeleteToken(ctx, kind, signature) },
		storage.TokenWrite{Op: storage.TokenDelete, Token: storage.Token{Kind: kind, Signature: signature}})
}

// --- fosite.ClientManager ---

// GetClient implements fosite.ClientManager through the per-node client cache.
func (s *store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.clients.get(ctx, id)
	if err != nil {
		return nil, fositeErr(err)
	}
	return c, nil
}

// ClientAssertionJWTValid fails closed: Facet accepts no private_key_jwt client assertions
// (our clients are not fosite.OpenIDConnectClient, so fosite refuses them before asking), and
// any JTI is therefore treated as already used.
func (s *store) ClientAssertionJWTValid(context.Context, string) error {
	return fosite.ErrJTIKnown
}

// SetClientAssertionJWT refuses: see ClientAssertionJWTValid.
func (s *store) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return fosite.ErrJTIKnown
}

// --- authorization codes ---

func (s *store) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, storage.KindAuthorizeCode, signature, "", r, fosite.AuthorizeCode)
}

// GetAuthorizeCodeSession returns a used code's request together with
// fosite.ErrInvalidatedAuthorizeCode so fosite can revoke what it issued (RFC 6749 §4.1.2).
func (s *store) GetAuthorizeCodeSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	return s.getActive(ctx, storage.KindAuthorizeCode, signature, fosite.ErrInvalidatedAuthorizeCode, true)
}

// InvalidateAuthorizeCodeSession deactivates the code. In the code exchange (inside fosite's
// transaction) it is the precondition of the exchange's unit: a concurrent exchange of the
// same code fails at Commit with fosite.ErrSerializationFailure and writes nothing.
func (s *store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	return s.write(ctx, func(ctx context.Context) error {
		return s.db.DeactivateToken(ctx, storage.KindAuthorizeCode, signature)
	}, storage.TokenWrite{Op: storage.TokenDeactivate, Token: storage.Token{Kind: storage.KindAuthorizeCode, Signature: signature}})
}

// --- access tokens ---

func (s *store) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, storage.KindAccessToken, signature, "", r, fosite.AccessToken)
}

func (s *store) GetAccessTokenSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	return s.getActive(ctx, storage.KindAccessToken, signature, fosite.ErrNotFound, false)
}

func (s *store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, storage.KindAccessToken, signature)
}

// --- refresh tokens ---

func (s *store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	return s.create(ctx, storage.KindRefreshToken, signature, accessSignature, r, fosite.RefreshToken)
}

// GetRefreshTokenSession returns a rotated (or revoked) refresh token's request together
// with fosite.ErrInactiveToken, which fosite treats as reuse and answers by revoking the family
// (RFC 9700 §4.14.2) — except within the reuse grace (see graced): there the request comes back
// as if the token were active, and RotateRefreshToken rotates the family's live token instead.
func (s *store) GetRefreshTokenSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	r, t, err := s.get(ctx, storage.KindRefreshToken, signature)
	switch {
	case err != nil:
		return nil, err
	case t.Active:
		return r, nil
	}
	if g := graceFrom(ctx); g != nil {
		live, err := s.graced(ctx, t)
		if err != nil {
			// A storage failure is no proof of reuse: revoking the family on it would end a
			// grant over an outage.
			return nil, err
		}
		if live != "" {
			g.presented, g.live = signature, live
			return r, nil
		}
	}
	return r, fosite.ErrInactiveToken
}

// refreshGrace is the reuse grace of one token request, which the token endpoint puts in its
// ctx (withRefreshGrace): GetRefreshTokenSession notes a graced token in it, and
// RotateRefreshToken of that token then rotates live instead. Revocation and introspection
// carry none, so to them a rotated token is simply inactive.
type refreshGrace struct {
	presented, live string // signatures: the rotated token presented, its family's live token
}

type refreshGraceKey struct{}

func withRefreshGrace(ctx context.Context) context.Context {
	return context.WithValue(ctx, refreshGraceKey{}, &refreshGrace{})
}

func graceFrom(ctx context.Context) *refreshGrace {
	g, _ := ctx.Value(refreshGraceKey{}).(*refreshGrace)
	return g
}

// graced returns the signature of the family's live refresh token when t, an inactive refresh
// token, was rotated less than the grace ago, has not expired, and its family still has a live
// token; "" when the reuse must be answered as reuse. It lets a client whose refresh answer was
// lost (the rotation committed, the response never arrived) retry with the token it sent. Only
// rotated tokens qualify: a revoked family (rotated_at is never set by revocation, and it has
// no live token left) stays revoked. Presenting the token again rotates the live token, so the
// family keeps exactly one live refresh token and the previous successor dies with its access
// token: a thief replaying a stolen token within the grace takes over the family only until
// the rightful client's next refresh, which, once the grace has passed, is a reuse that ends
// it (the trade-off every reuse interval makes; refresh_token_grace 0 turns it off).
func (s *store) graced(ctx context.Context, t storage.Token) (string, error) {
	now := s.now()
	if s.refreshGrace <= 0 || t.RotatedAt.IsZero() || !now.Before(t.RotatedAt.Add(s.refreshGrace)) ||
		(!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return "", nil
	}
	live, err := s.db.ActiveRefreshToken(ctx, t.RequestID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return live, nil
}

func (s *store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, storage.KindRefreshToken, signature)
}

// RotateRefreshToken deactivates the used refresh token, recording when, and deletes the
// access tokens of its request; for a token GetRefreshTokenSession graced it rotates the
// family's live token instead. A concurrent rotation of the same token gets
// fosite.ErrSerializationFailure (at Commit, inside fosite's transaction), which the token
// endpoint answers with invalid_grant (400), never a 5xx.
func (s *store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	if g := graceFrom(ctx); g != nil && g.live != "" && g.presented == signature {
		signature = g.live
	}
	at := s.now()
	return s.write(ctx, func(ctx context.Context) error { return s.db.RotateRefreshToken(ctx, requestID, signature, at) },
		storage.TokenWrite{Op: storage.TokenRotate, Token: storage.Token{Kind: storage.KindRefreshToken, Signature: signature, RotatedAt: at}},
		storage.TokenWrite{Op: storage.TokenRevokeRequest, Token: storage.Token{Kind: storage.KindAccessToken, RequestID: requestID}})
}

// RevokeRefreshToken deactivates every refresh token of the request (RFC 7009 §2.1); the rows
// stay for reuse detection.
func (s *store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.revokeRequest(ctx, storage.KindRefreshToken, requestID)
}

// RevokeAccessToken deletes every access token of the request.
func (s *store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.revokeRequest(ctx, storage.KindAccessToken, requestID)
}

func (s *store) revokeRequest(ctx context.Context, kind storage.TokenKind, requestID string) error {
	return s.write(ctx, func(ctx context.Context) error { return s.db.RevokeRequest(ctx, kind, requestID) },
		storage.TokenWrite{Op: storage.TokenRevokeRequest, Token: storage.Token{Kind: kind, RequestID: requestID}})
}

// --- PKCE ---

func (s *store) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, storage.KindPKCE, signature, "", r, fosite.AuthorizeCode)
}

func (s *store) GetPKCERequestSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	return s.getActive(ctx, storage.KindPKCE, signature, fosite.ErrNotFound, false)
}

func (s *store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.delete(ctx, storage.KindPKCE, signature)
}

// --- OpenID Connect (explicit flow) ---

func (s *store) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, storage.KindOIDC, s.codeSignature(ctx, code), "", r, fosite.AuthorizeCode)
}

func (s *store) GetOpenIDConnectSession(ctx context.Context, code string, _ fosite.Requester) (fosite.Requester, error) {
	return s.getActive(ctx, storage.KindOIDC, s.codeSignature(ctx, code), fosite.ErrNotFound, false)
}

func (s *store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.delete(ctx, storage.KindOIDC, s.codeSignature(ctx, code))
}

// --- transactions (fosite's storage.Transactional) ---
//
// fosite brackets the writes of its token flows with BeginTX and Commit: the code exchange
// (invalidate the code, create the access and refresh tokens), the refresh (rotate, create
// both) and reuse detection (delete the token, revoke the family). A real SQL transaction
// there cost SQLite the writer connection for the whole flow and a commit of its own, outside
// the group commit, and PostgreSQL a round trip per statement. So BeginTX opens a write unit
// instead: writes made with its ctx are kept in memory, and Commit hands them to storage's
// ApplyTokenWrites, which applies all of them or none (one group-commit member on SQLite, one
// statement on PostgreSQL). The first write that deactivates (the code, the refresh token) is
// the unit's precondition: a concurrent flow that won fails the unit at Commit with
// fosite.ErrSerializationFailure, and nothing is written. Callers other than fosite's
// transactions (revocation, the authorize flow inside storage's InTx) write directly.

// unitKey is the ctx key of the *writeUnit BeginTX opens.
type unitKey struct{}

// writeUnit is one of fosite's transactions. It is used by the one goroutine handling the
// request.
type writeUnit struct {
	writes []storage.TokenWrite
	// txCtx carries a real transaction once a token read inside the unit needed one (see
	// readCtx); later writes then run in it directly, and Commit commits it.
	txCtx context.Context
	// done: committed, rolled back or failed. Later writes fail; Rollback does nothing (fosite
	// rolls back after a failed Commit).
	done bool
	err  error
	// proofKind and proofSig name the first token the unit creates. Its signature is new and
	// random, so finding it stored proves the unit applied (see Commit).
	proofKind storage.TokenKind
	proofSig  string
}

func unitFrom(ctx context.Context) *writeUnit {
	u, _ := ctx.Value(unitKey{}).(*writeUnit)
	return u
}

var errUnitDone = errors.New("token transaction already ended")

// write runs a token write: deferred into the unit ctx carries, in the unit's transaction
// when it has one, else at once through direct.
func (s *store) write(ctx context.Context, direct func(ctx context.Context) error, writes ...storage.TokenWrite) error {
	u := unitFrom(ctx)
	if u != nil && !u.done && u.proofSig == "" {
		for i := range writes {
			if writes[i].Op == storage.TokenCreate {
				u.proofKind, u.proofSig = writes[i].Token.Kind, writes[i].Token.Signature
				break
			}
		}
	}
	switch {
	case u == nil:
		return noteFault(ctx, fositeErr(direct(ctx)))
	case u.done:
		return errUnitDone
	case u.txCtx != nil:
		return fositeErr(direct(u.txCtx))
	}
	u.writes = append(u.writes, writes...)
	return nil
}

// readCtx returns the ctx a token read runs with. A read inside a unit that holds writes must
// see them: the unit then becomes a real transaction (its writes applied in it, to be
// committed or rolled back with it) for the rest of its life. fosite's flows do not read
// between BeginTX and Commit today; this keeps them correct if one does.
func (s *store) readCtx(ctx context.Context) (context.Context, error) {
	u := unitFrom(ctx)
	switch {
	case u == nil || u.done:
		return ctx, nil
	case u.txCtx != nil:
		return u.txCtx, nil
	case len(u.writes) == 0:
		return ctx, nil
	}
	txCtx, err := s.db.BeginTx(ctx)
	if err != nil {
		return ctx, fositeErr(err)
	}
	if err := s.db.ApplyTokenWrites(txCtx, u.writes); err != nil {
		if rbErr := s.db.Rollback(txCtx); rbErr != nil {
			err = errors.Join(err, rbErr)
		}
		u.done, u.err, u.writes = true, fositeErr(err), nil
		return ctx, u.err
	}
	u.txCtx, u.writes = txCtx, nil
	return txCtx, nil
}

// BeginTX opens a write unit (see above). Beginning one in a ctx that carries an open one is
// an error, as storage's BeginTx is.
func (s *store) BeginTX(ctx context.Context) (context.Context, error) {
	if u := unitFrom(ctx); u != nil && !u.done {
		return ctx, errors.New("begin transaction: ctx already carries one")
	}
	return context.WithValue(ctx, unitKey{}, &writeUnit{}), nil
}

// Commit applies the unit's writes as one (or commits its transaction). A failed precondition
// answers fosite.ErrSerializationFailure (a concurrent request won) or fosite.ErrNotFound.
//
// Any other error leaves the outcome unknown: the database may have committed and the answer
// been lost on the way back (a connection cut by a restart). Then a token the unit created is
// looked up: present, the unit applied and the tokens fosite is about to send are valid, so
// the request succeeds rather than answering 500 for tokens that exist — a client that got a
// 500 would retry with a refresh token already rotated, or a code already used. Absent, or
// unreadable, the error stands (and the reuse grace covers the retry).
func (s *store) Commit(ctx context.Context) error {
	u := unitFrom(ctx)
	switch {
	case u == nil:
		return errors.New("commit: no transaction in ctx")
	case u.done && u.err != nil:
		return u.err
	case u.done:
		return errUnitDone
	}
	u.done = true
	var err error
	if u.txCtx != nil {
		err = s.db.Commit(u.txCtx)
	} else {
		err = s.db.ApplyTokenWrites(ctx, u.writes)
	}
	if err != nil && u.proofSig != "" && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) &&
		!errors.Is(err, storage.ErrAlreadyExists) {
		if _, getErr := s.db.GetToken(ctx, u.proofKind, u.proofSig); getErr == nil {
			err = nil
		}
	}
	u.err, u.writes = fositeErr(err), nil
	return u.err
}

// Rollback discards the unit's writes (or rolls its transaction back). After Commit, failed
// or not, there is nothing left to roll back.
func (s *store) Rollback(ctx context.Context) error {
	u := unitFrom(ctx)
	switch {
	case u == nil:
		return errors.New("rollback: no transaction in ctx")
	case u.done:
		return nil
	}
	u.done, u.writes = true, nil
	if u.txCtx != nil {
		return s.db.Rollback(u.txCtx)
	}
	return nil
}
