package campaigns

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// statsQuery counts, for each campaign id in $2, its leads and messages in
// one statement. Each lateral subquery is an aggregate without GROUP BY,
// so it yields one row (zeros) even for a campaign with nothing yet; both
// run on the (org_id, campaign_id, ...) indexes of leads and messages.
//
// What counts:
//   - total_leads: every lead in the campaign;
//   - replies_received: leads that replied (replied_at set by the inbox);
//   - positive_replies: leads classified interested, or converted after;
//   - <channel>_sent: messages that left us: sent and every state after it
//     (delivered, read, replied, bounced), never a failed-uncertain one;
//   - bounces: messages that bounced;
//   - leads_awaiting_approval: leads not approved;
//   - sequences, sequences_approved, sequences_awaiting_approval: the
//     leads' generated sequences, and how many a person (or the
//     campaign's approval mode) approved.
const statsQuery = `
SELECT c.id,
       l.total_leads, l.replies_received, l.positive_replies, l.leads_awaiting_approval,
       s.sequences, s.sequences_approved,
       m.emails_sent, m.whatsapp_sent, m.sms_sent, m.bounces
FROM unnest(?0::uuid[]) AS c (id)
CROSS JOIN LATERAL (
  SELECT count(*) AS total_leads,
         count(*) FILTER (WHERE replied_at IS NOT NULL) AS replies_received,
         count(*) FILTER (WHERE status IN ('interested', 'converted')) AS positive_replies,
         count(*) FILTER (WHERE NOT is_approved) AS leads_awaiting_approval
  FROM leads
  WHERE org_id = ?1 AND campaign_id = c.id
) l
CROSS JOIN LATERAL (
  SELECT count(*) AS sequences, count(*) FILTER (WHERE is_approved) AS sequences_approved
  FROM sequences
  WHERE org_id = ?1 AND campaign_id = c.id
) s
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE channel = 'email' AND status IN ('sent', 'delivered', 'read', 'replied', 'bounced')) AS emails_sent,
         count(*) FILTER (WHERE channel = 'whatsapp' AND status IN ('sent', 'delivered', 'read', 'replied', 'bounced')) AS whatsapp_sent,
         count(*) FILTER (WHERE channel = 'sms' AND status IN ('sent', 'delivered', 'read', 'replied', 'bounced')) AS sms_sent,
         count(*) FILTER (WHERE status = 'bounced') AS bounces
  FROM messages
  WHERE org_id = ?1 AND campaign_id = c.id
) m`

type statsRow struct {
	ID              uuid.UUID `bun:"id,type:uuid"`
	TotalLeads      int64     `bun:"total_leads"`
	RepliesReceived int64     `bun:"replies_received"`
	PositiveReplies int64     `bun:"positive_replies"`
	EmailsSent      int64     `bun:"emails_sent"`
	WhatsAppSent    int64     `bun:"whatsapp_sent"`
	SMSSent         int64     `bun:"sms_sent"`
	Bounces         int64     `bun:"bounces"`
	LeadsWaiting    int64     `bun:"leads_awaiting_approval"`
	Sequences       int64     `bun:"sequences"`
	SeqApproved     int64     `bun:"sequences_approved"`
}

// statsFor derives the stats of the campaigns ids (of one organisation).
func statsFor(ctx context.Context, tx bun.IDB, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Stats, error) {
	out := make(map[uuid.UUID]Stats, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []statsRow
	if err := tx.NewRaw(statsQuery, pgdialect.Array(ids), orgID).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("campaigns: stats: %w", database.Interpret(err))
	}
	for _, r := range rows {
		out[r.ID] = Stats{
			TotalLeads: r.TotalLeads, EmailsSent: r.EmailsSent, WhatsAppSent: r.WhatsAppSent, SMSSent: r.SMSSent,
			RepliesReceived: r.RepliesReceived, PositiveReplies: r.PositiveReplies, Bounces: r.Bounces,
			LeadsAwaitingApproval: r.LeadsWaiting, Sequences: r.Sequences, SequencesApproved: r.SeqApproved,
		}
	}
	return out, nil
}
