package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/sendwindow"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// Statuses of a step in the schedule preview that has no message.
const (
	// StepProjected is a later step not scheduled yet: it will be when the
	// step before it is sent.
	StepProjected = "projected"
	// StepNotScheduled is a step that will not go as things stand.
	StepNotScheduled = "not_scheduled"
)

// ScheduledStep is one step of a lead in the schedule preview.
type ScheduledStep struct {
	Step    int
	Channel string
	// Status is the message's status, or StepProjected or StepNotScheduled
	// for a step without one.
	Status string
	// ScheduledFor is when the message is due; for a projected step, the
	// estimate.
	ScheduledFor   *time.Time
	SentAt         *time.Time
	BlockedReason  *string
	EmailAccountID *uuid.UUID
	MessageID      *uuid.UUID // the message row, when one exists
}

// LeadSchedule is one lead's steps in a campaign.
type LeadSchedule struct {
	LeadID     uuid.UUID
	SequenceID *uuid.UUID
	Steps      []ScheduledStep
}

// previewLead is what the preview reads of a lead.
type previewLead struct {
	ID             uuid.UUID  `bun:"id,type:uuid"`
	Timezone       *string    `bun:"timezone"`
	Status         string     `bun:"status"`
	UnsubscribedAt *time.Time `bun:"unsubscribed_at"`
	RepliedAt      *time.Time `bun:"replied_at"`
	IsApproved     bool       `bun:"is_approved"`
}

func (l previewLead) key() uuid.UUID { return l.ID }

