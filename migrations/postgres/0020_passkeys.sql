-- Passkeys (WebAuthn credentials) and the challenges of their ceremonies.
--
-- passkeys holds each credential registered to an account: the authenticator's credential
-- id (unique: one credential names one account), its COSE public key, the last signature
-- counter and flags seen, the authenticator model (AAGUID), its transports (a JSON list),
-- the backup flags (eligible = a synced passkey) and the name the user gave it.
-- webauthn_challenges keeps a ceremony's state between its two steps, keyed by the hash of a
-- random value in a short-lived cookie: consumed once, expiring. Both go with their user.

-- +goose Up
CREATE TABLE passkeys (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BYTEA NOT NULL UNIQUE,
    public_key       BYTEA NOT NULL,
    sign_count       BIGINT NOT NULL DEFAULT 0,
    aaguid           BYTEA NOT NULL,
    transports       TEXT NOT NULL DEFAULT '[]',
    attestation_type TEXT NOT NULL DEFAULT '',
    flags            INTEGER NOT NULL DEFAULT 0,
    backup_eligible  BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state     BOOLEAN NOT NULL DEFAULT FALSE,
    name             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE webauthn_challenges (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    data       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_user_id ON webauthn_challenges (user_id);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
