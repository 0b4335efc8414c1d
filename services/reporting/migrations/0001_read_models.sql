-- The read models. Names are unqualified on purpose: `rebuild` runs these same files with
-- search_path set to a fresh schema, fills it from offset 0, then moves the tables into place.
-- Only facts are stored (when each stage was first reached); every figure is a query over them
-- (services/reporting/figures.py), so applying an event is a commutative upsert: duplicates and
-- events of different streams arriving in any order give the same tables.
-- No personal data: people appear only as pseudonyms; no free text that could name someone
-- (comments, notes, reasons, summaries, problem statements) is kept. Titles and learnings are
-- published aggregate information.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE departments (
    department       text PRIMARY KEY,
    events           bigint      NOT NULL,
    first_event_at   timestamptz NOT NULL,
    last_event_at    timestamptz NOT NULL,
    last_received_at timestamptz NOT NULL
);

CREATE TABLE ideas (
    department       text NOT NULL,
    idea_id          uuid NOT NULL,
    title            text,
    campaign         text,
    themes           text[] NOT NULL DEFAULT '{}',
    submitted_at     timestamptz,
    shortlisted_at   timestamptz,
    backed_at        timestamptz,
    declined_at      timestamptz,
    withdrawn_at     timestamptz,
    merged_at        timestamptz,
    budget_gbp       double precision,
    staff_days       double precision,
    decline_reason   text,
    merged_into      text,
    status           text GENERATED ALWAYS AS (CASE
                         WHEN merged_at IS NOT NULL THEN 'merged'
                         WHEN withdrawn_at IS NOT NULL THEN 'withdrawn'
                         WHEN declined_at IS NOT NULL THEN 'declined'
                         WHEN backed_at IS NOT NULL THEN 'backed'
                         WHEN shortlisted_at IS NOT NULL THEN 'shortlisted'
                         ELSE 'submitted' END) STORED,
    title_search     tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, ''))) STORED,
    PRIMARY KEY (department, idea_id)
);
CREATE INDEX ideas_title_search ON ideas USING gin (title_search);
CREATE INDEX ideas_title_trigrams ON ideas USING gin (title gin_trgm_ops);

CREATE TABLE endorsements (
    department  text NOT NULL,
    idea_id     uuid NOT NULL,
    endorsed_by text NOT NULL,  -- a pseudonym
    endorsed_at timestamptz NOT NULL,
    PRIMARY KEY (department, idea_id, endorsed_by)
);

CREATE TABLE reviews (
    event_id        uuid PRIMARY KEY,
    department      text NOT NULL,
    idea_id         uuid NOT NULL,
    reviewed_at     timestamptz NOT NULL,
    impact          smallint NOT NULL,
    feasibility     smallint NOT NULL,
    value_for_money smallint NOT NULL,
    alignment       smallint NOT NULL
);

CREATE TABLE participants (
    department    text NOT NULL,
    pseudonym     text NOT NULL,
    first_seen_at timestamptz NOT NULL,  -- of the first event applied that named them (no figure uses it)
    PRIMARY KEY (department, pseudonym)
);

CREATE TABLE conversations (
    department      text NOT NULL,
    conversation_id uuid NOT NULL,
    held_on         date NOT NULL,
    participants    integer NOT NULL,
    ideas_raised    integer NOT NULL,
    PRIMARY KEY (department, conversation_id)
);

CREATE TABLE experiments (
    department     text NOT NULL,
    experiment_id  uuid NOT NULL,
    idea_id        uuid,
    planned_at     timestamptz,
    starts_on      date,
    ends_on        date,
    ends_on_set_at timestamptz,  -- event time of the plan or rescheduling that set ends_on
    started_on     date,
    overdue_on     date,
    completed_on   date,
    abandoned_at   timestamptz,
    squad_size     integer,
    budget_gbp     double precision,
    staff_days     double precision,
    measurements   integer NOT NULL DEFAULT 0,
    status         text GENERATED ALWAYS AS (CASE
                       WHEN abandoned_at IS NOT NULL THEN 'abandoned'
                       WHEN completed_on IS NOT NULL THEN 'completed'
                       WHEN overdue_on IS NOT NULL THEN 'overdue'
                       WHEN started_on IS NOT NULL THEN 'running'
                       ELSE 'planned' END) STORED,
    PRIMARY KEY (department, experiment_id)
);
CREATE INDEX experiments_idea ON experiments (department, idea_id);

CREATE TABLE outcomes (
    department        text NOT NULL,
    outcome_id        uuid NOT NULL,
    experiment_id     uuid NOT NULL,
    idea_id           uuid NOT NULL,
    result            text NOT NULL,
    recommendation    text NOT NULL,
    cash_savings_gbp_per_year double precision,
    hours_saved_per_year      double precision,
    people_affected           bigint,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (department, outcome_id)
);
CREATE INDEX outcomes_idea ON outcomes (department, idea_id);

CREATE TABLE learnings (
    department  text NOT NULL,
    outcome_id  uuid NOT NULL,
    position    smallint NOT NULL,
    learning    text NOT NULL,
    result      text NOT NULL,
    recorded_at timestamptz NOT NULL,
    search      tsvector GENERATED ALWAYS AS (to_tsvector('english', learning)) STORED,
    PRIMARY KEY (department, outcome_id, position)
);
CREATE INDEX learnings_search ON learnings USING gin (search);

CREATE TABLE adoptions (
    adoption_id         uuid PRIMARY KEY,
    origin_department   text NOT NULL,
    origin_outcome_id   uuid NOT NULL,
    adopting_department text NOT NULL,
    adopted_at          timestamptz NOT NULL
);
