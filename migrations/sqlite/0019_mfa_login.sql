-- The second login step and the per-client two-factor policy.
--
-- login_challenges holds a sign-in that is waiting for its second factor: after a right
-- password (the methods so far in amr), or a signed-in session asked to prove a second
-- factor again (step-up, session_id names it). The browser holds a random token; only its
-- SHA-256 is stored. A challenge lives a few minutes, counts wrong codes and is deleted when
-- it is used, so it cannot be replayed on another node.
--
-- clients.require_mfa: the app admits only sign-ins with a second factor.

-- +goose Up
CREATE TABLE login_challenges (
    id_hash    BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr        TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    return_to  TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX login_challenges_expires ON login_challenges (expires_at);

ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_mfa;
DROP TABLE login_challenges;
