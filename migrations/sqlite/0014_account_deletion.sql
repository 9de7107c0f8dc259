-- Account deletion with a recovery window (spec "Account Deletion and Recovery").
--
-- users.deletion_requested_at and users.purge_after are set when the owner deletes the
-- account (status pending_deletion) and cleared when they restore it. After purge_after the
-- purge job deletes the users row, and with it, by cascade, everything of the account that
-- refers to it; it deletes the rows that do not (tokens by subject, session_clients), all in
-- one transaction per account. users_purge_due lets the job find the accounts due without
-- reading the others.
--
-- user_tombstones keeps the id (the OIDC "sub") of every purged account and nothing else:
-- an id must never name another person (OIDC Core §2: sub is never reassigned), so a
-- trigger refuses a new account under a purged id.

-- +goose Up
ALTER TABLE users ADD COLUMN deletion_requested_at DATETIME;
ALTER TABLE users ADD COLUMN purge_after DATETIME;
CREATE INDEX users_purge_due ON users (purge_after) WHERE status = 'pending_deletion';

CREATE TABLE user_tombstones (
    id        TEXT PRIMARY KEY,
    purged_at DATETIME NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER users_not_tombstone BEFORE INSERT ON users
    WHEN EXISTS (SELECT 1 FROM user_tombstones WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'the id belonged to a purged account');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_not_tombstone;
DROP TABLE user_tombstones;
DROP INDEX users_purge_due;
ALTER TABLE users DROP COLUMN purge_after;
ALTER TABLE users DROP COLUMN deletion_requested_at;
