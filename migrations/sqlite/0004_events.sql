-- The activity log. One row per security-relevant action; rows go with their user and are
-- purged after the retention period (at < now - retention, using events_at).
-- Pages are read newest first by keyset ((at, id) < cursor) for one user, optionally for one
-- category or one app: each of those reads walks one index in order and stops at the limit.
-- details is a JSON object of non-secret strings.

-- +goose Up
CREATE TABLE events (
    id        TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category  TEXT NOT NULL,
    at        DATETIME NOT NULL,
    client_id TEXT NOT NULL DEFAULT '',
    device    TEXT NOT NULL DEFAULT '',
    browser   TEXT NOT NULL DEFAULT '',
    os        TEXT NOT NULL DEFAULT '',
    ip        TEXT NOT NULL DEFAULT '',
    details   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user_at ON events (user_id, at DESC, id DESC);
CREATE INDEX events_user_category_at ON events (user_id, category, at DESC, id DESC);
CREATE INDEX events_user_client_at ON events (user_id, client_id, at DESC, id DESC);
CREATE INDEX events_at ON events (at);

-- +goose Down
DROP TABLE events;
