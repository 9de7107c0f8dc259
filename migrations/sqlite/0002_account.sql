-- +goose Up
-- preferred_username is a login name: unique among users (values are stored lower-cased by
-- the catalog). A partial unique index holds under concurrent saves; a cleared (empty) name
-- takes no slot.
CREATE UNIQUE INDEX profile_fields_preferred_username ON profile_fields (value)
    WHERE field = 'preferred_username' AND value <> '';

-- +goose Down
DROP INDEX profile_fields_preferred_username;
