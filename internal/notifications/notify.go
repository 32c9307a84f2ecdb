package notifications

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// New is a notification to create.
type New struct {
	// Type is one of Types.
	Type    string
	Title   string
	Message string
	// CampaignID, LeadID, InboxMessageID and AutopilotSessionID link what
	// the notification is about (uuid.Nil: nothing); each must be the
	// organisation's.
	CampaignID         uuid.UUID
	LeadID             uuid.UUID
	InboxMessageID     uuid.UUID
	AutopilotSessionID uuid.UUID
	// ActionURL is where the frontend takes the user (a path in the app).
	ActionURL string
	// Users are the recipients; one notification each. Users who are not
	// members of the organisation are skipped.
	Users []uuid.UUID
	// Broadcast creates one organisation-wide notification (user_id NULL)
	// instead, seen by every member and API key; Users must be empty.
	Broadcast bool
	// Channel (email, sms, whatsapp) is where a reply came in, for the
	// reply preferences (see the package doc); empty gates nothing.
	Channel string
	// At is the creation time; zero means the transaction's now().
	At time.Time
}

// preference names the user preference that gates n, or "".
func (n New) preference() string {
	switch n.Type {
	case TypeDailyDigest:
		return PrefDailyDigest
	case TypeReplyReceived, TypePositiveReply:
		switch n.Channel {
		case "email":
			return PrefEmailReplies
		case "sms":
			return PrefSMSReplies
		case "whatsapp":
			return PrefWhatsAppReplies
		}
	}
	return ""
}

func (n New) check() error {
	if !slices.Contains(Types, n.Type) {
		return fmt.Errorf("notifications: unknown type %q", n.Type)
	}
	if n.Title == "" {
		return fmt.Errorf("notifications: a %s notification needs a title", n.Type)
	}
	if n.Broadcast && len(n.Users) > 0 {
		return fmt.Errorf("notifications: a broadcast has no users")
	}
	return nil
}

func nullID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// notifySQL inserts one notification per recipient who is a member of the
// organisation and whose preference (when one gates the type) is not
// false. The parameters after the arrays are the org, the preference name
// (empty gates nothing) and the columns.
const notifySQL = `
INSERT INTO notifications (id, org_id, user_id, type, title, message, campaign_id, lead_id,
                           inbox_message_id, autopilot_session_id, action_url, created_at)
SELECT r.id, m.org_id, m.user_id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, COALESCE(?11::timestamptz, now())
  FROM unnest(?0::uuid[], ?1::uuid[]) AS r(id, user_id)
  JOIN memberships m ON m.org_id = ?2 AND m.user_id = r.user_id
  JOIN users u ON u.id = m.user_id
 WHERE ?12 = '' OR COALESCE((u.notification_preferences ->> ?12)::boolean, true)
RETURNING id`

// Notify creates n in tx, the caller's transaction in org's tenant
// context, and returns the ids created (fewer than n.Users when some are
// not members or opted out).
func Notify(ctx context.Context, tx bun.IDB, org uuid.UUID, n New) ([]uuid.UUID, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	if n.Broadcast {
		id := uuid.Must(uuid.NewV7())
		_, err := tx.NewRaw(`INSERT INTO notifications (id, org_id, type, title, message, campaign_id, lead_id, inbox_message_id,
			autopilot_session_id, action_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?::timestamptz, now()))`,
			id, org, n.Type, n.Title, nullString(n.Message), nullID(n.CampaignID), nullID(n.LeadID), nullID(n.InboxMessageID),
			nullID(n.AutopilotSessionID), nullString(n.ActionURL), nullTime(n.At)).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("notifications: broadcast %s: %w", n.Type, database.Interpret(err))
		}
		return []uuid.UUID{id}, nil
	}
	users := dedupe(n.Users)
	if len(users) == 0 {
		return nil, nil
	}
	ids := make([]string, len(users))
	uids := make([]string, len(users))
	for i, u := range users {
		ids[i], uids[i] = uuid.Must(uuid.NewV7()).String(), u.String()
	}
	var out []uuid.UUID
	err := tx.NewRaw(notifySQL, pgdialect.Array(ids), pgdialect.Array(uids), org, n.Type, n.Title, nullString(n.Message),
		nullID(n.CampaignID), nullID(n.LeadID), nullID(n.InboxMessageID), nullID(n.AutopilotSessionID), nullString(n.ActionURL),
		nullTime(n.At), n.preference()).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("notifications: notify %s: %w", n.Type, database.Interpret(err))
	}
	return out, nil
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if id != uuid.Nil && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Admins returns the user ids of org's owners and admins, read in tx.
func Admins(ctx context.Context, tx bun.IDB, org uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	if err := tx.NewRaw(`SELECT user_id FROM memberships WHERE org_id = ? AND role IN ('owner', 'admin') ORDER BY user_id`, org).Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("notifications: admins of %s: %w", org, database.Interpret(err))
	}
	return ids, nil
}

