package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// PutSessionClient records that c.ClientID was signed in through c.SessionID; a second
// sign-in of the same app through the same session keeps the first row. A session that is
// gone (ended since the request read it) records nothing: there is nothing left to end.
func (s *Store) PutSessionClient(ctx context.Context, c storage.SessionClient) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		_, err := s.exec(ctx, `INSERT INTO session_clients (session_id, client_id, user_id, sid, created_at)
			SELECT id, ?, user_id, ?, ? FROM sessions WHERE id = ?
			ON CONFLICT (session_id, client_id) DO NOTHING`,
			c.ClientID, c.SID, ts(c.CreatedAt), c.SessionID)
		if err != nil {
			return fmt.Errorf("put session client %q: %w", c.ClientID, mapErr(err))
		}
		if c.RequestID == "" {
			return nil
		}
		_, err = s.exec(ctx, `INSERT INTO session_requests (session_id, request_id)
			SELECT id, ? FROM sessions WHERE id = ?
			ON CONFLICT (session_id, request_id) DO NOTHING`, c.RequestID, c.SessionID)
		if err != nil {
			return fmt.Errorf("put session request: %w", mapErr(err))
		}
		return nil
	})
}

// sessionRequests selects the request ids of a session's approved authorizations.
const sessionRequests = `request_id IN (SELECT request_id FROM session_requests WHERE session_id = ?)`

// RevokeSessionTokens ends the tokens of the authorization requests approved through
// sessionID, as RevokeSubject ends a subject's.
func (s *Store) RevokeSessionTokens(ctx context.Context, sessionID string) (int64, error) {
	var total int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.execN(ctx, `DELETE FROM tokens WHERE `+sessionRequests+` AND kind IN ('authorize_code', 'access_token')`, sessionID)
		if err != nil {
			return mapErr(err)
		}
		total += n
		if n, err = s.execN(ctx, `UPDATE tokens SET active = FALSE WHERE `+sessionRequests+` AND kind = 'refresh_token' AND active`, sessionID); err != nil {
			return mapErr(err)
		}
		total += n
		_, err = s.exec(ctx, `DELETE FROM tokens WHERE `+sessionRequests+` AND kind IN ('pkce', 'oidc')`, sessionID)
		return mapErr(err)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke tokens of session: %w", err)
	}
	return total, nil
}

// sessionClientCols are a session_clients row (sc) and its app's name (c, left-joined).
const sessionClientCols = `sc.session_id, sc.client_id, sc.user_id, sc.sid, sc.created_at, COALESCE(c.name, '')`