// SchedulePreview says when each step of each lead of campaign campaignID
// goes out: one LeadSchedule per lead with messages in the campaign or an
// approved sequence of it, newest lead first, paged by lead (only lead
// when set). A step with a message shows it; a later one is projected as
// the engine will schedule it once the step before is sent (that step's
// time plus the step's delay_days, placed in the send window in the
// lead's time zone with sendwindow.Window.Schedule), from the mailbox of
// the lead's first step; a first step not scheduled yet is projected at
// the lead's point of the next window (as Schedule places it). A step
// that will not go (the lead stopped, an earlier step failed or was
// cancelled, the lead or its sequence is not approved, the sequence is
// complete) is StepNotScheduled, with the reason when there is one. It
// only reads.
func (e *Engine) SchedulePreview(ctx context.Context, a access.Actor, campaignID uuid.UUID, lead *uuid.UUID, p pagination.Page) ([]LeadSchedule, *string, error) {
	var out []LeadSchedule
	var next *string
	err := e.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		status, err := campaignStatus(ctx, tx, a.OrgID, campaignID, false)
		if err != nil {
			return err
		}
		pl, err := loadPlan(ctx, tx, a.OrgID, campaignID)
		if err != nil {
			return err
		}
		q := tx.NewSelect().TableExpr("leads AS l").
			ColumnExpr("l.id, l.timezone, l.status, l.unsubscribed_at, l.replied_at, l.is_approved").
			Where("l.org_id = ?", a.OrgID).
			Where(`l.id IN (SELECT s.lead_id FROM sequences s WHERE s.org_id = ? AND s.campaign_id = ? AND s.is_approved
				UNION SELECT m.lead_id FROM messages m WHERE m.org_id = ? AND m.campaign_id = ?)`, a.OrgID, campaignID, a.OrgID, campaignID)
		if lead != nil {
			q = q.Where("l.id = ?", *lead)
		}
		leads, n, err := pagination.Scan(ctx, q, "l.id", p, previewLead.key)
		if err != nil {
			return err
		}
		next = n
		out = make([]LeadSchedule, 0, len(leads))
		if len(leads) == 0 {
			return nil
		}
		ids := make([]uuid.UUID, len(leads))
		for i, l := range leads {
			ids[i] = l.ID
		}
		var seqs []previewSequence
		if err := tx.NewRaw(`SELECT id, lead_id, steps, is_approved, is_complete FROM sequences
			WHERE org_id = ? AND campaign_id = ? AND lead_id IN (?) ORDER BY id`, a.OrgID, campaignID, bun.In(ids)).Scan(ctx, &seqs); err != nil &&
			!errors.Is(database.Interpret(err), database.ErrNotFound) {
			return fmt.Errorf("sending: sequences of schedule %s: %w", campaignID, database.Interpret(err))
		}
		var msgs []messageRow
		if err := tx.NewSelect().Model(&msgs).
			Column("id", "lead_id", "sequence_id", "step", "channel", "status", "scheduled_for", "sent_at", "blocked_reason", "email_account_id").
			Where("org_id = ? AND campaign_id = ? AND lead_id IN (?)", a.OrgID, campaignID, bun.In(ids)).
			Order("step", "id").Scan(ctx); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
			return fmt.Errorf("sending: messages of schedule %s: %w", campaignID, database.Interpret(err))
		}
		seqOf := map[uuid.UUID]previewSequence{}
		for _, s := range seqs {
			seqOf[s.LeadID] = s // the newest one, as ordered
		}
		msgsOf := map[uuid.UUID][]messageRow{}
		for _, m := range msgs {
			msgsOf[m.LeadID] = append(msgsOf[m.LeadID], m)
		}
		now := e.opts.Now()
		sendable := status != "completed" && status != "archived"
		for _, l := range leads {
			s, hasSeq := seqOf[l.ID]
			var sp *previewSequence
			if hasSeq {
				sp = &s
			}
			out = append(out, projectLead(pl, l, sp, msgsOf[l.ID], sendable, now))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// previewSequence is what the preview reads of a sequence.
type previewSequence struct {
	ID         uuid.UUID        `bun:"id,type:uuid"`
	LeadID     uuid.UUID        `bun:"lead_id,type:uuid"`
	Steps      []templates.Step `bun:"steps,type:jsonb"`
	IsApproved bool             `bun:"is_approved"`
	IsComplete bool             `bun:"is_complete"`
}

// projectLead lays out lead l's steps: its messages (msgs, ordered by
// step then id) where they exist, projections after them.
func projectLead(pl plan, l previewLead, seq *previewSequence, msgs []messageRow, sendable bool, now time.Time) LeadSchedule {
	out := LeadSchedule{LeadID: l.ID}
	var steps []templates.Step
	if seq != nil {
		out.SequenceID = &seq.ID
		steps = seq.Steps
	}
	// The message of each step: the live one, else the last cancelled.
	byStep := map[int]messageRow{}
	last := len(steps)
	for _, m := range msgs {
		if cur, ok := byStep[m.Step]; !ok || cur.Status == StatusCancelled || m.Status != StatusCancelled {
			byStep[m.Step] = m
		}
		last = max(last, m.Step)
	}
	var mailbox *uuid.UUID
	if m, ok := byStep[1]; ok {
		mailbox = m.EmailAccountID
	}
	stopped := leadRow{Status: l.Status, UnsubscribedAt: l.UnsubscribedAt, RepliedAt: l.RepliedAt}.stopped(pl.settings.StopOnReply)
	w := pl.window(l.Timezone)
	key := sendwindow.KeyOf(l.ID)
	var prev *time.Time // when the step before goes (or went)
	var halt *string    // why nothing after this point goes
	halted := false
	if stopped != "" {
		halt, halted = ptr(stopped), true
	}
	for i := 1; i <= last; i++ {
		st := ScheduledStep{Step: i, Channel: "email"}
		if i <= len(steps) && steps[i-1].Channel != "" {
			st.Channel = steps[i-1].Channel
		}
		if m, ok := byStep[i]; ok {
			st.Channel, st.Status, st.ScheduledFor, st.SentAt = m.Channel, m.Status, m.ScheduledFor, m.SentAt
			st.BlockedReason, st.EmailAccountID, st.MessageID = m.BlockedReason, m.EmailAccountID, ptr(m.ID)
			switch m.Status {
			case StatusSent, "delivered", "read", "replied":
				prev = m.SentAt
				if prev == nil {
					prev = m.ScheduledFor
				}
			case StatusScheduled, StatusQueued, StatusSending:
				prev = m.ScheduledFor
				if prev != nil && prev.Before(now) {
					prev = &now // overdue: it goes at the earliest now
				}
			default: // failed, bounced, cancelled: the thread ends here
				if !halted {
					halted = true
					switch {
					case m.BlockedReason != nil:
						halt = m.BlockedReason
					case m.Status == StatusBounced:
						halt = ptr(BlockedLeadBounced)
					case m.Status == StatusFailed:
						halt = ptr(BlockedSendFailed)
					}
				}
			}
			out.Steps = append(out.Steps, st)
			continue
		}
		st.Status = StepNotScheduled
		switch {
		case halted:
			st.BlockedReason = halt
		case !sendable || seq == nil || seq.IsComplete || i > len(steps):
		case i == 1 && (!seq.IsApproved || !l.IsApproved):
		case i == 1:
			st.Status, st.ScheduledFor = StepProjected, ptr(w.NextSpread(now, key))
		case prev != nil:
			st.Status, st.ScheduledFor = StepProjected, ptr(w.Schedule(*prev, steps[i-1].DelayDays, key))
		}
		if st.Status == StepProjected {
			prev = st.ScheduledFor
			if st.Channel == "email" {
				st.EmailAccountID = mailbox
			}
		} else {
			halted = true
		}
		out.Steps = append(out.Steps, st)
	}
	if out.Steps == nil {
		out.Steps = []ScheduledStep{}
	}
	return out
}
