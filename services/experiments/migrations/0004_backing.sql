-- What the backing gave, kept apart from what the plan uses: a plan may use less than the backing and a
-- later plan may go back up to it. Experiments opened before this migration take their current figures
-- (a plan that used less before it cannot go back up).
ALTER TABLE experiments
    ADD COLUMN backed_budget_gbp double precision,
    ADD COLUMN backed_staff_days double precision;
UPDATE experiments SET backed_budget_gbp = budget_gbp, backed_staff_days = staff_days;
ALTER TABLE experiments
    ALTER COLUMN backed_budget_gbp SET NOT NULL,
    ALTER COLUMN backed_staff_days SET NOT NULL;
