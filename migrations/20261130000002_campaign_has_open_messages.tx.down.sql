DROP FUNCTION IF EXISTS campaign_has_open_messages(uuid, uuid);
