package notifications

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// notifyEachSQL is notifySQL for many notifications at once: one row per
// notification and recipient, each with its own columns and preference
// (text arrays, where an empty string is NULL).
const notifyEachSQL = `
INSERT INTO notifications (id, org_id, user_id, type, title, message, campaign_id, lead_id,
                           inbox_message_id, autopilot_session_id, action_url, created_at)
SELECT r.id::uuid, m.org_id, m.user_id, r.type, r.title, nullif(r.message, ''), nullif(r.campaign_id, '')::uuid,
       nullif(r.lead_id, '')::uuid, nullif(r.inbox_message_id, '')::uuid, nullif(r.autopilot_session_id, '')::uuid,
       nullif(r.action_url, ''), COALESCE(nullif(r.at, '')::timestamptz, now())
  FROM unnest(?0::text[], ?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[],
              ?9::text[], ?10::text[], ?11::text[])
       AS r(id, user_id, type, title, message, campaign_id, lead_id, inbox_message_id, autopilot_session_id, action_url, at, pref)
  JOIN memberships m ON m.org_id = ?12 AND m.user_id = r.user_id::uuid
  JOIN users u ON u.id = m.user_id
 WHERE r.pref = '' OR COALESCE((u.notification_preferences ->> r.pref)::boolean, true)
RETURNING id`

// NotifyAdminsEach is NotifyAdmins for each of ns, in two statements
// whatever their number (the owners and admins are read once): what a
// batch of replies synced in one transaction needs. Each notification's
// preference gates it per recipient as Notify does. It returns the ids
// created.
func NotifyAdminsEach(ctx context.Context, tx bun.IDB, org uuid.UUID, ns []New) ([]uuid.UUID, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	users, err := Admins(ctx, tx, org)
	if err != nil || len(users) == 0 {
		return nil, err
	}
	k := len(ns) * len(users)
	cols := make([][]string, 12)
	for i := range cols {
		cols[i] = make([]string, 0, k)
	}
	id := func(u uuid.UUID) string {
		if u == uuid.Nil {
			return ""
		}
		return u.String()
	}
	for _, n := range ns {
		if err := n.check(); err != nil {
			return nil, err
		}
		at := ""
		if !n.At.IsZero() {
			at = n.At.Format(time.RFC3339Nano)
		}
		for _, u := range users {
			for i, v := range []string{uuid.Must(uuid.NewV7()).String(), u.String(), n.Type, n.Title, n.Message, id(n.CampaignID), id(n.LeadID),
				id(n.InboxMessageID), id(n.AutopilotSessionID), n.ActionURL, at, n.preference()} {
				cols[i] = append(cols[i], v)
			}
		}
	}
	args := make([]any, 0, 13)
	for _, c := range cols {
		args = append(args, pgdialect.Array(c))
	}
	args = append(args, org)
	var out []uuid.UUID
	if err := tx.NewRaw(notifyEachSQL, args...).Scan(ctx, &out); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("notifications: notify %d: %w", len(ns), database.Interpret(err))
	}
	return out, nil
}
