-- Account security: the login failure tallies that slow password guessing down, the
-- authenticator app (TOTP) of an account and its recovery codes.
--
-- login_failures counts failed logins per key (an account, an unknown login, a client IP, a
-- device cookie) with the time of the last one; a tally older than its key's memory starts
-- again. mfa_totp holds the TOTP secret encrypted with a key derived from the system secret
-- (never in clear), whether the first code confirmed it, and the last time step accepted, so
-- a code is used once (RFC 6238 §5.2). mfa_recovery_codes holds only keyed hashes of the
-- codes; a used code keeps its row with used_at.

-- +goose Up
CREATE TABLE login_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at DATETIME NOT NULL
);

CREATE TABLE mfa_totp (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    confirmed  BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    used_at    DATETIME,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
DROP TABLE login_failures;
