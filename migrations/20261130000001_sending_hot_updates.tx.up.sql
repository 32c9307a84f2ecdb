-- Room on each page for the sending engine's updates to stay HOT
-- (heap-only: the new row version goes on the same page and no index
-- gets a new entry). A send moves its sequence on (current_step,
-- updated_at: no index covers them) and its lead (last_contacted_at,
-- updated_at; status only on the first contact), once per message; with
-- full pages (bulk imports and generation fill them to 100 %) every such
-- update moved the row to another page and wrote a new entry into each of
-- the table's indexes (sequences 5, leads 9 with a trigram GIN). Applies
-- to pages written from now on; existing pages get it as they are
-- rewritten (VACUUM FULL / CLUSTER), and nothing needs them to.
ALTER TABLE sequences SET (fillfactor = 80);

--bun:split

ALTER TABLE leads SET (fillfactor = 90);
