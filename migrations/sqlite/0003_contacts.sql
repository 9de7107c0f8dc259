-- Contacts: pending email/phone verifications, profile photos, and the development outbox.
-- A verification row holds no code and no link token, only an HMAC of the code and a SHA-256
-- of the token. Photos live in the database so every node serves them. dev_mail keeps the
-- last messages of the development mailer (sqlstore trims it on insert).
-- A verified phone number belongs to one account: profile_fields holds only verified numbers,
-- and a partial unique index keeps two users from holding the same one.

-- +goose Up
CREATE TABLE verifications (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    code_hash    BLOB NOT NULL,
    link_hash    BLOB,
    attempts     INTEGER NOT NULL DEFAULT 0,
    expires_at   DATETIME NOT NULL,
    last_sent_at DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE UNIQUE INDEX verifications_link_hash ON verifications (link_hash) WHERE link_hash IS NOT NULL;

CREATE TABLE photos (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   DATETIME NOT NULL
);
CREATE INDEX photos_user_id ON photos (user_id);

CREATE TABLE dev_mail (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

CREATE UNIQUE INDEX profile_fields_phone_number ON profile_fields (value) WHERE field = 'phone_number' AND value <> '';

-- +goose Down
DROP INDEX profile_fields_phone_number;
DROP TABLE dev_mail;
DROP TABLE photos;
DROP TABLE verifications;
