DROP VIEW IF EXISTS sequences_with_progress;

--bun:split

COMMENT ON COLUMN sequences.current_step IS NULL;

--bun:split

-- current_step as the sending engine would have kept it meanwhile.
UPDATE sequences s SET current_step = p.step
  FROM (SELECT org_id, sequence_id, max(step) AS step FROM messages
         WHERE sequence_id IS NOT NULL AND sent_at IS NOT NULL GROUP BY org_id, sequence_id) p
 WHERE s.org_id = p.org_id AND s.id = p.sequence_id AND s.current_step < p.step;