// NotifyAdmins creates n for each of org's owners and admins in tx (n.Users
// and n.Broadcast are ignored) and returns the ids created.
func NotifyAdmins(ctx context.Context, tx bun.IDB, org uuid.UUID, n New) ([]uuid.UUID, error) {
	users, err := Admins(ctx, tx, org)
	if err != nil {
		return nil, err
	}
	n.Users, n.Broadcast = users, false
	return Notify(ctx, tx, org, n)
}

// approvalSQL creates, for each recipient, the campaign's unread
// approval_needed notification, or refreshes the one that is still unread
// (the partial unique index notifications_approval_needed_unread_key):
// its title, message and time change, its id stays. The title names the
// campaign; a campaign that is not the organisation's notifies no one.
const approvalSQL = `
INSERT INTO notifications (id, org_id, user_id, type, title, message, campaign_id, action_url, created_at)
SELECT r.id, c.org_id, r.user_id, 'approval_needed', ?3 || c.name, ?4, c.id, ?6, now()
  FROM unnest(?0::uuid[], ?1::uuid[]) AS r(id, user_id)
  JOIN campaigns c ON c.org_id = ?2 AND c.id = ?5
ON CONFLICT (org_id, campaign_id, user_id) WHERE type = 'approval_needed' AND NOT is_read
DO UPDATE SET title = excluded.title, message = excluded.message, action_url = excluded.action_url, created_at = excluded.created_at
RETURNING id`

// ApprovalNeeded tells org's owners and admins, in tx, that campaignID has
// leadsWaiting leads and sequencesWaiting sequences awaiting approval:
// one approval_needed notification per campaign and person, refreshed
// rather than duplicated while it is unread. With nothing waiting, the
// unread ones are withdrawn (deleted): there is nothing left to act on.
// It returns the ids of the notifications created or refreshed.
func ApprovalNeeded(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, leadsWaiting, sequencesWaiting int) ([]uuid.UUID, error) {
	if leadsWaiting <= 0 && sequencesWaiting <= 0 {
		if _, err := tx.NewRaw(`DELETE FROM notifications WHERE org_id = ? AND campaign_id = ? AND type = 'approval_needed' AND NOT is_read`,
			org, campaignID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("notifications: withdraw approval_needed for campaign %s: %w", campaignID, database.Interpret(err))
		}
		return nil, nil
	}
	users, err := Admins(ctx, tx, org)
	if err != nil || len(users) == 0 {
		return nil, err
	}
	ids, uids := make([]string, len(users)), make([]string, len(users))
	for i, u := range users {
		ids[i], uids[i] = uuid.Must(uuid.NewV7()).String(), u.String()
	}
	title, message := approvalText(leadsWaiting, sequencesWaiting)
	var out []uuid.UUID
	err = tx.NewRaw(approvalSQL, pgdialect.Array(ids), pgdialect.Array(uids), org, title, message, campaignID,
		"/campaigns/"+campaignID.String()+"/approvals").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("notifications: approval_needed for campaign %s: %w", campaignID, database.Interpret(err))
	}
	return out, nil
}

func approvalText(leads, seqs int) (string, string) {
	var parts []string
	if leads > 0 {
		parts = append(parts, plural(leads, "lead", "leads"))
	}
	if seqs > 0 {
		parts = append(parts, plural(seqs, "sequence", "sequences"))
	}
	what := parts[0]
	if len(parts) == 2 {
		what += " and " + parts[1]
	}
	verb := "is"
	if leads+seqs > 1 {
		verb = "are"
	}
	return "Approval needed: ", fmt.Sprintf("%s %s waiting for your approval.", what, verb)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
