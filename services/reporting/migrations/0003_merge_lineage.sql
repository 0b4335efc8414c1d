-- Merging with lineage: an idea merged into another keeps the target's department (merged_into) and now its id,
-- from idea.merged's into_idea_id, so the catalogue shows merged ideas under their target
-- (GET /v1/ideas/{department}/{idea_id}'s merged_from). Ideas merged before this migration have no id until a
-- rebuild (python -m services.reporting rebuild) replays their events.
ALTER TABLE ideas ADD COLUMN merged_into_idea_id uuid;
CREATE INDEX ideas_merged_into ON ideas (merged_into, merged_into_idea_id) WHERE merged_into_idea_id IS NOT NULL;
