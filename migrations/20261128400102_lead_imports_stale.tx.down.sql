DROP FUNCTION IF EXISTS maint_stale_lead_imports(interval, integer);
