DROP FUNCTION IF EXISTS maint_prune_send_counts(timestamptz);

--bun:split

DROP TABLE IF EXISTS send_counts;
