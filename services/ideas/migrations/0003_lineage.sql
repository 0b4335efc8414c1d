-- Merging with lineage: an idea merged into another idea of this department points at it, so the target
-- lists what was merged into it and counts its endorsements (services/ideas/repository.py, docs/ideas.md).
-- A merge into another department's idea leaves merged_into null (the closure names the target).
-- Reviews: one per reviewer per idea (the domain's rule, under the idea's row lock); the index serves the
-- review queue's "not reviewed by me" and the rule's look-up.
ALTER TABLE ideas ADD COLUMN merged_into uuid;
CREATE INDEX ideas_merged_into ON ideas (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX reviews_reviewer ON reviews (reviewer, idea_id);

-- Ideas merged before this migration, into an idea of this department (one this database holds).
UPDATE ideas m SET merged_into = (m.closure->>'into_idea_id')::uuid
WHERE m.status = 'merged' AND (m.closure->>'into_idea_id')::uuid <> m.idea_id
  AND EXISTS (SELECT FROM ideas t WHERE t.idea_id = (m.closure->>'into_idea_id')::uuid);

-- Their targets' endorsements become the distinct people who endorsed the target or anything merged into it,
-- through any chain of merges (UNION ends on a cycle an unchecked old merge could have made).
WITH RECURSIVE lineage(root, idea_id) AS (
    SELECT idea_id, idea_id FROM ideas
    UNION
    SELECT l.root, m.idea_id FROM ideas m JOIN lineage l ON m.merged_into = l.idea_id
)
UPDATE ideas i SET endorsements = c.people
FROM (SELECT l.root, count(DISTINCT e.endorsed_by)::int AS people
      FROM lineage l JOIN endorsements e ON e.idea_id = l.idea_id GROUP BY l.root) c
WHERE c.root = i.idea_id AND i.endorsements <> c.people;
