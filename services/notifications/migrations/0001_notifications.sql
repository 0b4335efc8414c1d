-- Subscriptions: one per person (named by pseudonym). The email address is personal data held
-- only here, in this department's database; it is never published.
CREATE TABLE subscriptions (
    person        text        PRIMARY KEY CHECK (person ~ '^p_[0-9a-f]{16}$'),
    email         text        NOT NULL,
    display_name  text,
    event_types   text[]      NOT NULL CHECK (cardinality(event_types) >= 1),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_by_type ON subscriptions USING gin (event_types);

-- Webhooks: the secret is kept in clear because every delivery is signed with it (HMAC-SHA256).
CREATE TABLE webhooks (
    webhook_id    uuid        PRIMARY KEY,
    seq           bigserial   NOT NULL UNIQUE,
    url           text        NOT NULL,
    secret        text        NOT NULL,
    event_types   text[]      NOT NULL CHECK (cardinality(event_types) >= 1),
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_type ON webhooks USING gin (event_types);

-- The events that caused at least one delivery, as the structured CloudEvent sent to webhooks.
CREATE TABLE notified_events (
    event_id      uuid        PRIMARY KEY,
    event_type    text        NOT NULL,
    payload       bytea       NOT NULL,  -- exactly the bytes that are POSTed and signed
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per (event, recipient). next_attempt_at doubles as the lease of the worker that
-- claimed the row: a claim pushes it past the send timeout, so no other replica picks it up.
CREATE TABLE deliveries (
    delivery_id     uuid        PRIMARY KEY,
    seq             bigserial   NOT NULL UNIQUE,
    event_id        uuid        NOT NULL REFERENCES notified_events,
    event_type      text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    person          text        REFERENCES subscriptions ON DELETE SET NULL,
    webhook_id      uuid        REFERENCES webhooks ON DELETE SET NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (event_id, person),
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_status ON deliveries (status, seq);

-- Wakes the delivery workers when deliveries are added (delivered on commit, once per transaction).
CREATE FUNCTION notify_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notifications_deliveries', '');
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_deliveries();
