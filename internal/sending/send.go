package sending

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sendwindow"
	"github.com/leadpilot/leadpilot/internal/suppressions"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// mailbox is what a send reads of its email account, locked.
type mailbox struct {
	account
	DailySendLimit  int        `bun:"daily_send_limit"`
	EmailsSentToday int        `bun:"emails_sent_today"`
	SentTodayDate   *time.Time `bun:"sent_today_date"`
	WarmupEnabled   bool       `bun:"warmup_enabled"`
	WarmupStartedAt *time.Time `bun:"warmup_started_at"`
	CreatedAt       time.Time  `bun:"created_at"`
	Provider        string     `bun:"provider"`
	NextSendAt      *time.Time `bun:"next_send_at"`
	// SendingPaused is why the mailbox may not send now (reply sync
	// broken: a reply could go unnoticed); nil when it may.
	SendingPaused *string `bun:"sending_paused_reason"`
	// ConnectionStatus and ErrorSource: a mailbox in error for SMTP's
	// reasons is connected again once a message goes out.
	ConnectionStatus string  `bun:"connection_status"`
	ErrorSource      *string `bun:"error_source"`
}

// smtpError says whether the mailbox shows a connection error that a
// message accepted by its SMTP server clears (one that is not IMAP's).
func (b *mailbox) smtpError() bool {
	return b != nil && b.ConnectionStatus == "error" && (b.ErrorSource == nil || *b.ErrorSource != "imap")
}

// claimed is a message a send task claimed (scheduled → sending), with
// what delivering and recording it needs.
type claimed struct {
	messageRow
	lead leadRow
	plan *plan
	from mail.Address
	// counted is the periods its claim counted it in (send_counts); nil
	// when not counted.
	counted *periods
}

// SendBatch is the send task: it claims those of the messages ids of
// account in org that are still scheduled and due, sends them, and
// records the outcomes. It is idempotent: a message not scheduled any more
// (another delivery of the task took it, or it was cancelled) or no longer
// due (held back, deferred) is left alone, so a second delivery sends
// nothing.
func (e *Engine) SendBatch(ctx context.Context, org, accountID uuid.UUID, ids []uuid.UUID) error {
	batch, box, err := e.claim(ctx, org, accountID, ids)
	if err != nil || len(batch) == 0 {
		return err
	}
	out := e.deliver(ctx, org, accountID, batch)
	// Recording must not be cut short: the provider has answered.
	return e.record(context.WithoutCancel(ctx), org, accountID, batch, out, box.smtpError())
}

