-- claim_declines remembers each on-request claim a user left unticked on an app's consent
-- page, per (user, app, claim), until the user allows it: the app's next authorization asks
-- only for claims never decided. Allowed claims stay in grants.claims; a claim is in one of
-- the two, never both (consent writes both in one transaction). A decline belongs to the
-- grant it was made with: deleting the grant (revoking the app's permission) forgets it.
--
-- No claim is released from this table, so it has no release_version triggers: the release
-- reads grants.claims, whose triggers bump the version when a decline removes a claim there.

-- +goose Up
CREATE TABLE claim_declines (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    claim       TEXT NOT NULL,
    declined_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, client_id, claim),
    FOREIGN KEY (user_id, client_id) REFERENCES grants (user_id, client_id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE claim_declines;
