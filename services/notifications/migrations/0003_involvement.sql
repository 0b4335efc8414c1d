-- Issue 15: people hear about what they are involved in, in the rhythm they chose.

-- A subscription is now a person's address and preferences. event_types are the department's
-- news they chose (may be empty); preferences map each kind (my_ideas, endorsed, review_queue,
-- department) to immediately, daily, weekly or never; a kind not named takes its default.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_event_types_check;
ALTER TABLE subscriptions
    ADD COLUMN preferences     jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN reviewer        boolean     NOT NULL DEFAULT false,  -- hears of new ideas waiting for review
    ADD COLUMN unsubscribe_key uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,  -- named by unsubscribe links
    ADD COLUMN email_refused_at timestamptz;  -- GOV.UK Notify said the address cannot receive email

-- What the service knows of its department's ideas, experiments and outcomes (from the events),
-- to say what an event is about and whom it concerns.
CREATE TABLE known_ideas (
    idea_id      uuid        PRIMARY KEY,
    title        text        NOT NULL,
    submitted_by text        NOT NULL
);
CREATE TABLE known_experiments (
    experiment_id uuid       PRIMARY KEY,
    idea_id       uuid       NOT NULL
);
CREATE TABLE known_outcomes (
    outcome_id    uuid       PRIMARY KEY,
    experiment_id uuid       NOT NULL,
    idea_id       uuid       NOT NULL
);

-- Who is involved in an idea, and how: they hear what happens to it without subscribing.
CREATE TABLE involvement (
    idea_id  uuid NOT NULL,
    person   text NOT NULL CHECK (person ~ '^p_[0-9a-f]{16}$'),
    role     text NOT NULL CHECK (role IN ('submitter', 'endorser', 'reviewer', 'squad')),
    PRIMARY KEY (idea_id, person, role)
);
CREATE INDEX involvement_by_person ON involvement (person);

-- People who review the department's ideas (seen acting as reviewers, or registered as such).
CREATE TABLE reviewers (
    person text PRIMARY KEY CHECK (person ~ '^p_[0-9a-f]{16}$'),
    since  timestamptz NOT NULL DEFAULT now()
);

-- A digest: one email to one person with every notice of a rhythm up to period_end.
CREATE TABLE digests (
    digest_id  uuid        PRIMARY KEY,
    person     text        NOT NULL,
    rhythm     text        NOT NULL CHECK (rhythm IN ('daily', 'weekly')),
    period_end timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (person, rhythm, period_end)
);

-- One notice per (event, person): what the person is told, as which kind, in which rhythm.
-- An immediate notice becomes a delivery at once; a digest notice waits for its digest
-- (digest_id), and is dropped if the person chose `never` for its kind before then.
CREATE TABLE notices (
    notice_id  uuid        PRIMARY KEY,
    seq        bigserial   NOT NULL UNIQUE,
    event_id   uuid        NOT NULL REFERENCES notified_events,
    person     text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('my_ideas', 'endorsed', 'review_queue', 'department')),
    rhythm     text        NOT NULL CHECK (rhythm IN ('immediately', 'daily', 'weekly')),
    digest_id  uuid        REFERENCES digests,
    dropped    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, person)
);
CREATE INDEX notices_waiting ON notices (rhythm, created_at) WHERE digest_id IS NULL AND NOT dropped AND rhythm <> 'immediately';
CREATE INDEX notices_by_digest ON notices (digest_id, seq);

-- A delivery is now of one event (to a person or a webhook) or of one digest (to a person);
-- `sent` is an email GOV.UK Notify accepted and has not yet reported on (provider_id is its id).
ALTER TABLE deliveries ALTER COLUMN event_id DROP NOT NULL, ALTER COLUMN event_type DROP NOT NULL;
ALTER TABLE deliveries
    ADD COLUMN kind        text CHECK (kind IN ('my_ideas', 'endorsed', 'review_queue', 'department')),
    ADD COLUMN digest_id   uuid UNIQUE REFERENCES digests,
    ADD COLUMN provider_id text UNIQUE,
    ADD CONSTRAINT deliveries_of_one_thing CHECK ((event_id IS NULL) <> (digest_id IS NULL));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sent', 'delivered', 'failed'));
