-- tokens.rotated_at is when a refresh token was rotated (superseded by a new one in a refresh),
-- NULL for every other row and for refresh tokens that are active or were revoked. The reuse
-- grace reads it: a client whose refresh answer was lost retries with the token it sent, and
-- within the grace that token is rotated again instead of revoking the family
-- (oauth/store.go). Revoked tokens keep NULL, so a revoked family is never revived.

-- +goose Up
ALTER TABLE tokens ADD COLUMN rotated_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE tokens DROP COLUMN rotated_at;
