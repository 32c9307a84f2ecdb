UPDATE organizations SET llm_provider = 'builtin' WHERE llm_provider IS NULL;
ALTER TABLE organizations ALTER COLUMN llm_provider SET DEFAULT 'builtin';
ALTER TABLE organizations ALTER COLUMN llm_provider SET NOT NULL;
