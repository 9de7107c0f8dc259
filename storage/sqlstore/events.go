package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/facetid/facet/storage"
)

// purgeBatch bounds one DELETE of the retention purge, so a large backlog is removed in
// short statements that do not hold the write lock (SQLite) or bloat one transaction.
const purgeBatch = 5000

// AddEvent stores one event: a single INSERT (it sits on the login path).
func (s *Store) AddEvent(ctx context.Context, e storage.Event) error {
	details, err := encodeDetails(e.Details)
	if err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	_, err = s.exec(ctx, `INSERT INTO events (id, user_id, category, at, client_id, device, browser, os, ip, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.UserID, e.Category, ts(e.At), e.ClientID, e.Device, e.Browser, e.OS, e.IP, details)
	if err != nil {
		return fmt.Errorf("add event: %w", mapErr(err))
	}
	return nil
}

// eventSelect reads events with their client's current name: one LEFT JOIN per page rather
// than a lookup per row.
const eventSelect = `SELECT e.id, e.user_id, e.category, e.at, e.client_id, COALESCE(c.name, ''),
	e.device, e.browser, e.os, e.ip, e.details
	FROM events e LEFT JOIN clients c ON c.id = e.client_id `

func scanEvent(sc scanner) (storage.Event, error) {
	var (
		e       storage.Event
		details string
	)
	if err := sc.Scan(&e.ID, &e.UserID, &e.Category, &e.At, &e.ClientID, &e.ClientName,
		&e.Device, &e.Browser, &e.OS, &e.IP, &details); err != nil {
		return storage.Event{}, err
	}
	e.At = e.At.UTC()
	var err error
	if e.Details, err = decodeDetails(details); err != nil {
		return storage.Event{}, err
	}
	return e, nil
}

// ListEvents returns a page of the user's events, newest first. The WHERE clause is built
// from fixed fragments only; every value is a bound parameter. Each filter combination walks
// one of the (user_id[, category | client_id], at DESC, id DESC) indexes in order, starting at
// the cursor by a row-value comparison, and stops at the limit.
func (s *Store) ListEvents(ctx context.Context, userID string, f storage.EventFilter) ([]storage.Event, error) {
	var q strings.Builder
	q.WriteString(eventSelect)
	q.WriteString(`WHERE e.user_id = ?`)
	args := []any{userID}
	if f.Category != "" {
		q.WriteString(` AND e.category = ?`)
		args = append(args, f.Category)
	}
	if len(f.Categories) > 0 {
		// One placeholder per category: the list is the caller's fixed group, never long.
		q.WriteString(` AND e.category IN (?` + strings.Repeat(`, ?`, len(f.Categories)-1) + `)`)
		for _, c := range f.Categories {
			args = append(args, c)
		}
	}
	if f.ClientID != "" {
		q.WriteString(` AND e.client_id = ?`)
		args = append(args, f.ClientID)
	}
	if f.Before != nil {
		q.WriteString(` AND (e.at, e.id) < (?, ?)`)
		args = append(args, ts(f.Before.At), f.Before.ID)
	}
	q.WriteString(` ORDER BY e.at DESC, e.id DESC LIMIT ?`)
	limit := f.Limit
	if limit <= 0 || limit > storage.MaxEventPage {
		limit = storage.MaxEventPage
	}
	args = append(args, limit)

	rows, err := s.rows(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list events of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events of %q: %w", userID, mapErr(err))
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// GetEvent returns the user's event; another user's event is ErrNotFound like an absent one.
func (s *Store) GetEvent(ctx context.Context, userID, id string) (storage.Event, error) {
	e, err := scanEvent(s.row(ctx, eventSelect+`WHERE e.user_id = ? AND e.id = ?`, userID, id))
	if err != nil {
		return storage.Event{}, fmt.Errorf("get event %q: %w", id, mapErr(err))
	}
	return e, nil
}

// EventFacets returns the distinct categories and apps of the user's events (two index
// scans of that user's rows).
func (s *Store) EventFacets(ctx context.Context, userID string) (storage.EventFacets, error) {
	var f storage.EventFacets
	rows, err := s.rows(ctx, `SELECT DISTINCT category FROM events WHERE user_id = ? ORDER BY category`, userID)
	if err != nil {
		return f, fmt.Errorf("event categories of %q: %w", userID, mapErr(err))
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return f, fmt.Errorf("event categories of %q: %w", userID, mapErr(err))
		}
		f.Categories = append(f.Categories, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("event categories of %q: %w", userID, mapErr(err))
	}

	rows, err = s.rows(ctx, `SELECT e.client_id, COALESCE(MAX(c.name), '') FROM events e
		LEFT JOIN clients c ON c.id = e.client_id
		WHERE e.user_id = ? AND e.client_id <> '' GROUP BY e.client_id ORDER BY e.client_id`, userID)
	if err != nil {
		return f, fmt.Errorf("event clients of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var c storage.EventClient
		if err := rows.Scan(&c.ID, &c.Name); err != nil {
			return f, fmt.Errorf("event clients of %q: %w", userID, mapErr(err))
		}
		f.Clients = append(f.Clients, c)
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("event clients of %q: %w", userID, mapErr(err))
	}
	return f, nil
}

// DeleteEventsBefore removes events older than t in batches of purgeBatch and returns how
// many it removed.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.execN(ctx, `DELETE FROM events WHERE id IN
			(SELECT id FROM events WHERE at < ? LIMIT ?)`, ts(t), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("delete events before %s: %w", t.UTC().Format(time.RFC3339), mapErr(err))
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("delete events before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
	}
}

// encodeDetails writes an event's details as a JSON object; none is "{}".
func encodeDetails(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode details: %w", err)
	}
	return string(b), nil
}

// decodeDetails reads what encodeDetails wrote; an empty object is nil.
func decodeDetails(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("decode details: %w", err)
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
