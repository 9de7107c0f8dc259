-- Closed apps and invitations.
--
-- clients gain closed (invite-only), in_catalog and type (the catalog group). client_access
-- lists the users a closed app admits (an accepted invitation or an administrator's grant).
-- invitations holds each invitation by the HMAC of its token, never the token itself; state
-- is pending, accepted, declined or revoked, and an accepted one names the account.

-- +goose Up
ALTER TABLE clients ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN in_catalog INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN type TEXT NOT NULL DEFAULT '';

CREATE TABLE client_access (
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at DATETIME NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX client_access_user_id ON client_access (user_id);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL DEFAULT 'pending',
    user_id     TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    answered_at DATETIME
);
CREATE INDEX invitations_email ON invitations (email);
CREATE INDEX invitations_client_id ON invitations (client_id);

-- +goose Down
DROP TABLE invitations;
DROP TABLE client_access;
ALTER TABLE clients DROP COLUMN type;
ALTER TABLE clients DROP COLUMN in_catalog;
ALTER TABLE clients DROP COLUMN closed;
