-- An unverified address reserves nothing: users.email (UNIQUE) holds only a verified address,
-- and users.unverified_email the address an account registered or kept without confirming
-- it, which any number of accounts may hold at once. The first account to confirm an address
-- takes it; the unverified holders lose it (storage.AccountStore.VerifyEmail). Without this,
-- registering someone else's address unverified would lock its owner out of registering it
-- (account pre-hijacking, OWASP ASVS 5.0 V6.3).
--
-- users.unverified_expires marks the accounts the cleanup job may delete once they are older
-- than unverified_account_ttl with nothing confirmed. Accounts that exist when this runs were
-- made when registration asked for no confirmation: they are their owners' accounts and
-- never expire that way.

-- +goose Up
ALTER TABLE users ADD COLUMN unverified_email TEXT;
ALTER TABLE users ADD COLUMN unverified_expires BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE users SET unverified_expires = FALSE;
UPDATE users SET unverified_email = email, email = NULL WHERE email IS NOT NULL AND NOT email_verified;
CREATE INDEX users_unverified_email ON users (unverified_email);

-- +goose Down
-- Back to one holder per address: the verified holder, else the oldest unverified one; the
-- other unverified holders lose the address.
UPDATE users SET email = unverified_email
 WHERE email IS NULL AND unverified_email IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email = users.unverified_email)
   AND NOT EXISTS (SELECT 1 FROM users o WHERE o.unverified_email = users.unverified_email
                   AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id)));
DROP INDEX users_unverified_email;
ALTER TABLE users DROP COLUMN unverified_expires;
ALTER TABLE users DROP COLUMN unverified_email;
