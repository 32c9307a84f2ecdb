-- One unread approval_needed notification per (campaign, user): the
-- notifications package refreshes it (INSERT … ON CONFLICT) instead of
-- stacking a new one each time the count of waiting leads or sequences
-- changes. Once read, the next one is a new notification.
CREATE UNIQUE INDEX notifications_approval_needed_unread_key
  ON notifications (org_id, campaign_id, user_id)
  WHERE type = 'approval_needed' AND NOT is_read;
