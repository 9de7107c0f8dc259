-- Business cards and the installation's feature switches.
--
-- A user has at most one card. Its identifier is unique ignoring case: the unique index is on
-- the lower-cased value (identifiers are ASCII letters, digits and hyphens, so lower() is the
-- same in both dialects), which makes concurrent claims of one identifier race-safe. The
-- identifier is freed as soon as the row holds another. features holds the switches an
-- administrator set; a feature without a row takes the configuration's default.

-- +goose Up
CREATE TABLE cards (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX cards_identifier_lower ON cards (lower(identifier));

CREATE TABLE features (
    name       TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE features;
DROP TABLE cards;
