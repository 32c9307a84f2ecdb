package sending

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// limiter holds a batch's caps beyond the mailbox's own: per recipient
// domain per day (one company is not flooded), per sending domain per
// hour (all the organisation's mailboxes on one domain together), and per
// campaign for new leads (first steps) per day. Counts are of messages
// claimed since the start (the organisation's day, or the last hour), so
// the caps hold across batches and workers; the mailbox's row lock
// serialises the batches of one mailbox, and the others are counted as
// committed.
type limiter struct {
	recipientMax, sendingMax, campaignMax int
	recipient                             map[string]int
	sending                               int
	campaign                              map[uuid.UUID]int
}

func recipientDomain(l leadRow) string {
	if l.Email == nil {
		return ""
	}
	return domainOf(strings.ToLower(*l.Email))
}

func (l *limiter) recipientFull(lead leadRow) bool {
	return l.recipientMax > 0 && l.recipient[recipientDomain(lead)] >= l.recipientMax
}

func (l *limiter) sendingFull() bool { return l.sendingMax > 0 && l.sending >= l.sendingMax }

func (l *limiter) campaignFull(id uuid.UUID, own int) bool {
	max := l.campaignMax
	if own > 0 {
		max = own // the campaign's own max_new_leads_per_day
	}
	return max > 0 && l.campaign[id] >= max
}

func (l *limiter) take(lead leadRow, m messageRow) {
	l.recipient[recipientDomain(lead)]++
	l.sending++
	if m.Step == 1 && m.CampaignID != nil {
		l.campaign[*m.CampaignID]++
	}
}

// limits counts what the batch's caps have already spent.
func (e *Engine) limits(ctx context.Context, tx bun.IDB, org uuid.UUID, box *mailbox, msgs []messageRow, leads map[uuid.UUID]leadRow, now time.Time, loc *time.Location) (*limiter, error) {
	l := &limiter{recipient: map[string]int{}, campaign: map[uuid.UUID]int{}}
	if e.opts.IgnoreCaps || box == nil {
		return l, nil
	}
	l.recipientMax, l.sendingMax, l.campaignMax = e.opts.RecipientDomainDaily, e.opts.SendingDomainHourly, e.opts.CampaignNewLeadsDaily
	// The day's start: campaigns may have caps of their own
	// (max_new_leads_per_day), so it is always needed.
	y, mo, d := now.In(loc).Date()
	dayStart := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	if l.recipientMax > 0 {
		var domains []string
		for _, m := range msgs {
			if d := recipientDomain(leads[m.LeadID]); d != "" {
				domains = append(domains, d)
			}
		}
		var rows []struct {
			Domain string `bun:"domain"`
			N      int    `bun:"n"`
		}
		if err := tx.NewRaw(`SELECT split_part(lower(l.email), '@', 2) AS domain, count(*) AS n
			FROM messages m JOIN leads l ON l.org_id = m.org_id AND l.id = m.lead_id
			WHERE m.org_id = ? AND m.claimed_at >= ? AND m.channel = 'email'
			  AND split_part(lower(l.email), '@', 2) = ANY(?)
			GROUP BY 1`, org, dayStart, pgdialect.Array(domains)).Scan(ctx, &rows); err != nil {
			return nil, fmt.Errorf("sending: recipient domains today: %w", database.Interpret(err))
		}
		for _, r := range rows {
			l.recipient[r.Domain] = r.N
		}
	}
	if l.sendingMax > 0 {
		if err := tx.NewRaw(`SELECT count(*) FROM messages m JOIN email_accounts a ON a.org_id = m.org_id AND a.id = m.email_account_id
			WHERE m.org_id = ? AND m.claimed_at >= ? AND split_part(a.email_address, '@', 2) = ?`,
			org, now.Add(-time.Hour), domainOf(box.Address)).Scan(ctx, &l.sending); err != nil {
			return nil, fmt.Errorf("sending: sending domain this hour: %w", database.Interpret(err))
		}
	}
	{
		var ids []uuid.UUID
		for _, m := range msgs {
			if m.CampaignID != nil && m.Step == 1 {
				ids = append(ids, *m.CampaignID)
			}
		}
		var rows []struct {
			ID uuid.UUID `bun:"campaign_id,type:uuid"`
			N  int       `bun:"n"`
		}
		if len(ids) > 0 {
			if err := tx.NewRaw(`SELECT campaign_id, count(*) AS n FROM messages
				WHERE org_id = ? AND step = 1 AND claimed_at >= ? AND campaign_id = ANY(?) GROUP BY 1`,
				org, dayStart, pgdialect.Array(ids)).Scan(ctx, &rows); err != nil {
				return nil, fmt.Errorf("sending: new leads today: %w", database.Interpret(err))
			}
		}
		for _, r := range rows {
			l.campaign[r.ID] = r.N
		}
	}
	return l, nil
}
