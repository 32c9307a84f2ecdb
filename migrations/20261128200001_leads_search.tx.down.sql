DROP INDEX IF EXISTS leads_search_trgm_idx;

--bun:split

DROP EXTENSION IF EXISTS pg_trgm;
