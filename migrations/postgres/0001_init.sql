-- Facet's first schema (PostgreSQL).
-- Times are TIMESTAMPTZ, booleans BOOLEAN, bytes BYTEA, lists JSON text (read and written
-- whole by sqlstore, never queried inside).

-- +goose Up
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT UNIQUE, -- NULL once the user deleted the address
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT NOT NULL DEFAULT '',
    admin          BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL DEFAULT 'active',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE profile_fields (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    privacy    TEXT NOT NULL DEFAULT 'private',
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, field)
);

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    secret_hash                BYTEA,
    name                       TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    logo_uri                   TEXT NOT NULL DEFAULT '',
    policy_uri                 TEXT NOT NULL DEFAULT '',
    home_uri                   TEXT NOT NULL DEFAULT '',
    redirect_uris              TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  TEXT NOT NULL DEFAULT '[]',
    grant_types                TEXT NOT NULL DEFAULT '[]',
    response_types             TEXT NOT NULL DEFAULT '[]',
    scopes                     TEXT NOT NULL DEFAULT '[]',
    audience                   TEXT NOT NULL DEFAULT '[]',
    public                     BOOLEAN NOT NULL DEFAULT FALSE,
    token_endpoint_auth_method TEXT NOT NULL DEFAULT '',
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

-- No foreign key to clients: tokens are the hottest insert, and a deleted client's tokens
-- are useless anyway (fosite looks the client up on every use).
CREATE TABLE tokens (
    kind             TEXT NOT NULL,
    signature        TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    subject          TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    access_signature TEXT NOT NULL DEFAULT '',
    requested_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    data             BYTEA NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX tokens_request_id ON tokens (request_id);
CREATE INDEX tokens_subject_client ON tokens (subject, client_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE signing_keys (
    id            TEXT PRIMARY KEY,
    algorithm     TEXT NOT NULL,
    private_key   BYTEA NOT NULL,
    public_jwk    BYTEA NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    retired_at    TIMESTAMPTZ,
    publish_until TIMESTAMPTZ
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    amr          TEXT NOT NULL DEFAULT '[]',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE grants (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]',
    claims     TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX grants_client_id ON grants (client_id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE counters (
    key          TEXT PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL
);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE counters;
DROP TABLE settings;
DROP TABLE grants;
DROP TABLE sessions;
DROP TABLE signing_keys;
DROP TABLE tokens;
DROP TABLE clients;
DROP TABLE profile_fields;
DROP TABLE users;