// claim re-checks ids and claims those that may go now, in one
// transaction holding the mailbox's row lock (two tasks of one mailbox
// never both spend its last budget). What may not go is cancelled (the
// lead is stopped) or put back on the schedule with its blocked_reason.
func (e *Engine) claim(ctx context.Context, org, accountID uuid.UUID, ids []uuid.UUID) ([]claimed, *mailbox, error) {
	now := e.opts.Now()
	var out []claimed
	var box *mailbox
	err := e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		box = nil
		if accountID != uuid.Nil {
			var b mailbox
			err := tx.NewRaw(`SELECT id, email_address, display_name, is_active, daily_send_limit, emails_sent_today, sent_today_date,
				warmup_enabled, warmup_started_at, created_at, provider, next_send_at, sending_paused_reason, connection_status, error_source
				FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE`, org, accountID).Scan(ctx, &b)
			if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
				return fmt.Errorf("sending: lock account %s: %w", accountID, err)
			}
			if err == nil {
				box = &b
			}
		}
		var msgs []messageRow
		// lower(status) throughout the claim: a plain status test lets the
		// planner read the batch through messages_due_idx (status, …),
		// and so every due message of every organisation to find the
		// batch's; by id it is one index probe each.
		//
		// No row locks while a mailbox is locked: its lock serialises the
		// claims of its messages, and the claim and the hold-backs below
		// are conditional updates (status still scheduled, still due), so
		// a message cancelled, deferred or claimed meanwhile is left
		// alone; a lock per row would write every row once more (and log
		// it) just before the claim writes it again.
		q := tx.NewSelect().Model(&msgs).Where("org_id = ? AND id IN (?) AND lower(status) = 'scheduled' AND scheduled_for <= ?", org, bun.In(ids), now)
		if box == nil {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
			return fmt.Errorf("sending: load batch: %w", database.Interpret(err))
		}
		if len(msgs) == 0 {
			return nil
		}
		leadIDs := make([]uuid.UUID, len(msgs))
		for i, m := range msgs {
			leadIDs[i] = m.LeadID
		}
		var leads []leadRow
		if err := tx.NewRaw(`SELECT `+leadColumns+` FROM leads l WHERE l.org_id = ? AND l.id IN (?)`, org, bun.In(leadIDs)).
			Scan(ctx, &leads); err != nil {
			return fmt.Errorf("sending: leads of batch: %w", database.Interpret(err))
		}
		byLead := make(map[uuid.UUID]leadRow, len(leads))
		contacts := make([]suppressions.Contact, len(leads))
		for i, l := range leads {
			byLead[l.ID] = l
			if l.Email != nil {
				contacts[i].Email = *l.Email
			}
			for _, p := range []*string{l.Phone} {
				if p != nil {
					contacts[i].Phones = append(contacts[i].Phones, *p)
				}
			}
		}
		hits, err := suppressions.Check(ctx, tx, contacts)
		if err != nil {
			return err
		}
		suppressed := map[uuid.UUID]bool{}
		for _, h := range hits {
			suppressed[leads[h.Index].ID] = true
		}
		plans := map[uuid.UUID]*plan{}
		planOf := func(id *uuid.UUID) (*plan, error) {
			if id == nil {
				return nil, nil
			}
			if p, ok := plans[*id]; ok {
				return p, nil
			}
			p, err := loadCampaign(ctx, tx, org, *id)
			if err != nil {
				return nil, err
			}
			plans[*id] = &p
			return &p, nil
		}
		// Follow-ups before first steps when the budget is short.
		slices.SortStableFunc(msgs, func(a, b messageRow) int {
			if (a.Step > 1) != (b.Step > 1) {
				if a.Step > 1 {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.ScheduledFor.UnixNano(), b.ScheduledFor.UnixNano())
		})
		loc, err := orgs.Location(ctx, tx, org)
		if err != nil {
			return err
		}
		remaining, today := e.budget(box, now, loc)
		if err != nil {
			return err
		}
		// The gap: a real mailbox sends one message, then waits.
		gapped := box != nil && box.Provider != "sandbox" && !e.opts.IgnoreCaps && e.opts.MinGap > 0
		nextAt := now
		if gapped && box.NextSendAt != nil && box.NextSendAt.After(now) {
			nextAt = *box.NextSendAt
		}
		lim, err := e.limits(ctx, tx, org, box, msgs, byLead, now, loc)
		if err != nil {
			return err
		}
		var back backs
		for _, m := range msgs {
			p, err := planOf(m.CampaignID)
			if err != nil {
				return err
			}
			lead := byLead[m.LeadID]
			key := sendwindow.KeyOf(m.LeadID)
			switch {
			case p != nil && p.status != string(campaigns.StatusActive):
				back.add(m.ID, StatusScheduled, BlockedCampaignPaused, *m.ScheduledFor)
			case p != nil && lead.stopped(p.settings.StopOnReply) != "":
				back.add(m.ID, StatusCancelled, lead.stopped(p.settings.StopOnReply), *m.ScheduledFor)
			case p == nil && lead.stopped(true) != "":
				back.add(m.ID, StatusCancelled, lead.stopped(true), *m.ScheduledFor)
			case suppressed[m.LeadID]:
				back.add(m.ID, StatusCancelled, BlockedSuppressed, *m.ScheduledFor)
			case m.Channel == "email" && (box == nil || lead.Email == nil):
				back.add(m.ID, StatusScheduled, BlockedNoAccount, now.Add(time.Hour))
			case m.Channel != "email" || e.channels[m.Channel] == nil:
				back.add(m.ID, StatusScheduled, BlockedNoAccount, now.Add(time.Hour))
			case !box.IsActive:
				back.add(m.ID, StatusScheduled, BlockedAccountInactive, now.Add(time.Hour))
			case box.SendingPaused != nil:
				// Stop-on-reply cannot be trusted while the mailbox's
				// replies cannot be read: wait for sync to recover.
				back.add(m.ID, StatusScheduled, *box.SendingPaused, now.Add(15*time.Minute))
			case p != nil && !p.window(lead.Timezone).Contains(now):
				back.add(m.ID, StatusScheduled, BlockedOutsideWindow, p.window(lead.Timezone).NextSpread(now, key))
			case gapped && (nextAt.After(now) || len(out) > 0):
				// One at a time: the rest wait their turn, a gap apart.
				nextAt = nextAt.Add(e.gap())
				back.add(m.ID, StatusScheduled, BlockedAccountGap, nextAt)
			case remaining <= 0:
				back.add(m.ID, StatusScheduled, BlockedAccountCap, tomorrow(p, lead, now, key))
			case lim.recipientFull(lead):
				back.add(m.ID, StatusScheduled, BlockedRecipientDomainCap, tomorrow(p, lead, now, key))
			case lim.sendingFull():
				back.add(m.ID, StatusScheduled, BlockedSendingDomainCap, now.Add(time.Hour))
			case m.Step == 1 && m.CampaignID != nil && lim.campaignFull(*m.CampaignID, p.settings.MaxNewLeadsPerDay):
				back.add(m.ID, StatusScheduled, BlockedCampaignDailyCap, tomorrow(p, lead, now, key))
			default:
				remaining--
				lim.take(lead, m)
				out = append(out, claimed{messageRow: m, lead: lead, plan: p, from: box.from(), counted: lim.periods})
			}
		}
		if err := back.write(ctx, tx, org, now); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		claim := make([]uuid.UUID, len(out))
		for i, c := range out {
			claim[i] = c.ID
		}
		var got []uuid.UUID
		// claimed_at is the database's clock, as the reaper's is.
		if err := tx.NewRaw(`UPDATE messages SET status = 'sending', claimed_at = now(), attempts = attempts + 1, blocked_reason = NULL,
			dispatched_at = NULL, updated_at = now()
			WHERE org_id = ? AND id IN (?) AND lower(status) = 'scheduled' AND scheduled_for <= ? RETURNING id`, org, bun.In(claim), now).Scan(ctx, &got); err != nil {
			return fmt.Errorf("sending: claim: %w", database.Interpret(err))
		}
		mine := map[uuid.UUID]bool{}
		for _, id := range got {
			mine[id] = true
		}
		out = slices.DeleteFunc(out, func(c claimed) bool { return !mine[c.ID] })
		for i := range out {
			out[i].Status, out[i].Attempts = StatusSending, out[i].Attempts+1
		}
		if err := count(ctx, tx, org, lim.periods, out, 1); err != nil {
			return err
		}
		if box != nil && len(out) > 0 {
			// The budget is spent at the claim; a transient failure gives it
			// back when recorded. A gapped mailbox's next send waits.
			var next *time.Time
			if gapped {
				next = ptr(now.Add(e.gap()))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE email_accounts SET
				emails_sent_today = CASE WHEN sent_today_date = ?::date THEN emails_sent_today + ? ELSE ? END,
				sent_today_date = ?::date, next_send_at = coalesce(?, next_send_at), updated_at = now() WHERE org_id = ? AND id = ?`,
				today, len(out), len(out), today, next, org, box.ID); err != nil {
				return fmt.Errorf("sending: spend budget: %w", database.Interpret(err))
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, box, nil
}

// budget is how many more the mailbox may send today (its day in loc, the
// organisation's time zone) and that day as YYYY-MM-DD.
func (e *Engine) budget(box *mailbox, now time.Time, loc *time.Location) (int, string) {
	local := now.In(loc)
	today := local.Format(time.DateOnly)
	if box == nil {
		return 0, today
	}
	if e.opts.IgnoreCaps {
		return int(^uint(0) >> 1), today
	}
	sent := 0
	if box.SentTodayDate != nil && box.SentTodayDate.Format(time.DateOnly) == today {
		sent = box.EmailsSentToday
	}
	return DailyCap(box, local) - sent, today
}

// tomorrow is the lead's next day's moment in the window (a day on
// without a campaign).
func tomorrow(p *plan, lead leadRow, now time.Time, key uint64) time.Time {
	if p == nil {
		return now.Add(24 * time.Hour)
	}
	return p.window(lead.Timezone).Schedule(now, 1, key)
}

// gap is the wait after a send from a real mailbox: MinGap plus a random
// part of GapJitter.
func (e *Engine) gap() time.Duration {
	return sendwindow.Gap(e.opts.MinGap, float64(e.opts.GapJitter)/float64(e.opts.MinGap), nil)
}

// backs collects messages a claim does not send: put back on the
// schedule, or cancelled, with the reason.
type backs struct {
	ids      []uuid.UUID
	statuses []string
	reasons  []string
	at       []time.Time
}

func (b *backs) add(id uuid.UUID, status, reason string, at time.Time) {
	b.ids, b.statuses, b.reasons, b.at = append(b.ids, id), append(b.statuses, status), append(b.reasons, reason), append(b.at, at)
}

// write applies b to messages still scheduled and due at now (a message
// deferred meanwhile keeps its new time); none has a task out any more.
func (b *backs) write(ctx context.Context, tx bun.IDB, org uuid.UUID, now time.Time) error {
	if len(b.ids) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE messages m SET status = v.status, blocked_reason = v.reason, scheduled_for = v.at,
			dispatched_at = NULL, updated_at = now()
		FROM unnest(?::uuid[], ?::text[], ?::text[], ?::timestamptz[]) AS v(id, status, reason, at)
		WHERE m.org_id = ? AND m.id = v.id AND lower(m.status) = 'scheduled' AND m.scheduled_for <= ?`, // lower: by id, not messages_due_idx (see claim)
		pgdialect.Array(b.ids), pgdialect.Array(b.statuses), pgdialect.Array(b.reasons), pgdialect.Array(b.at), org, now)
	if err != nil {
		return fmt.Errorf("sending: hold back %d: %w", len(b.ids), database.Interpret(err))
	}
	return nil
}

// deliver renders the batch and hands it to its channel; one Outcome per
// message.
func (e *Engine) deliver(ctx context.Context, org, accountID uuid.UUID, batch []claimed) []Outcome {
	outs := make([]Outgoing, len(batch))
	for i, c := range batch {
		outs[i] = e.outgoing(org, c)
	}
	// One channel per batch: the dispatcher batches per account, and an
	// account belongs to one channel.
	ch := e.channels[batch[0].Channel]
	res := ch.Send(ctx, org, accountID, outs)
	if len(res) != len(outs) {
		// A broken adapter must not lose track of what it sent.
		fixed := make([]Outcome, len(outs))
		copy(fixed, res)
		for i := len(res); i < len(outs); i++ {
			fixed[i] = Outcome{Result: Uncertain, Error: "the channel returned no outcome"}
		}
		res = fixed
	}
	return res
}

// outgoing renders c with its footer and unsubscribe links.
func (e *Engine) outgoing(org uuid.UUID, c claimed) Outgoing {
	o := Outgoing{ID: c.ID, LeadID: c.LeadID, From: c.from, Text: c.BodyText}
	if c.lead.Email != nil {
		o.To = mail.Address{Name: c.lead.name(), Address: *c.lead.Email}
	}
	if c.Subject != nil {
		o.Subject = *c.Subject
	}
	if c.MessageID != nil {
		o.MessageID = *c.MessageID
	}
	if c.InReplyTo != nil {
		o.InReplyTo = *c.InReplyTo
	}
	o.References = c.References
	var token string
	if e.signer != nil {
		token = e.signer.Token(org, c.LeadID)
		if e.opts.UnsubscribeBase != "" {
			o.UnsubscribeURL = unsubscribe.URL(e.opts.UnsubscribeBase, token)
		}
		if e.opts.UnsubscribeMailbox != "" {
			o.UnsubscribeMailto = unsubscribe.Mailto(e.opts.UnsubscribeMailbox, token)
		}
	}
	var footer []string
	if c.plan != nil {
		if b := c.plan.business; b.SenderName != nil && strings.TrimSpace(*b.SenderName) != "" && !strings.Contains(o.Text, strings.TrimSpace(*b.SenderName)) {
			footer = append(footer, strings.TrimSpace(*b.SenderName))
		}
		if b := c.plan.business; b.PostalAddress != nil && strings.TrimSpace(*b.PostalAddress) != "" {
			footer = append(footer, strings.TrimSpace(*b.PostalAddress))
		}
	}
	if o.UnsubscribeURL != "" {
		footer = append(footer, "Unsubscribe: "+o.UnsubscribeURL)
	}
	if len(footer) > 0 {
		o.Text = strings.TrimRight(o.Text, "\n") + "\n\n--\n" + strings.Join(footer, "\n") + "\n"
	}
	o.HTML = toHTML(c.BodyText, footer, o.UnsubscribeURL)
	return o
}

// toHTML is text as simple HTML: paragraphs at blank lines, line breaks
// kept, everything escaped; the footer small below a rule, its
// unsubscribe line a link.
func toHTML(text string, footer []string, unsubscribeURL string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><body>")
	for _, para := range strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br>") + "</p>")
	}
	if len(footer) > 0 {
		b.WriteString(`<hr><p style="font-size:12px;color:#666">`)
		for i, f := range footer {
			if i > 0 {
				b.WriteString("<br>")
			}
			if unsubscribeURL != "" && f == "Unsubscribe: "+unsubscribeURL {
				b.WriteString(`<a href="` + html.EscapeString(unsubscribeURL) + `">Unsubscribe</a>`)
				continue
			}
			b.WriteString(html.EscapeString(f))
		}
		b.WriteString("</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}

// record writes a batch's outcomes in one transaction: the messages'
// states, the budget given back for what was not accepted, the leads
// contacted or bounced, each sequence's next step (or its completion),
// the events, and the campaign's completion.
//
// smtpError says the mailbox showed an SMTP connection error at the claim:
// a message its server accepted clears it.
func (e *Engine) record(ctx context.Context, org, accountID uuid.UUID, batch []claimed, outs []Outcome, smtpError bool) error {
	now := e.opts.Now()
	n := len(batch)
	ids, statuses, reasons, errs, providers := make([]uuid.UUID, n), make([]string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	at := make([]time.Time, n)
	uncertain := make([]bool, n)
	var refund int
	var sent, bounced, failed, notSent []claimed
	var accountErr string
	for i, c := range batch {
		o := outs[i]
		ids[i], at[i] = c.ID, *c.ScheduledFor
		if o.ProviderID != "" {
			providers[i] = ptr(o.ProviderID)
		}
		if o.Error != "" {
			errs[i] = ptr(o.Error)
		}
		switch o.Result {
		case Sent:
			statuses[i] = StatusSent
			sent = append(sent, c)
		case Permanent:
			statuses[i] = StatusBounced
			bounced = append(bounced, c)
		case Uncertain:
			statuses[i], uncertain[i] = StatusFailed, true
			failed = append(failed, c)
		case Invalid:
			statuses[i] = StatusFailed
			failed = append(failed, c)
		default: // Transient
			refund++
			notSent = append(notSent, c)
			if o.AccountError {
				accountErr = o.Error
			}
			if c.Attempts >= e.opts.MaxAttempts {
				statuses[i] = StatusFailed
				failed = append(failed, c)
				continue
			}
			statuses[i], reasons[i] = StatusScheduled, ptr(BlockedSendFailed)
			at[i] = now.Add(e.opts.Backoff << min(c.Attempts-1, 10))
		}
	}
	return e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		sentListening, err := events.Subscribed(ctx, tx, org, events.MessageSent)
		if err != nil {
			return err
		}
		// The rows go back to Go only for the events (message.sent while
		// someone listens; bounces and failures always); else their ids.
		returning := "m.id"
		if sentListening || len(bounced)+len(failed) > 0 {
			returning = "m.*"
		}
		var rows []messageRow
		if err := tx.NewRaw(`UPDATE messages m SET status = v.status, blocked_reason = v.reason, last_error = v.err,
				provider_message_id = coalesce(v.provider, m.provider_message_id), scheduled_for = v.at,
				delivery_uncertain = v.uncertain,
				sent_at = CASE WHEN v.status = 'sent' THEN ?::timestamptz ELSE m.sent_at END,
				bounced_at = CASE WHEN v.status = 'bounced' THEN ?::timestamptz ELSE m.bounced_at END,
				updated_at = now()
			FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::boolean[])
				AS v(id, status, reason, err, provider, at, uncertain)
			WHERE m.org_id = ? AND m.id = v.id AND m.status = 'sending'
			RETURNING `+returning, now, now,
			pgdialect.Array(ids), pgdialect.Array(statuses), pgdialect.Array(reasons), pgdialect.Array(errs), pgdialect.Array(providers),
			pgdialect.Array(at), pgdialect.Array(uncertain), org).Scan(ctx, &rows); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
			return fmt.Errorf("sending: record %d outcomes: %w", n, database.Interpret(err))
		}
		// A message the reaper already closed keeps its verdict: only the
		// rows this statement changed count.
		mine := make(map[uuid.UUID]messageRow, len(rows))
		for _, r := range rows {
			mine[r.ID] = r
		}
		keep := func(cs []claimed) []claimed {
			return slices.DeleteFunc(cs, func(c claimed) bool { _, ok := mine[c.ID]; return !ok })
		}
		sent, bounced, failed, notSent = keep(sent), keep(bounced), keep(failed), keep(notSent)
		// The mailbox's row before the caps' counters, as a claim locks
		// them: the other order deadlocks with a claim of the same mailbox
		// (it holds the mailbox and waits for a counter this holds).
		if accountID != uuid.Nil && (refund > 0 || accountErr != "" || (smtpError && len(sent) > 0)) {
			if err := e.accountAfterSend(ctx, tx, org, accountID, refund, accountErr, len(sent) > 0); err != nil {
				return err
			}
		}
		// What did not go gives back its count of the caps (claimed in
		// one claim: one set of periods).
		if len(notSent) > 0 {
			if err := count(ctx, tx, org, notSent[0].counted, notSent, -1); err != nil {
				return err
			}
		}
		scheduled, err := e.afterSent(ctx, tx, org, sent, now)
		if err != nil {
			return err
		}
		if err := e.afterBounced(ctx, tx, org, bounced); err != nil {
			return err
		}
		if err := e.guard(ctx, tx, org, accountID, bounced); err != nil {
			return err
		}
		evs := func(cs []claimed) []messageRow {
			out := make([]messageRow, len(cs))
			for i, c := range cs {
				out[i] = mine[c.ID]
			}
			return out
		}
		if sentListening {
			if err := recordMessages(ctx, tx, org, events.MessageSent, evs(sent), true); err != nil {
				return err
			}
		}
		if err := recordMessages(ctx, tx, org, events.MessageBounced, evs(bounced), true); err != nil {
			return err
		}
		if err := recordMessages(ctx, tx, org, events.MessageFailed, evs(failed), true); err != nil {
			return err
		}
		return e.completeCampaigns(ctx, tx, org, batch, scheduled)
	})
}

// accountAfterSend gives back the budget of refund messages that did not
// go, and keeps the mailbox's connection status current: in error, from
// SMTP, with accountErr when the account itself failed (it cannot
// connect, its login is refused); connected again when a message went out
// (anySent) while it showed an error that was not IMAP's. A disabled
// mailbox stays disabled. When its status or error changed,
// email_account.updated says so (Options.Accounts).
func (e *Engine) accountAfterSend(ctx context.Context, tx bun.IDB, org, accountID uuid.UUID, refund int, accountErr string, anySent bool) error {
	var errText *string
	if accountErr != "" {
		errText = &accountErr
	}
	// o is the row as it was, locked: a change committed while this
	// waited for the row (a test, a sync) is what it compares with.
	var rows []struct {
		WasStatus string  `bun:"was_status"`
		WasError  *string `bun:"was_error"`
		NowStatus string  `bun:"now_status"`
		NowError  *string `bun:"now_error"`
	}
	const failing = `?::text IS NOT NULL AND a.connection_status <> 'disabled'`
	const clears = `? AND a.connection_status = 'error' AND a.error_source IS DISTINCT FROM 'imap'`
	err := tx.NewRaw(`UPDATE email_accounts a SET emails_sent_today = greatest(a.emails_sent_today - ?, 0),
			connection_status = CASE WHEN `+failing+` THEN 'error' WHEN `+clears+` THEN 'connected' ELSE a.connection_status END,
			last_error = CASE WHEN `+failing+` THEN ? WHEN `+clears+` THEN NULL ELSE a.last_error END,
			error_source = CASE WHEN `+failing+` THEN 'smtp' WHEN `+clears+` THEN NULL ELSE a.error_source END,
			updated_at = now()
		FROM (SELECT connection_status AS was_status, last_error AS was_error FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE) o
		WHERE a.org_id = ? AND a.id = ?
		RETURNING o.was_status, o.was_error, a.connection_status AS now_status, a.last_error AS now_error`,
		refund,
		errText, anySent, // connection_status
		errText, errText, anySent, // last_error
		errText, anySent, // error_source
		org, accountID, org, accountID).Scan(ctx, &rows)
	if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
		return fmt.Errorf("sending: account after send: %w", err)
	}
	if len(rows) == 0 || e.opts.Accounts == nil {
		return nil
	}
	r := rows[0]
	if r.WasStatus == r.NowStatus && (r.WasError == nil) == (r.NowError == nil) && (r.WasError == nil || *r.WasError == *r.NowError) {
		return nil
	}
	return e.opts.Accounts.RecordUpdated(ctx, tx, org, accountID)
}

