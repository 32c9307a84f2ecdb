DROP FUNCTION IF EXISTS leads_search(text, uuid, integer, uuid, text, boolean, text, timestamptz, timestamptz);
