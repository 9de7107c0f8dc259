-- users.release_version counts the changes of everything GetReleaseData reads for a user:
-- the users row itself, its profile_fields, its privacy_settings row and its grants. Triggers
-- bump it in the same transaction as each change, so a node may keep release data in memory
-- and check it with one primary-key read of the version (storage/sqlstore/release_cache.go):
-- a change made by any process shows in the very next release everywhere. The version only
-- grows; a change that rolls back takes its bump with it.
--
-- An INSERT ... ON CONFLICT DO UPDATE that updates fires the UPDATE triggers. SQLite runs
-- AFTER triggers only (no assignment to NEW), so an UPDATE of users bumps with a second
-- UPDATE of the row. That UPDATE changes release_version, so the WHEN clause stops it from
-- bumping again even if recursive_triggers were on (it is off: SQLite's default, and
-- sqlstore does not set it).

-- +goose Up
ALTER TABLE users ADD COLUMN release_version INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER users_release_version AFTER UPDATE ON users
    WHEN NEW.release_version = OLD.release_version
BEGIN
    UPDATE users SET release_version = OLD.release_version + 1 WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER profile_fields_release_insert AFTER INSERT ON profile_fields
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = NEW.user_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER profile_fields_release_update AFTER UPDATE ON profile_fields
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER profile_fields_release_delete AFTER DELETE ON profile_fields
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = OLD.user_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER privacy_settings_release_insert AFTER INSERT ON privacy_settings
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = NEW.user_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER privacy_settings_release_update AFTER UPDATE ON privacy_settings
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER privacy_settings_release_delete AFTER DELETE ON privacy_settings
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = OLD.user_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_release_insert AFTER INSERT ON grants
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = NEW.user_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER grants_release_update AFTER UPDATE ON grants
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER grants_release_delete AFTER DELETE ON grants
BEGIN
    UPDATE users SET release_version = release_version + 1 WHERE id = OLD.user_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER grants_release_delete;
DROP TRIGGER grants_release_update;
DROP TRIGGER grants_release_insert;
DROP TRIGGER privacy_settings_release_delete;
DROP TRIGGER privacy_settings_release_update;
DROP TRIGGER privacy_settings_release_insert;
DROP TRIGGER profile_fields_release_delete;
DROP TRIGGER profile_fields_release_update;
DROP TRIGGER profile_fields_release_insert;
DROP TRIGGER users_release_version;
ALTER TABLE users DROP COLUMN release_version;
