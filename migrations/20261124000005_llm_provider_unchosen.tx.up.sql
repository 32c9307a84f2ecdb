-- An organisation that has not chosen a provider has none stored (NULL):
-- it then uses the platform's default — the first provider the deployment
-- has a key for, else the built-in one — and follows that default if the
-- deployment adds a key later. Storing 'builtin' at signup froze every new
-- organisation on the offline provider.
ALTER TABLE organizations ALTER COLUMN llm_provider DROP NOT NULL;

--bun:split

ALTER TABLE organizations ALTER COLUMN llm_provider DROP DEFAULT;

--bun:split

UPDATE organizations SET llm_provider = NULL
WHERE llm_provider = 'builtin' AND llm_model IS NULL AND llm_api_key_encrypted IS NULL
  AND llm_settings = '{}'::jsonb;
