-- Favorites of the application catalog.
--
-- A row marks one app favorite for one user; it goes with the user and with the app. Whether
-- a favorite shows is decided when it is read (the app still in the catalog and, when closed,
-- the user still holding access), so the row outlives an app leaving the catalog.

-- +goose Up
CREATE TABLE favorites (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX favorites_client_id ON favorites (client_id);

-- +goose Down
DROP TABLE favorites;
