-- The system an idea or a conversation came from: the `source` of its idea.submitted or conversation.recorded
-- event, the ideas API's own for those made through it, a departmental system's for those from the intake.
-- Rows from before this migration have none. A conversation from the intake names no recorder.
ALTER TABLE ideas ADD COLUMN source text;
ALTER TABLE conversations ADD COLUMN source text;
ALTER TABLE conversations ALTER COLUMN recorded_by DROP NOT NULL;
