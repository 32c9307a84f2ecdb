package sending

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// Scopes of send_counts.
const (
	countRecipientDomain = "recipient_domain"
	countSendingDomain   = "sending_domain"
	countCampaignNew     = "campaign_new"
)

// limiter holds a batch's caps beyond the mailbox's own: per recipient
// domain per day (one company is not flooded), per sending domain per
// hour (all the organisation's mailboxes on one domain together), and per
// campaign for new leads (first steps) per day. What each has spent is in
// send_counts: a claim adds what it claimed in its transaction, and a
// transient failure gives its count back. Days are the organisation's,
// hours UTC clock hours (a fixed window: across an hour's end a domain
// may send up to twice its cap within sixty minutes).
//
// The mailbox's row lock serialises the claims of one mailbox; claims of
// several mailboxes read the counts as committed, so two that run at once
// for one domain may each spend what the other is spending (by at most
// what they claim at once: a gapped mailbox claims one message).
// Locking the counters before reading them would make the caps exact at
// the price of serialising every claim of an organisation's sending
// domain.
//
// Lock order: a claim locks its mailbox's row, then counter rows in key
// order (count); record does the same.
type limiter struct {
	recipientMax, sendingMax, campaignMax int
	recipient                             map[string]int
	sending                               int
	campaign                              map[uuid.UUID]int
	// periods is what the claim counts in: nil when nothing is counted
	// (caps lifted, or no mailbox).
	periods *periods
}

// periods are the counting periods of a claim: the organisation's day (its
// local date, kept as that date's midnight UTC: a key, not an instant, so
// no DST change can move it), the hour (UTC), and the mailbox's domain
// (the sending domain's key).
type periods struct {
	day, hour     time.Time
	sendingDomain string
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

// limits reads what the batch's caps have already spent.
func (e *Engine) limits(ctx context.Context, tx bun.IDB, org uuid.UUID, box *mailbox, msgs []messageRow, leads map[uuid.UUID]leadRow, now time.Time, loc *time.Location) (*limiter, error) {
	l := &limiter{recipient: map[string]int{}, campaign: map[uuid.UUID]int{}}
	if e.opts.IgnoreCaps || box == nil {
		return l, nil
	}
	l.recipientMax, l.sendingMax, l.campaignMax = e.opts.RecipientDomainDaily, e.opts.SendingDomainHourly, e.opts.CampaignNewLeadsDaily
	y, mo, d := now.In(loc).Date()
	l.periods = &periods{day: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), hour: now.UTC().Truncate(time.Hour), sendingDomain: strings.ToLower(domainOf(box.Address))}
	var domains, camps []string
	for _, m := range msgs {
		if d := recipientDomain(leads[m.LeadID]); d != "" && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
		// Campaigns may have caps of their own (max_new_leads_per_day):
		// their count is always read.
		if m.CampaignID != nil && m.Step == 1 && !slices.Contains(camps, m.CampaignID.String()) {
			camps = append(camps, m.CampaignID.String())
		}
	}
	var rows []struct {
		Scope string `bun:"scope"`
		Key   string `bun:"key"`
		N     int    `bun:"n"`
	}
	if err := tx.NewRaw(`SELECT scope, key, n FROM send_counts WHERE org_id = ? AND (
			(scope = 'recipient_domain' AND period_start = ? AND key = ANY(?::text[]))
			OR (scope = 'sending_domain' AND period_start = ? AND key = ?)
			OR (scope = 'campaign_new' AND period_start = ? AND key = ANY(?::text[])))`,
		org, l.periods.day, pgdialect.Array(domains), l.periods.hour, l.periods.sendingDomain, l.periods.day, pgdialect.Array(camps)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("sending: caps spent: %w", database.Interpret(err))
	}
	for _, r := range rows {
		switch r.Scope {
		case countRecipientDomain:
			l.recipient[r.Key] = r.N
		case countSendingDomain:
			l.sending = r.N
		case countCampaignNew:
			if id, err := uuid.Parse(r.Key); err == nil {
				l.campaign[id] = r.N
			}
		}
	}
	return l, nil
}

// count adds to send_counts what cs spend of the caps in p (sign 1, at the
// claim) or gives it back (sign -1, a transient failure: it did not go).
// Keys are sorted, so two transactions lock their counter rows in one
// order.
func count(ctx context.Context, tx bun.IDB, org uuid.UUID, p *periods, cs []claimed, sign int) error {
	if p == nil || len(cs) == 0 {
		return nil
	}
	type k struct {
		scope, key string
		at         time.Time
	}
	n := map[k]int{}
	for _, c := range cs {
		if d := recipientDomain(c.lead); d != "" {
			n[k{countRecipientDomain, d, p.day}]++
		}
		n[k{countSendingDomain, p.sendingDomain, p.hour}]++
		if c.Step == 1 && c.CampaignID != nil {
			n[k{countCampaignNew, c.CampaignID.String(), p.day}]++
		}
	}
	keys := make([]k, 0, len(n))
	for key := range n {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b k) int {
		return strings.Compare(a.scope+"\x00"+a.key+"\x00"+a.at.UTC().Format(time.RFC3339), b.scope+"\x00"+b.key+"\x00"+b.at.UTC().Format(time.RFC3339))
	})
	scopes, ks, ats, ns := make([]string, len(keys)), make([]string, len(keys)), make([]time.Time, len(keys)), make([]int, len(keys))
	for i, key := range keys {
		scopes[i], ks[i], ats[i], ns[i] = key.scope, key.key, key.at, sign*n[key]
	}
	// One upsert for both directions, in key order (ORDER BY: rows are
	// inserted, and their counters locked, in that order). A give-back
	// never takes a count below zero, nor creates a row.
	if _, err := tx.ExecContext(ctx, `INSERT INTO send_counts AS s (org_id, scope, key, period_start, n)
		SELECT ?, v.scope, v.key, v.at, v.n FROM unnest(?::text[], ?::text[], ?::timestamptz[], ?::int[]) WITH ORDINALITY AS v(scope, key, at, n, i)
		WHERE v.n > 0 OR EXISTS (SELECT 1 FROM send_counts e WHERE e.org_id = ? AND e.scope = v.scope AND e.key = v.key AND e.period_start = v.at)
		ORDER BY v.i
		ON CONFLICT (org_id, scope, key, period_start) DO UPDATE SET n = greatest(s.n + excluded.n, 0)`,
		org, pgdialect.Array(scopes), pgdialect.Array(ks), pgdialect.Array(ats), pgdialect.Array(ns), org); err != nil {
		return fmt.Errorf("sending: count caps: %w", database.Interpret(err))
	}
	return nil
}
