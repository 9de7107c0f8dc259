-- users.release_version counts the changes of everything GetReleaseData reads for a user:
-- the users row itself, its profile_fields, its privacy_settings row and its grants. Triggers
-- bump it in the same transaction as each change, so a node may keep release data in memory
-- and check it with one primary-key read of the version (storage/sqlstore/release_cache.go):
-- a change made on any node shows in the very next release on every node. The version only
-- grows; a change that rolls back takes its bump with it.

-- +goose Up
ALTER TABLE users ADD COLUMN release_version BIGINT NOT NULL DEFAULT 0;

-- Any UPDATE of a users row bumps the version, unless the statement sets it itself (the
-- bumps below do): one BEFORE trigger, so the bump costs no second row version.
-- +goose StatementBegin
CREATE FUNCTION users_release_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.release_version = OLD.release_version THEN
        NEW.release_version := OLD.release_version + 1;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_release_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_release_version();

-- A row of profile_fields, privacy_settings or grants changed: bump its user (both users
-- when an UPDATE moved the row from one to another). When a user is deleted its rows go by
-- cascade and the UPDATE finds no user: nothing to bump.
--
-- The bumps are deferred to the commit (constraint triggers, INITIALLY DEFERRED): still in
-- the changing transaction, so the new data and its version become visible together, but the
-- users row is locked only at the end. Bumping at each row instead would lock the user from
-- the first changed row on, so two transactions changing different rows of one user would
-- queue behind each other, and deadlock when each then waits for a row the other holds (two
-- profile saves of one user with overlapping fields).
-- +goose StatementBegin
CREATE FUNCTION bump_release_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE users SET release_version = release_version + 1 WHERE id = OLD.user_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        UPDATE users SET release_version = release_version + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER profile_fields_release_version AFTER INSERT OR UPDATE OR DELETE ON profile_fields
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_release_version();
CREATE CONSTRAINT TRIGGER privacy_settings_release_version AFTER INSERT OR UPDATE OR DELETE ON privacy_settings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_release_version();
CREATE CONSTRAINT TRIGGER grants_release_version AFTER INSERT OR UPDATE OR DELETE ON grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_release_version();

-- +goose Down
DROP TRIGGER grants_release_version ON grants;
DROP TRIGGER privacy_settings_release_version ON privacy_settings;
DROP TRIGGER profile_fields_release_version ON profile_fields;
DROP FUNCTION bump_release_version();
DROP TRIGGER users_release_version ON users;
DROP FUNCTION users_release_version();
ALTER TABLE users DROP COLUMN release_version;
