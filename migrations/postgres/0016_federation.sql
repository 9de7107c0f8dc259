-- Upstream login methods and the identifiers linked to accounts.
--
-- login_methods holds each provider users may sign in with: its endpoints (or the issuer for
-- OIDC discovery), the client credentials Facet uses there (the secret encrypted with the
-- system secret) and how its claims map onto our fields. identifiers links one upstream
-- account (method, subject) to one user: the unique key is what keeps an upstream account
-- from being linked to two users. Both go with their user or method.

-- +goose Up
CREATE TABLE login_methods (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,
    preset        TEXT NOT NULL DEFAULT '',
    issuer        TEXT NOT NULL DEFAULT '',
    auth_url      TEXT NOT NULL DEFAULT '',
    token_url     TEXT NOT NULL DEFAULT '',
    userinfo_url  TEXT NOT NULL DEFAULT '',
    client_id     TEXT NOT NULL,
    client_secret BYTEA NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '[]',
    claim_map     TEXT NOT NULL DEFAULT '{}',
    icon_url      TEXT NOT NULL DEFAULT '',
    public        BOOLEAN NOT NULL DEFAULT FALSE,
    login_page    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE identifiers (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method_id    TEXT NOT NULL REFERENCES login_methods (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    picture      TEXT NOT NULL DEFAULT '',
    linked_at    TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    UNIQUE (method_id, subject)
);
CREATE INDEX identifiers_user_id ON identifiers (user_id);

-- +goose Down
DROP TABLE identifiers;
DROP TABLE login_methods;
