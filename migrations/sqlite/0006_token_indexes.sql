-- Token lookups by request: RotateRefreshToken deletes the request's access tokens on every
-- refresh, and RevokeRequest ends one kind of token of a request. Both filter on request_id
-- and kind. A refresh family keeps every rotated (inactive) refresh token under one request
-- id for reuse detection, so with an index on request_id alone each refresh visited the whole
-- family (O(rotations)); (request_id, kind) finds the access token directly. It also serves
-- every lookup by request_id alone, so it replaces tokens_request_id.
--
-- tokens_expires_at stays: DeleteExpiredTokens would otherwise scan the whole table every
-- 10 minutes, and refresh rows live up to refresh_token_lifespan (30 days by default), so
-- each would be read thousands of times instead of costing one index entry (docs/performance.md).

-- +goose Up
CREATE INDEX tokens_request_kind ON tokens (request_id, kind);
DROP INDEX tokens_request_id;

-- +goose Down
CREATE INDEX tokens_request_id ON tokens (request_id);
DROP INDEX tokens_request_kind;
