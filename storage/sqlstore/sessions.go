package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// CreateSession stores the browser session; ErrAlreadyExists when its id is taken.
func (s *Store) CreateSession(ctx context.Context, se storage.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (id, user_id, auth_time, created_at, last_seen_at, expires_at,
		amr, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		se.ID, se.UserID, ts(se.AuthTime), ts(se.CreatedAt), ts(se.LastSeenAt), ts(se.ExpiresAt),
		encodeList(se.AMR), se.IP, se.UserAgent)
	if err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// GetSession returns the session with id whatever its times; the caller checks expiry.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var (
		se  storage.Session
		amr string
	)
	err := s.row(ctx, `SELECT id, user_id, auth_time, created_at, last_seen_at, expires_at, amr, ip, user_agent
		FROM sessions WHERE id = ?`, id).
		Scan(&se.ID, &se.UserID, &se.AuthTime, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &amr, &se.IP, &se.UserAgent)
	if err != nil {
		return storage.Session{}, fmt.Errorf("get session: %w", mapErr(err))
	}
	se.AuthTime, se.CreatedAt = se.AuthTime.UTC(), se.CreatedAt.UTC()
	se.LastSeenAt, se.ExpiresAt = se.LastSeenAt.UTC(), se.ExpiresAt.UTC()
	if se.AMR, err = decodeList(amr); err != nil {
		return storage.Session{}, fmt.Errorf("get session: %w", err)
	}
	return se, nil
}

// TouchSession sets the session's last use; ErrNotFound when absent.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	n, err := s.execN(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, ts(lastSeen), id)
	if err != nil {
		return fmt.Errorf("touch session: %w", mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("touch session: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteSession removes the session; an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", mapErr(err))
	}
	return nil
}

// DeleteUserSessions removes every session of the user and returns how many.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	n, err := s.execN(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %q: %w", userID, mapErr(err))
	}
	return n, nil
}

// DeleteExpiredSessions removes sessions idle since before idleBefore or past their absolute
// expiry at now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	n, err := s.execN(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR expires_at <= ?`, ts(idleBefore), ts(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", mapErr(err))
	}
	return n, nil
}
