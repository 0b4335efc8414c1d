-- The inbox is keyed by the CloudEvents identity, (source, id), per consumer. Rows recorded before
-- this migration keep an empty source: their events were applied, and the offsets past them committed.
ALTER TABLE inbox ADD COLUMN source text NOT NULL DEFAULT '';
ALTER TABLE inbox ALTER COLUMN source DROP DEFAULT;
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (consumer, source, event_id);
