-- Per-client PKCE policy (issue 13).
--
-- pkce is 'required' (every authorization request carries an S256 code_challenge; the
-- default, and always the case for public clients) or 'optional' (a confidential client may
-- omit PKCE; a code_challenge it sends is still enforced).

-- +goose Up
ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required';

-- +goose Down
ALTER TABLE clients DROP COLUMN pkce;
