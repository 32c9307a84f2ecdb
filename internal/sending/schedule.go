package sending

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sendwindow"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// plan is what scheduling a campaign's messages needs of it.
type plan struct {
	id         uuid.UUID
	status     string
	settings   campaigns.Settings
	business   orgs.BusinessContext
	orgWindow  sendwindow.Window // the campaign's window in its own timezone
	accounts   []account         // active mailboxes, in a stable order (loadPlan only)
	accountID  *uuid.UUID        // the campaign's own mailbox (campaigns.email_account_id)
	orgName    string
	windowSpec [3]string // start, end, days joined: for a lead's own timezone
}

// account is what the engine reads of an email account.
type account struct {
	ID          uuid.UUID `bun:"id,type:uuid"`
	Address     string    `bun:"email_address"`
	DisplayName *string   `bun:"display_name"`
	IsActive    bool      `bun:"is_active"`
}

func (a account) from() mail.Address {
	name := ""
	if a.DisplayName != nil {
		name = *a.DisplayName
	}
	return mail.Address{Name: name, Address: a.Address}
}

func domainOf(address string) string {
	if at := strings.LastIndexByte(address, '@'); at >= 0 {
		return address[at+1:]
	}
	return "localhost"
}

// loadPlan reads campaign id of org in tx, with its active mailboxes
// (what scheduling spreads leads across).
func loadPlan(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (plan, error) {
	p, err := loadCampaign(ctx, tx, org, id)
	if err != nil {
		return plan{}, err
	}
	if err := tx.NewRaw(`SELECT a.id, a.email_address, a.display_name, a.is_active FROM email_accounts a
		WHERE a.org_id = ? AND a.is_active AND (a.id IN (SELECT email_account_id FROM campaign_email_accounts WHERE org_id = ? AND campaign_id = ?)
		   OR a.id = ?)
		ORDER BY a.id`, org, org, id, p.accountID).Scan(ctx, &p.accounts); err != nil {
		return plan{}, fmt.Errorf("sending: accounts of campaign %s: %w", id, database.Interpret(err))
	}
	return p, nil
}

// loadCampaign is loadPlan without the mailboxes: what a send batch needs
// (its status, settings, window and business context; the mailbox is the
// batch's own).
func loadCampaign(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (plan, error) {
	var c struct {
		Status         string             `bun:"status"`
		Settings       campaigns.Settings `bun:"settings,type:jsonb"`
		LLMContext     json.RawMessage    `bun:"llm_context,type:jsonb"`
		EmailAccountID *uuid.UUID         `bun:"email_account_id,type:uuid"`
	}
	if err := tx.NewRaw(`SELECT status, settings, llm_context, email_account_id FROM campaigns WHERE org_id = ? AND id = ?`, org, id).
		Scan(ctx, &c); err != nil {
		return plan{}, fmt.Errorf("sending: campaign %s: %w", id, database.Interpret(err))
	}
	o, err := orgs.GetOrganization(ctx, tx, org)
	if err != nil {
		return plan{}, fmt.Errorf("sending: organisation: %w", err)
	}
	var over orgs.BusinessContext
	if len(c.LLMContext) > 0 {
		if err := json.Unmarshal(c.LLMContext, &over); err != nil {
			return plan{}, fmt.Errorf("sending: campaign context: %w", err)
		}
	}
	p := plan{id: id, status: c.Status, settings: c.Settings, business: o.BusinessContext.Over(over), orgName: o.Name}
	p.windowSpec = [3]string{c.Settings.SendWindowStart, c.Settings.SendWindowEnd, strings.Join(c.Settings.SendDays, ",")}
	if p.orgWindow, err = sendwindow.Parse(c.Settings.SendWindowStart, c.Settings.SendWindowEnd, c.Settings.SendDays, c.Settings.Timezone); err != nil {
		return plan{}, fault.Invalid(fault.FieldError{Field: "/settings", Code: "invalid_send_window", Message: err.Error()})
	}
	p.accountID = c.EmailAccountID
	return p, nil
}

// window is the send window for a lead in timezone tz ("" or invalid:
// the campaign's).
func (p plan) window(tz *string) sendwindow.Window {
	if tz == nil || *tz == "" {
		return p.orgWindow
	}
	w, err := sendwindow.Parse(p.settings.SendWindowStart, p.settings.SendWindowEnd, p.settings.SendDays, *tz)
	if err != nil {
		return p.orgWindow
	}
	return w
}

// leadRow is what sending reads of a lead.
type leadRow struct {
	ID uuid.UUID `bun:"id,type:uuid"`
	templates.LeadRow
	Timezone       *string    `bun:"timezone"`
	Status         string     `bun:"status"`
	UnsubscribedAt *time.Time `bun:"unsubscribed_at"`
	RepliedAt      *time.Time `bun:"replied_at"`
}

const leadColumns = `l.id, l.email, l.first_name, l.last_name, l.phone, l.company, l.job_title, l.website, l.linkedin_url,
	l.city, l.state, l.country, l.timezone, l.custom_fields, l.status, l.unsubscribed_at, l.replied_at`

func (l leadRow) values(b orgs.BusinessContext) map[string]string {
	return templates.Values(l.Lead(), b)
}

func (l leadRow) name() string {
	var parts []string
	for _, p := range []*string{l.FirstName, l.LastName} {
		if p != nil && strings.TrimSpace(*p) != "" {
			parts = append(parts, strings.TrimSpace(*p))
		}
	}
	return strings.Join(parts, " ")
}

// stopped says why l gets nothing more, or "".
func (l leadRow) stopped(stopOnReply bool) string {
	switch {
	case l.UnsubscribedAt != nil || l.Status == "unsubscribed":
		return BlockedLeadUnsubscribed
	case l.Status == "bounced":
		return BlockedLeadBounced
	case stopOnReply && (l.RepliedAt != nil || l.Status == "replied" || l.Status == "interested" || l.Status == "not_interested" || l.Status == "converted"):
		return BlockedLeadReplied
	}
	return ""
}

// render is step of steps for lead: its subject and body with every
// placeholder filled (a blank value leaves its fallback or nothing).
func render(steps []templates.Step, i int, lead leadRow, b orgs.BusinessContext) templates.Step {
	out, _ := templates.RenderSteps(steps[i:i+1], lead.values(b))
	return out[0]
}

// Schedule writes step 1 for every approved lead of the campaign with an
// approved sequence and no message yet, in tx: rendered for the lead, on
// one of the campaign's active mailboxes (round robin in lead order; a
// lead's later steps leave from the same one), due at a moment spread
// across the send window in the lead's timezone, else the campaign's, at
// or after now. It returns how many it scheduled. A campaign with email
// steps and no active mailbox is refused (422 no_email_account).
func (e *Engine) Schedule(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID) (int, error) {
	p, err := loadPlan(ctx, tx, org, campaignID)
	if err != nil {
		return 0, err
	}
	var rows []struct {
		SequenceID uuid.UUID        `bun:"sequence_id,type:uuid"`
		Steps      []templates.Step `bun:"steps,type:jsonb"`
		leadRow
	}
	if err := tx.NewRaw(`SELECT s.id AS sequence_id, s.steps, `+leadColumns+`
		FROM sequences s JOIN leads l ON l.org_id = s.org_id AND l.id = s.lead_id
		WHERE s.org_id = ? AND s.campaign_id = ? AND s.is_approved AND l.is_approved AND NOT s.is_complete
		  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.org_id = s.org_id AND m.sequence_id = s.id)
		ORDER BY l.id`, org, campaignID).Scan(ctx, &rows); err != nil {
		return 0, fmt.Errorf("sending: leads to schedule in %s: %w", campaignID, database.Interpret(err))
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if len(p.accounts) == 0 {
		return 0, fault.Invalid(fault.FieldError{Field: "/email_account_ids", Code: "no_email_account",
			Message: "the campaign has no active email account to send from: add one (email_account_ids)"})
	}
	now := e.opts.Now()
	msgs := make([]messageRow, 0, len(rows))
	for i, r := range rows {
		if len(r.Steps) == 0 || r.stopped(p.settings.StopOnReply) != "" {
			continue
		}
		acct := p.accounts[i%len(p.accounts)]
		st := render(r.Steps, 0, r.leadRow, p.business)
		due := p.window(r.Timezone).NextSpread(now, sendwindow.KeyOf(r.ID))
		msgs = append(msgs, newMessage(org, campaignID, r.SequenceID, r.ID, acct, st, due, nil))
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	for start := 0; start < len(msgs); start += 1000 {
		chunk := msgs[start:min(start+1000, len(msgs))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return 0, fmt.Errorf("sending: schedule %d messages: %w", len(chunk), database.Interpret(err))
		}
	}
	if err := recordMessages(ctx, tx, org, events.MessageScheduled, msgs, false); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// newMessage is a scheduled message for step st of a lead's sequence from
// acct, due at due; first is the thread's first message (nil for step 1).
func newMessage(org, campaignID, sequenceID, leadID uuid.UUID, acct account, st templates.Step, due time.Time, thread *messageRow) messageRow {
	m := messageRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: org, CampaignID: &campaignID, SequenceID: &sequenceID, LeadID: leadID,
		Channel: st.Channel, Step: st.Step, BodyText: st.Body, ScheduledFor: &due, Status: StatusScheduled,
		References: []string{},
	}
	if m.Channel == "" {
		m.Channel = "email"
	}
	if m.Channel != "email" {
		return m
	}
	m.EmailAccountID = &acct.ID
	m.MessageID = ptr(strings.Trim(emailsend.NewMessageID(domainOf(acct.Address)), "<>"))
	subject := st.Subject
	if thread != nil {
		// A follow-up answers in the first email's thread.
		m.InReplyTo = thread.MessageID
		m.ThreadID = thread.ThreadID
		if strings.TrimSpace(subject) == "" && thread.Subject != nil {
			subject = "Re: " + strings.TrimPrefix(*thread.Subject, "Re: ")
		}
	} else {
		m.ThreadID = m.MessageID
	}
	m.Subject = &subject
	return m
}

// Reschedule moves what fell due while the campaign was paused (scheduled
// messages due before now) to their next moment in the window, in tx. It
// returns how many moved.
func (e *Engine) Reschedule(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID) (int, error) {
	p, err := loadPlan(ctx, tx, org, campaignID)
	if err != nil {
		return 0, err
	}
	var due []struct {
		ID       uuid.UUID `bun:"id,type:uuid"`
		LeadID   uuid.UUID `bun:"lead_id,type:uuid"`
		Timezone *string   `bun:"timezone"`
	}
	now := e.opts.Now()
	if err := tx.NewRaw(`SELECT m.id, m.lead_id, l.timezone FROM messages m JOIN leads l ON l.org_id = m.org_id AND l.id = m.lead_id
		WHERE m.org_id = ? AND m.campaign_id = ? AND m.status = 'scheduled' AND m.scheduled_for < ?`, org, campaignID, now).Scan(ctx, &due); err != nil {
		return 0, fmt.Errorf("sending: due while paused in %s: %w", campaignID, database.Interpret(err))
	}
	if len(due) == 0 {
		return 0, nil
	}
	ids := make([]uuid.UUID, len(due))
	at := make([]time.Time, len(due))
	for i, d := range due {
		ids[i], at[i] = d.ID, p.window(d.Timezone).NextSpread(now, sendwindow.KeyOf(d.LeadID))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages m SET scheduled_for = v.at, blocked_reason = NULL, dispatched_at = NULL, updated_at = now()
		FROM unnest(?::uuid[], ?::timestamptz[]) AS v(id, at) WHERE m.org_id = ? AND m.id = v.id AND m.status = 'scheduled'`,
		pgdialect.Array(ids), pgdialect.Array(at), org); err != nil {
		return 0, fmt.Errorf("sending: reschedule %d: %w", len(ids), database.Interpret(err))
	}
	return len(ids), nil
}

// OnTransition is the campaigns hook: activating schedules, resuming
// reschedules what fell due while paused and schedules what was approved
// meanwhile. It runs in the transition's transaction, so a campaign that
// cannot send (no mailbox) is not activated.
func (e *Engine) OnTransition(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, from, to campaigns.Status) error {
	if to != campaigns.StatusActive {
		return nil
	}
	if from == campaigns.StatusPaused {
		if _, err := e.Reschedule(ctx, tx, org, campaignID); err != nil {
			return err
		}
	}
	_, err := e.Schedule(ctx, tx, org, campaignID)
	return err
}
