DROP INDEX IF EXISTS sequence_templates_usage_name_idx;
DROP FUNCTION IF EXISTS template_count_use(uuid);
