-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
--
-- clients gain the two registration parameters of §2.2. session_clients records which apps
-- were signed in through which browser session (and under which sid, the ID token's session
-- id), so ending a session can tell exactly those apps; a row goes with its session.
-- backchannel_logouts is the durable delivery queue: a row is written in the same
-- transaction that ends the session, a node claims it by moving next_attempt_at past a
-- lease, and it ends delivered or abandoned; finished rows are deleted after a while.

-- +goose Up
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE session_clients (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    sid        TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX session_clients_user_id ON session_clients (user_id);

CREATE TABLE backchannel_logouts (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    sid             TEXT NOT NULL DEFAULT '',
    request_id      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    finished_at     DATETIME
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts (status, next_attempt_at);

-- +goose Down
DROP TABLE backchannel_logouts;
DROP TABLE session_clients;
ALTER TABLE clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
