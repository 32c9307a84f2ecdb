ALTER TABLE lead_imports DROP COLUMN IF EXISTS in_other_campaign;