// afterSent moves the leads of sent messages on (contacted), completes
// the sequences whose last step went (their progress, current_step, is
// read from the messages: sequences_with_progress), and schedules each
// other sequence's next step, delay_days after now, in the
// window, on the same mailbox, in the same thread. It returns the
// campaigns it scheduled a step in (they have something left to send).
func (e *Engine) afterSent(ctx context.Context, tx bun.IDB, org uuid.UUID, sent []claimed, now time.Time) (map[uuid.UUID]bool, error) {
	if len(sent) == 0 {
		return nil, nil
	}
	leadIDs := make([]uuid.UUID, len(sent))
	seqIDs := make([]uuid.UUID, 0, len(sent))
	for i, c := range sent {
		leadIDs[i] = c.LeadID
		if c.SequenceID != nil {
			seqIDs = append(seqIDs, *c.SequenceID)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leads SET last_contacted_at = ?,
		status = CASE WHEN status IN ('new', 'sequenced') THEN 'contacted' ELSE status END, updated_at = now()
		WHERE org_id = ? AND id IN (?)`, now, org, bun.In(leadIDs)); err != nil {
		return nil, fmt.Errorf("sending: leads contacted: %w", database.Interpret(err))
	}
	if len(seqIDs) == 0 {
		return nil, nil
	}
	ids, cur := make([]uuid.UUID, 0, len(sent)), make([]int, 0, len(sent))
	for _, c := range sent {
		if c.SequenceID != nil {
			ids, cur = append(ids, *c.SequenceID), append(cur, c.Step)
		}
	}
	// Only the step that follows each sent one (steps is 0-based, step
	// 1-based: steps -> step is the next), and how many there are: not the
	// whole sequence, decoded for one element.
	var seqs []struct {
		ID   uuid.UUID       `bun:"id,type:uuid"`
		N    int             `bun:"n"`
		Next json.RawMessage `bun:"next,type:jsonb"`
	}
	if err := tx.NewRaw(`SELECT s.id, jsonb_array_length(s.steps) AS n, s.steps -> v.step AS next
		FROM unnest(?::uuid[], ?::int[]) AS v(id, step) JOIN sequences s ON s.org_id = ? AND s.id = v.id`,
		pgdialect.Array(ids), pgdialect.Array(cur), org).Scan(ctx, &seqs); err != nil {
		return nil, fmt.Errorf("sending: sequences of sent: %w", database.Interpret(err))
	}
	type nextStep struct {
		n    int
		next json.RawMessage
	}
	steps := make(map[uuid.UUID]nextStep, len(seqs))
	for _, s := range seqs {
		steps[s.ID] = nextStep{s.N, s.Next}
	}
	var next []messageRow
	var done []uuid.UUID
	for _, c := range sent {
		if c.SequenceID == nil {
			continue
		}
		st := steps[*c.SequenceID]
		if c.Step >= st.n || c.plan == nil {
			done = append(done, *c.SequenceID)
			continue
		}
		var following templates.Step
		if err := json.Unmarshal(st.next, &following); err != nil {
			return nil, fmt.Errorf("sending: step %d of sequence %s: %w", c.Step+1, *c.SequenceID, err)
		}
		rendered := render([]templates.Step{following}, 0, c.lead, c.plan.business)
		due := c.plan.window(c.lead.Timezone).Schedule(now, following.DelayDays, sendwindow.KeyOf(c.LeadID))
		acct := account{Address: c.from.Address}
		if c.EmailAccountID != nil {
			acct.ID = *c.EmailAccountID
		}
		parent := c.messageRow
		m := newMessage(org, *c.CampaignID, *c.SequenceID, c.LeadID, acct, rendered, due, &parent)
		if m.Channel == "email" && parent.MessageID != nil {
			m.InReplyTo = parent.MessageID
			m.References = append(slices.Clone(parent.References), *parent.MessageID)
		}
		if m.Channel != "email" {
			m.EmailAccountID = nil
		}
		next = append(next, m)
	}
	if len(done) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE sequences SET is_complete = true, updated_at = now() WHERE org_id = ? AND id IN (?)`,
			org, bun.In(done)); err != nil {
			return nil, fmt.Errorf("sending: sequences complete: %w", database.Interpret(err))
		}
	}
	if len(next) == 0 {
		return nil, nil
	}
	// ON CONFLICT: the step is already scheduled (messages_sequence_step_key,
	// named as the only arbiter: the other unique indexes are not probed
	// twice per row).
	// The inserted rows come back only for message.scheduled, while someone
	// listens.
	listening, err := events.Subscribed(ctx, tx, org, events.MessageScheduled)
	if err != nil {
		return nil, err
	}
	if !listening {
		res, err := tx.NewInsert().Model(&next).On(nextStepConflict).Returning("NULL").Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("sending: schedule next steps: %w", database.Interpret(err))
		}
		if n, err := res.RowsAffected(); err != nil || int(n) != len(next) {
			return nil, nil // some were there already: which campaigns got one is not known
		}
		return campaignsOf(next), nil
	}
	var inserted []messageRow
	if err := tx.NewInsert().Model(&next).On(nextStepConflict).Returning("*").Scan(ctx, &inserted); err != nil &&
		!errors.Is(database.Interpret(err), database.ErrNotFound) {
		return nil, fmt.Errorf("sending: schedule next steps: %w", database.Interpret(err))
	}
	return campaignsOf(inserted), recordMessages(ctx, tx, org, events.MessageScheduled, inserted, true)
}

