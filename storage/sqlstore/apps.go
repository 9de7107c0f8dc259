package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

// ListUserApps joins the user's grants with their clients and an aggregate of the user's
// tokens per client: one statement, so the Scopes tab costs the same for 1 app or 50.
func (s *Store) ListUserApps(ctx context.Context, userID string, now time.Time) ([]storage.UserApp, error) {
	rows, err := s.rows(ctx, `SELECT g.user_id, g.client_id, g.scopes, g.claims, g.created_at, g.updated_at,
			c.name, c.description, c.logo_uri, c.home_uri, c.policy_uri,
			COALESCE(t.active_tokens, 0), COALESCE(t.active_sessions, 0), t.last_used
		FROM grants g
		JOIN clients c ON c.id = g.client_id
		LEFT JOIN (
			SELECT client_id,
				SUM(CASE WHEN active AND expires_at > ? THEN 1 ELSE 0 END) AS active_tokens,
				COUNT(DISTINCT CASE WHEN active AND expires_at > ? THEN request_id END) AS active_sessions,
				MAX(requested_at) AS last_used
			FROM tokens
			WHERE subject = ? AND kind IN ('access_token', 'refresh_token')
			GROUP BY client_id
		) t ON t.client_id = g.client_id
		WHERE g.user_id = ?
		ORDER BY c.name, g.client_id`, ts(now), ts(now), userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list apps of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.UserApp
	for rows.Next() {
		var (
			a              storage.UserApp
			scopes, claims string
			active, sess   int64
			lastUsed       any
		)
		if err := rows.Scan(&a.Grant.UserID, &a.Grant.ClientID, &scopes, &claims, &a.Grant.CreatedAt, &a.Grant.UpdatedAt,
			&a.Client.Name, &a.Client.Description, &a.Client.LogoURI, &a.Client.HomeURI, &a.Client.PolicyURI,
			&active, &sess, &lastUsed); err != nil {
			return nil, fmt.Errorf("list apps of %q: %w", userID, mapErr(err))
		}
		a.Client.ID = a.Grant.ClientID
		a.Grant.CreatedAt, a.Grant.UpdatedAt = a.Grant.CreatedAt.UTC(), a.Grant.UpdatedAt.UTC()
		if a.Grant.Scopes, err = decodeList(scopes); err != nil {
			return nil, fmt.Errorf("list apps of %q: %w", userID, err)
		}
		if a.Grant.Claims, err = decodeList(claims); err != nil {
			return nil, fmt.Errorf("list apps of %q: %w", userID, err)
		}
		a.ActiveTokens, a.ActiveSessions = int(active), int(sess)
		if a.LastUsedAt, err = aggregateTime(lastUsed); err != nil {
			return nil, fmt.Errorf("list apps of %q: %w", userID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list apps of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// aggregateTime reads a MAX() of a time column: PostgreSQL returns a time, SQLite the
// stored Unix microseconds (an aggregate loses the column's DATETIME type), NULL none.
func aggregateTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return t.UTC(), nil
	case int64:
		return time.UnixMicro(t).UTC(), nil
	default:
		return time.Time{}, fmt.Errorf("aggregate time: unexpected %T", v)
	}
}

// ListUserSessions reads the user's browser sessions, most recently seen first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]storage.Session, error) {
	rows, err := s.rows(ctx, `SELECT id, user_id, auth_time, created_at, last_seen_at, expires_at, amr, ip, user_agent
		FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		var (
			se  storage.Session
			amr string
		)
		if err := rows.Scan(&se.ID, &se.UserID, &se.AuthTime, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &amr, &se.IP, &se.UserAgent); err != nil {
			return nil, fmt.Errorf("list sessions of %q: %w", userID, mapErr(err))
		}
		se.AuthTime, se.CreatedAt = se.AuthTime.UTC(), se.CreatedAt.UTC()
		se.LastSeenAt, se.ExpiresAt = se.LastSeenAt.UTC(), se.ExpiresAt.UTC()
		if se.AMR, err = decodeList(amr); err != nil {
			return nil, fmt.Errorf("list sessions of %q: %w", userID, err)
		}
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions of %q: %w", userID, mapErr(err))
	}
	return out, nil
}
