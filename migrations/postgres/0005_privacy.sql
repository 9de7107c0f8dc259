-- Privacy settings beyond per-field levels, and the disclosure record.

-- +goose Up
CREATE TABLE privacy_settings (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    private_profile BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- One line per (user, app, set of claim names), aggregated; claims_hash keys the set
-- (SHA-256 of the sorted names), claims holds them as JSON text. No foreign key to clients:
-- what a deleted app received stays visible to the user.
CREATE TABLE disclosures (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    claims_hash TEXT NOT NULL,
    claims      TEXT NOT NULL,
    first_at    TIMESTAMPTZ NOT NULL,
    last_at     TIMESTAMPTZ NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, claims_hash)
);

-- +goose Down
DROP TABLE disclosures;
DROP TABLE privacy_settings;
