package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const tokenCols = `kind, signature, request_id, client_id, subject, active, access_signature,
	requested_at, expires_at, data`

// The token statements ApplyTokenWrites shares with the single-write methods (the same text,
// so the same prepared statement).
const (
	insertToken       = `INSERT INTO tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	deleteToken       = `DELETE FROM tokens WHERE kind = ? AND signature = ?`
	deactivateToken   = `UPDATE tokens SET active = FALSE WHERE kind = ? AND signature = ? AND active`
	rotateToken       = `UPDATE tokens SET active = FALSE, rotated_at = ? WHERE kind = ? AND signature = ? AND active`
	tokenExists       = `SELECT 1 FROM tokens WHERE kind = ? AND signature = ?`
	deleteRequest     = `DELETE FROM tokens WHERE kind = ? AND request_id = ?`
	deactivateRequest = `UPDATE tokens SET active = FALSE WHERE kind = ? AND request_id = ? AND active`
)

// tokenArgs are insertToken's arguments for t.
func tokenArgs(t storage.Token) []any {
	return []any{string(t.Kind), t.Signature, t.RequestID, t.ClientID, t.Subject, t.Active,
		t.AccessSignature, ts(t.RequestedAt), ts(t.ExpiresAt), t.Data}
}

// revokeRequest is RevokeRequest's statement for kind: refresh tokens are deactivated (kept
// for reuse detection), other kinds deleted.
func revokeRequest(kind storage.TokenKind) string {
	if kind == storage.KindRefreshToken {
		return deactivateRequest
	}
	return deleteRequest
}

// CreateToken stores t under (t.Kind, t.Signature); ErrAlreadyExists when taken.
func (s *Store) CreateToken(ctx context.Context, t storage.Token) error {
	if _, err := s.exec(ctx, insertToken, tokenArgs(t)...); err != nil {
		return fmt.Errorf("create %s: %w", t.Kind, mapErr(err))
	}
	return nil
}

// GetToken returns the token, active or not.
func (s *Store) GetToken(ctx context.Context, kind storage.TokenKind, signature string) (storage.Token, error) {
	return s.getToken(ctx, `SELECT `+tokenCols+`, rotated_at FROM tokens WHERE kind = ? AND signature = ?`, kind, signature)
}

// tokenWithVersion is GetToken's statement with the subject's release_version joined: one
// read where userinfo made two (the token, then the version its cached release data is
// checked against).
const tokenWithVersion = `SELECT t.kind, t.signature, t.request_id, t.client_id, t.subject, t.active, t.access_signature,
	t.requested_at, t.expires_at, t.data, t.rotated_at, COALESCE(u.release_version, -1)
	FROM tokens t LEFT JOIN users u ON u.id = t.subject WHERE t.kind = ? AND t.signature = ?`

// GetTokenReleaseVersion returns the token, active or not, and its subject's release version
// (-1 when the subject is no user).
func (s *Store) GetTokenReleaseVersion(ctx context.Context, kind storage.TokenKind, signature string) (storage.Token, int64, error) {
	var v int64
	t, err := s.getToken(ctx, tokenWithVersion, kind, signature, &v)
	return t, v, err
}

// getToken runs query, which selects tokenCols, rotated_at and then the columns extra scans
// into.
func (s *Store) getToken(ctx context.Context, query string, kind storage.TokenKind, signature string, extra ...any) (storage.Token, error) {
	var (
		t       storage.Token
		rotated sql.NullTime
	)
	dest := append([]any{&t.Kind, &t.Signature, &t.RequestID, &t.ClientID, &t.Subject, &t.Active, &t.AccessSignature,
		&t.RequestedAt, &t.ExpiresAt, &t.Data, &rotated}, extra...)
	if err := s.row(ctx, query, string(kind), signature).Scan(dest...); err != nil {
		return storage.Token{}, fmt.Errorf("get %s: %w", kind, mapErr(err))
	}
	t.RequestedAt, t.ExpiresAt = t.RequestedAt.UTC(), t.ExpiresAt.UTC()
	if rotated.Valid {
		t.RotatedAt = rotated.Time.UTC()
	}
	return t, nil
}

// DeleteToken removes the token; an absent token is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind storage.TokenKind, signature string) error {
	if _, err := s.exec(ctx, deleteToken, string(kind), signature); err != nil {
		return fmt.Errorf("delete %s: %w", kind, mapErr(err))
	}
	return nil
}

// DeactivateToken marks an active token inactive with one conditional update, so of several
// concurrent callers exactly one succeeds; the others get ErrConflict. ErrNotFound when absent.
func (s *Store) DeactivateToken(ctx context.Context, kind storage.TokenKind, signature string) error {
	if err := s.deactivate(ctx, kind, signature); err != nil {
		return fmt.Errorf("deactivate %s: %w", kind, err)
	}
	return nil
}

func (s *Store) deactivate(ctx context.Context, kind storage.TokenKind, signature string) error {
	n, err := s.execN(ctx, deactivateToken, string(kind), signature)
	if err != nil {
		return mapErr(err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.row(ctx, tokenExists, string(kind), signature).Scan(&one)
	if err != nil {
		return mapErr(err) // ErrNotFound when absent
	}
	return storage.ErrConflict
}

// RotateRefreshToken deactivates the refresh token (ErrConflict if it was not active,
// ErrNotFound if absent), recording at as the time it was rotated, and deletes the access
// tokens of requestID, as one unit (see ApplyTokenWrites).
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string, at time.Time) error {
	err := s.applyTokenWrites(ctx, []storage.TokenWrite{
		{Op: storage.TokenRotate, Token: storage.Token{Kind: storage.KindRefreshToken, Signature: signature, RotatedAt: at}},
		{Op: storage.TokenRevokeRequest, Token: storage.Token{Kind: storage.KindAccessToken, RequestID: requestID}},
	})
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return nil
}

// ActiveRefreshToken returns the signature of requestID's active refresh token (found through
// the (request_id, kind) index); ErrNotFound when there is none.
func (s *Store) ActiveRefreshToken(ctx context.Context, requestID string) (string, error) {
	var sig string
	err := s.row(ctx, `SELECT signature FROM tokens WHERE request_id = ? AND kind = ? AND active`,
		requestID, string(storage.KindRefreshToken)).Scan(&sig)
	if err != nil {
		return "", fmt.Errorf("active refresh token of request: %w", mapErr(err))
	}
	return sig, nil
}

// RevokeRequest ends every token of kind issued under requestID: refresh tokens are
// deactivated (kept for reuse detection), other kinds deleted. No token is not an error.
func (s *Store) RevokeRequest(ctx context.Context, kind storage.TokenKind, requestID string) error {
	if _, err := s.exec(ctx, revokeRequest(kind), string(kind), requestID); err != nil {
		return fmt.Errorf("revoke %s of request: %w", kind, mapErr(err))
	}
	return nil
}

// RevokeSubject ends every token of subject (of clientID only, when not empty), in one
// transaction: authorization codes and access tokens are deleted, refresh tokens deactivated
// (kept, like RevokeRequest does, so a later use is detected as reuse), and the PKCE and OIDC
// sessions of those codes deleted. It returns the number of codes, access tokens and active
// refresh tokens it ended.
func (s *Store) RevokeSubject(ctx context.Context, subject, clientID string) (int64, error) {
	where, args := `subject = ?`, []any{subject}
	if clientID != "" {
		where, args = `subject = ? AND client_id = ?`, []any{subject, clientID}
	}
	var total int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.execN(ctx, `DELETE FROM tokens WHERE `+where+` AND kind IN ('authorize_code', 'access_token')`, args...)
		if err != nil {
			return mapErr(err)
		}
		total += n
		if n, err = s.execN(ctx, `UPDATE tokens SET active = FALSE WHERE `+where+` AND kind = 'refresh_token' AND active`, args...); err != nil {
			return mapErr(err)
		}
		total += n
		_, err = s.exec(ctx, `DELETE FROM tokens WHERE `+where+` AND kind IN ('pkce', 'oidc')`, args...)
		return mapErr(err)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke tokens of subject: %w", err)
	}
	return total, nil
}

// DeleteExpiredTokens removes every token (of any kind, active or not) that expired before t.
func (s *Store) DeleteExpiredTokens(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.execN(ctx, `DELETE FROM tokens WHERE expires_at < ?`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired tokens: %w", mapErr(err))
	}
	return n, nil
}