// campaignsOf is the set of the campaigns of ms.
func campaignsOf(ms []messageRow) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	for _, m := range ms {
		if m.CampaignID != nil {
			out[*m.CampaignID] = true
		}
	}
	return out
}

// nextStepConflict is the arbiter of a next step's insert:
// messages_sequence_step_key.
const nextStepConflict = "CONFLICT (org_id, sequence_id, step) WHERE sequence_id IS NOT NULL AND status <> 'cancelled' DO NOTHING"

// afterBounced marks the leads of bounced messages bounced, suppresses
// their addresses and cancels what else was scheduled for them.
func (e *Engine) afterBounced(ctx context.Context, tx bun.IDB, org uuid.UUID, bounced []claimed) error {
	if len(bounced) == 0 {
		return nil
	}
	leadIDs := make([]uuid.UUID, len(bounced))
	for i, c := range bounced {
		leadIDs[i] = c.LeadID
		if c.lead.Email != nil {
			if _, err := suppressions.AddInTx(ctx, tx, org, suppressions.New{Value: *c.lead.Email, Reason: "bounce", Source: "smtp"}); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leads SET status = 'bounced', updated_at = now() WHERE org_id = ? AND id IN (?)`, org, bun.In(leadIDs)); err != nil {
		return fmt.Errorf("sending: leads bounced: %w", database.Interpret(err))
	}
	return cancelPending(ctx, tx, org, leadIDs, BlockedLeadBounced)
}

// cancelPending cancels the scheduled and queued messages of leads, with
// reason.
func cancelPending(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs []uuid.UUID, reason string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'cancelled', blocked_reason = ?, updated_at = now()
		WHERE org_id = ? AND lead_id IN (?) AND status IN ('scheduled', 'queued')`, reason, org, bun.In(leadIDs)); err != nil {
		return fmt.Errorf("sending: cancel pending: %w", database.Interpret(err))
	}
	return nil
}

// completeCampaigns completes each campaign of the batch that has nothing
// left to send: no message scheduled, queued or sending, and no approved
// sequence of an approved lead still without its first message. Campaigns
// in known have something (a step this transaction scheduled): not looked
// up.
//
// The lookup of an open message is campaign_has_open_messages, which
// reads messages_org_campaign_pending_idx and messages_sending_idx (see
// migration 20261201000006): left to itself the planner
// preferred a sequential scan "until the first open row" (the statistics
// count many open messages), and those sit behind every message already
// sent, so each batch read the campaign's history (30 ms per batch at
// 60,000 messages, growing with the table).
func (e *Engine) completeCampaigns(ctx context.Context, tx bun.IDB, org uuid.UUID, batch []claimed, known map[uuid.UUID]bool) error {
	seen := map[uuid.UUID]bool{}
	for _, c := range batch {
		if c.CampaignID == nil || seen[*c.CampaignID] || known[*c.CampaignID] {
			continue
		}
		seen[*c.CampaignID] = true
		var open bool
		if err := tx.NewRaw(`SELECT campaign_has_open_messages(?, ?)
			OR EXISTS (SELECT 1 FROM sequences s JOIN leads l ON l.org_id = s.org_id AND l.id = s.lead_id
				WHERE s.org_id = ? AND s.campaign_id = ? AND s.is_approved AND l.is_approved AND NOT s.is_complete
				  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.org_id = s.org_id AND m.sequence_id = s.id))`,
			org, *c.CampaignID, org, *c.CampaignID).Scan(ctx, &open); err != nil {
			return fmt.Errorf("sending: campaign %s open: %w", *c.CampaignID, database.Interpret(err))
		}
		if !open {
			if _, err := campaigns.Complete(ctx, tx, org, *c.CampaignID); err != nil {
				return err
			}
		}
	}
	return nil
}
