-- A departmental project tool completes an experiment with two events on two intake topics, experiment.completed
-- and outcome.recorded, which may arrive in either order. The first, once checked, waits here for its partner; the
-- pair then completes the experiment, and both original events are enqueued with that change (nothing before).
CREATE TABLE intake_completion_halves (
    experiment_id uuid        PRIMARY KEY REFERENCES experiments (experiment_id),
    event_id      uuid        NOT NULL,
    event         bytea       NOT NULL,  -- the original event, as CloudEvents structured-mode JSON
    held_at       timestamptz NOT NULL DEFAULT now()
);
