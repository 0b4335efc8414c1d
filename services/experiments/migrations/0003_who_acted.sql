-- Who acted at each step, and the squad named on the plan. The history is one list in the row, like the
-- measurements: each step {step, by, at, detail}, oldest first; a measurement gains recorded_by and the outcome
-- recorded_by (both inside their jsonb).
ALTER TABLE experiments
    ADD COLUMN squad_lead text,
    ADD COLUMN squad      jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN history    jsonb NOT NULL DEFAULT '[]';

-- Experiments from before: their history as far as the row tells it, with nobody named (by null). A date becomes
-- the start of that day (UTC); completed and abandoned are the row's last change; a plan is dated no later than
-- the start (or the last change); reschedules were not kept and are missing.
UPDATE experiments e SET history = coalesce((
    SELECT jsonb_agg(jsonb_build_object('step', s.step, 'by', NULL, 'at', s.at, 'detail', s.detail)
                     ORDER BY s.at, s.ord)
    FROM (
        SELECT 1 AS ord, 'planned' AS step,
               least(coalesce(e.started_on::timestamp AT TIME ZONE 'UTC', e.updated_at), e.updated_at) AS at,
               e.starts_on || ' to ' || e.ends_on || ', a squad of ' || e.squad_size AS detail
        WHERE e.hypothesis IS NOT NULL
        UNION ALL
        SELECT 2, 'started', e.started_on::timestamp AT TIME ZONE 'UTC', 'started on ' || e.started_on
        WHERE e.started_on IS NOT NULL
        UNION ALL
        SELECT 3, 'measured', (m->>'measured_on')::date::timestamp AT TIME ZONE 'UTC',
               (m->>'value') || coalesce(' ' || (e.measure->>'unit'), '') || ' on ' || (m->>'measured_on')
        FROM jsonb_array_elements(e.measurements) AS m
        UNION ALL
        SELECT 4, 'overdue', e.overdue_at, 'the end date ' || e.ends_on || ' passed with no outcome'
        WHERE e.overdue_at IS NOT NULL
        UNION ALL
        SELECT 5, 'completed', e.updated_at, e.outcome->>'result' WHERE e.status = 'completed'
        UNION ALL
        SELECT 5, 'abandoned', e.updated_at, e.abandon_reason WHERE e.status = 'abandoned'
    ) AS s
), '[]')
WHERE e.history = '[]';
