-- The outcomes library (GET /v1/outcomes): the order outcomes arrived in is the list's cursor, and
-- an outcome's adoptions are read by their origin. No summary is kept (see 0001: free text that could
-- name someone stays in the department); an outcome is its result, recommendation, benefits and learnings.
ALTER TABLE outcomes ADD COLUMN arrival bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX outcomes_arrival ON outcomes (arrival);
CREATE INDEX adoptions_origin ON adoptions (origin_department, origin_outcome_id);
