-- The authorization requests each browser session approved, so signing one session out also
-- ends the tokens issued through it (their rows carry the request id, kept through every
-- refresh). A row goes with its session.

-- +goose Up
CREATE TABLE session_requests (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    PRIMARY KEY (session_id, request_id)
);

-- +goose Down
DROP TABLE session_requests;
