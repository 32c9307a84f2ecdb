DROP FUNCTION IF EXISTS maint_campaigns_to_schedule(integer);
