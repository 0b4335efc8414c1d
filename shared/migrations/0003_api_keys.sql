-- API keys: each bound to one department and one role; only a hash of the key is kept.
CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,
    department text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('contributor', 'reviewer', 'admin', 'viewer')),
    key_hash   bytea       NOT NULL UNIQUE,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
