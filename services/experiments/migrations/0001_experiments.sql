-- Experiments: one per backed idea. Measurements and the outcome are small and read with
-- the experiment, so they live in its row.
CREATE TABLE experiments (
    experiment_id  uuid PRIMARY KEY,
    seq            bigserial   NOT NULL UNIQUE,  -- creation order, for cursor pagination
    idea_id        uuid        NOT NULL UNIQUE,
    status         text        NOT NULL CHECK (status IN ('planning', 'running', 'completed', 'abandoned')),
    budget_gbp     double precision NOT NULL CHECK (budget_gbp >= 0),
    staff_days     double precision NOT NULL CHECK (staff_days >= 0),
    timebox_weeks  integer     NOT NULL CHECK (timebox_weeks BETWEEN 1 AND 52),
    correlation_id text        NOT NULL,
    starts_on      date        NOT NULL,
    ends_on        date        NOT NULL CHECK (ends_on > starts_on),
    hypothesis     text,
    measure        jsonb,
    squad_size     integer,
    started_on     date,
    completed_on   date,
    abandon_reason text,
    measurements   jsonb       NOT NULL DEFAULT '[]',
    outcome        jsonb,
    overdue_at     timestamptz,  -- set once, in the transaction that enqueues experiment.overdue
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiments_due ON experiments (ends_on)
    WHERE overdue_at IS NULL AND status IN ('planning', 'running');
CREATE INDEX experiments_by_status ON experiments (status, seq);

-- Every department's recorded outcomes, from their outcomes topics: what may be adopted.
CREATE TABLE outcome_catalogue (
    department     text        NOT NULL,
    outcome_id     uuid        NOT NULL,
    experiment_id  uuid        NOT NULL,
    idea_id        uuid        NOT NULL,
    result         text        NOT NULL,
    summary        text        NOT NULL,
    recommendation text        NOT NULL,
    event_id       uuid        NOT NULL,
    correlation_id text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (department, outcome_id)
);

-- This department's adoptions of other departments' outcomes.
CREATE TABLE adoptions (
    adoption_id       uuid PRIMARY KEY,
    origin_department text        NOT NULL,
    origin_outcome_id uuid        NOT NULL,
    adopted_by        text        NOT NULL,
    note              text        NOT NULL,
    adopted_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (origin_department, origin_outcome_id)
);
