-- When each person last saw their home page: ideas that changed after it are marked "updated".
CREATE TABLE portal_visits (
    subject    text        PRIMARY KEY,
    visited_at timestamptz NOT NULL
);
