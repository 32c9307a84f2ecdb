DROP VIEW IF EXISTS sequences_with_progress;

--bun:split

ALTER TABLE sequences ADD COLUMN current_step integer NOT NULL DEFAULT 0 CHECK (current_step >= 0);

--bun:split

UPDATE sequences s SET current_step = p.step
  FROM (SELECT org_id, sequence_id, max(step) AS step FROM messages
         WHERE sequence_id IS NOT NULL AND status <> 'cancelled' AND sent_at IS NOT NULL GROUP BY org_id, sequence_id) p
 WHERE s.org_id = p.org_id AND s.id = p.sequence_id;
