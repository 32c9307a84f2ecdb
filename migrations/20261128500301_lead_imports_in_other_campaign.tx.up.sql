-- An import may skip contacts already present in another campaign of the
-- organisation (option skip_if_in_other_campaign, in lead_imports.options),
-- as lead creation may; the rows it skips are counted here and listed
-- among the rejected rows with the reason in_other_campaign.
ALTER TABLE lead_imports
  ADD COLUMN in_other_campaign integer NOT NULL DEFAULT 0 CHECK (in_other_campaign >= 0);
