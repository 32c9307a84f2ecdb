ALTER TABLE leads RESET (fillfactor);

--bun:split

ALTER TABLE sequences RESET (fillfactor);