func (s *Store) sessionClients(ctx context.Context, what, query string, arg string) ([]storage.SessionClient, error) {
	rows, err := s.rows(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	defer rows.Close()
	var out []storage.SessionClient
	for rows.Next() {
		var c storage.SessionClient
		if err := rows.Scan(&c.SessionID, &c.ClientID, &c.UserID, &c.SID, &c.CreatedAt, &c.ClientName); err != nil {
			return nil, fmt.Errorf("%s: %w", what, mapErr(err))
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return out, nil
}

// SessionClients returns the apps signed in through browser session sessionID.
func (s *Store) SessionClients(ctx context.Context, sessionID string) ([]storage.SessionClient, error) {
	return s.sessionClients(ctx, "session clients", `SELECT `+sessionClientCols+`
		FROM session_clients sc LEFT JOIN clients c ON c.id = sc.client_id
		WHERE sc.session_id = ? ORDER BY sc.client_id`, sessionID)
}

// UserSessionClients returns the apps signed in through any of userID's browser sessions.
func (s *Store) UserSessionClients(ctx context.Context, userID string) ([]storage.SessionClient, error) {
	return s.sessionClients(ctx, "user session clients", `SELECT `+sessionClientCols+`
		FROM session_clients sc LEFT JOIN clients c ON c.id = sc.client_id
		WHERE sc.user_id = ? ORDER BY sc.client_id, sc.session_id`, userID)
}

const logoutCols = `id, client_id, subject, sid, request_id, status, attempts, next_attempt_at,
	last_error, created_at, finished_at`

func scanLogout(sc scanner) (storage.LogoutMessage, error) {
	var (
		m        storage.LogoutMessage
		finished sql.NullTime
	)
	if err := sc.Scan(&m.ID, &m.ClientID, &m.Subject, &m.SID, &m.RequestID, &m.Status, &m.Attempts,
		&m.NextAttemptAt, &m.LastError, &m.CreatedAt, &finished); err != nil {
		return storage.LogoutMessage{}, err
	}
	m.NextAttemptAt, m.CreatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC()
	if finished.Valid {
		t := finished.Time.UTC()
		m.FinishedAt = &t
	}
	return m, nil
}

// EnqueueLogouts stores msgs as pending.
func (s *Store) EnqueueLogouts(ctx context.Context, msgs []storage.LogoutMessage) error {
	for _, m := range msgs {
		_, err := s.exec(ctx, `INSERT INTO backchannel_logouts (id, client_id, subject, sid, request_id,
			status, attempts, next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, '', ?)`,
			m.ID, m.ClientID, m.Subject, m.SID, m.RequestID, storage.LogoutPending, ts(m.NextAttemptAt), ts(m.CreatedAt))
		if err != nil {
			return fmt.Errorf("enqueue logout for %q: %w", m.ClientID, mapErr(err))
		}
	}
	return nil
}

// ClaimLogouts claims up to limit due messages in one statement. PostgreSQL skips rows another
// claimer holds (FOR UPDATE SKIP LOCKED) and re-checks the due time on the rows it locks, so
// a message claimed and committed by another node is not due any more; SQLite runs one write
// statement at a time, so the statement alone is the claim.
func (s *Store) ClaimLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutMessage, error) {
	// Every node polls every few seconds and the queue is empty nearly always: a read (on
	// SQLite the reader pool) answers that without taking the write lock.
	var one int
	err := s.row(ctx, `SELECT 1 FROM backchannel_logouts WHERE status = ? AND next_attempt_at <= ? LIMIT 1`,
		storage.LogoutPending, ts(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("claim logouts: %w", mapErr(err))
	}
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.rows(ctx, `UPDATE backchannel_logouts SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (SELECT id FROM backchannel_logouts WHERE status = ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT ?`+lock+`)
		RETURNING `+logoutCols,
		ts(leaseUntil), storage.LogoutPending, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim logouts: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.LogoutMessage
	for rows.Next() {
		m, err := scanLogout(rows)
		if err != nil {
			return nil, fmt.Errorf("claim logouts: %w", mapErr(err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim logouts: %w", mapErr(err))
	}
	return out, nil
}

// FinishLogout marks message id delivered or abandoned.
func (s *Store) FinishLogout(ctx context.Context, id, status, lastError string, now time.Time) error {
	n, err := s.execN(ctx, `UPDATE backchannel_logouts SET status = ?, last_error = ?, finished_at = ?
		WHERE id = ?`, status, lastError, ts(now), id)
	if err != nil {
		return fmt.Errorf("finish logout %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("finish logout %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// RetryLogout schedules message id's next attempt.
func (s *Store) RetryLogout(ctx context.Context, id string, next time.Time, lastError string) error {
	n, err := s.execN(ctx, `UPDATE backchannel_logouts SET next_attempt_at = ?, last_error = ?
		WHERE id = ? AND status = ?`, ts(next), lastError, id, storage.LogoutPending)
	if err != nil {
		return fmt.Errorf("retry logout %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("retry logout %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// GetLogout returns message id.
func (s *Store) GetLogout(ctx context.Context, id string) (storage.LogoutMessage, error) {
	m, err := scanLogout(s.row(ctx, `SELECT `+logoutCols+` FROM backchannel_logouts WHERE id = ?`, id))
	if err != nil {
		return storage.LogoutMessage{}, fmt.Errorf("get logout %q: %w", id, mapErr(err))
	}
	return m, nil
}

// DeleteFinishedLogouts removes delivered and abandoned messages finished before before.
func (s *Store) DeleteFinishedLogouts(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.execN(ctx, `DELETE FROM backchannel_logouts WHERE status <> ? AND finished_at < ?`,
		storage.LogoutPending, ts(before))
	if err != nil {
		return 0, fmt.Errorf("delete finished logouts: %w", mapErr(err))
	}
	return n, nil
}
