DROP TABLE IF EXISTS llm_usage_daily;
