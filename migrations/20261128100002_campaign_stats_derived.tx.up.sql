-- A campaign's stats are derived from its leads and messages when read
-- (internal/campaigns, statsQuery), never stored: a stored copy is a second
-- counter that every writer of leads and messages would have to keep in
-- step, and the two would drift. The spec's campaigns.stats column goes.
ALTER TABLE campaigns DROP COLUMN stats;
