package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// GetSetting returns the value stored under key.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	if err := s.row(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, mapErr(err))
	}
	return v, nil
}

// PutSettingIfAbsent stores value under key unless one is there, and returns the stored value:
// of several nodes starting at once, the first writer wins and all agree on its value.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, key, value, ts(time.Now()))
	if err != nil {
		return "", fmt.Errorf("put setting %q: %w", key, mapErr(err))
	}
	return s.GetSetting(ctx, key)
}

// Hit adds one to key's counter for the window starting at windowStart and returns the new
// count, in one upsert. A later window resets the counter to 1; a hit stamped with an earlier
// window (a node whose clock lags) counts in the current one rather than resetting it.
func (s *Store) Hit(ctx context.Context, key string, windowStart time.Time) (int, error) {
	var n int
	err := s.row(ctx, `INSERT INTO counters (key, window_start, count) VALUES (?, ?, 1)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN excluded.window_start > counters.window_start THEN 1 ELSE counters.count + 1 END,
			window_start = CASE WHEN excluded.window_start > counters.window_start
				THEN excluded.window_start ELSE counters.window_start END
		RETURNING count`, key, ts(windowStart)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("hit counter %q: %w", key, mapErr(err))
	}
	return n, nil
}

// ResetCounter removes key's counter.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM counters WHERE key = ?`, key); err != nil {
		return fmt.Errorf("reset counter %q: %w", key, mapErr(err))
	}
	return nil
}

// TryLease takes or renews the lease name for holder until now+ttl when it is free, expired
// (expires_at <= now) or already held by holder, in one conditional upsert. It reports whether
// holder has the lease.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := s.execN(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, ts(now.Add(ttl)), ts(now))
	if err != nil {
		return false, fmt.Errorf("try lease %q: %w", name, mapErr(err))
	}
	return n == 1, nil
}

// probeKey is the settings row ProbeWrite upserts.
const probeKey = "readiness_probe"

// ProbeWrite upserts the probe row in its own committed statement (on SQLite through the
// group commit, as every write): a disk that is full or a database that is read-only fails
// it, as it fails every token and session write.
func (s *Store) ProbeWrite(ctx context.Context, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		probeKey, now.UTC().Format(time.RFC3339Nano), ts(now))
	if err != nil {
		return fmt.Errorf("probe write: %w", mapErr(err))
	}
	return nil
}
