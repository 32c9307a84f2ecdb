-- Per-person read state of broadcast notifications (user_id NULL). The
-- spec keeps is_read on the notification, which is right for one
-- addressed to one user but would make a broadcast read for everyone as
-- soon as one member read it; for broadcasts the notifications package
-- reads and writes this table instead, and their own is_read stays false.
CREATE TABLE notification_reads (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  read_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (notification_id, user_id)
);

--bun:split

CREATE INDEX notification_reads_org_user_idx ON notification_reads (org_id, user_id);
CREATE INDEX notification_reads_user_idx ON notification_reads (user_id);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON notification_reads TO leadpilot_app;

--bun:split

ALTER TABLE notification_reads ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON notification_reads
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
