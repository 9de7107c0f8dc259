-- Per-client PKCE policy (RFC 9700 §2.1.1: PKCE for every client, optional only for a confidential one an administrator allows).
--
-- pkce is 'required' (every authorization request carries an S256 code_challenge; the
-- default, and always the case for public clients) or 'optional' (a confidential client may
-- omit PKCE; a code_challenge it sends is still enforced).

-- +goose Up
ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required';

-- +goose Down
ALTER TABLE clients DROP COLUMN pkce;
