-- The centre's view (resources, judgement, the front line) and open data of outcomes.
-- Ideas keep who raised them (a pseudonym, for campaigns' reach), the conversation they came from and the
-- time box they were backed for. Outcomes keep their summary: it is published as open data, as written by
-- the department, with anything shaped like a pseudonym, an email address, a phone number or a National
-- Insurance number removed (domain.published). Ideas' free text other than titles is still never stored.
-- Rows applied before this migration have these columns empty until a rebuild
-- (python -m services.reporting rebuild) replays their events.
ALTER TABLE ideas ADD COLUMN submitted_by text;
ALTER TABLE ideas ADD COLUMN conversation_id uuid;
ALTER TABLE ideas ADD COLUMN timebox_weeks smallint;
ALTER TABLE outcomes ADD COLUMN summary text;

-- Who took part in each calendar month (UTC) of the event time: people taking part over time.
CREATE TABLE participation (
    department text NOT NULL,
    pseudonym  text NOT NULL,
    month      date NOT NULL,  -- the first day of the month
    PRIMARY KEY (department, month, pseudonym)
);
