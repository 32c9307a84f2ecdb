package sequences

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
)

// MaxInstructionLen bounds a regeneration's instruction.
const MaxInstructionLen = 500

// Regeneration is what to ask of a regeneration: an optional instruction
// ("shorter") and an optional 1-based step, the only one to rewrite.
type Regeneration struct {
	Instruction string
	// Step is 0 for the whole sequence (its unsent steps).
	Step int
}

func (r *Regeneration) check() error {
	r.Instruction = strings.TrimSpace(r.Instruction)
	var f fault.Fields
	if n := len([]rune(r.Instruction)); n > MaxInstructionLen {
		f.Add("instruction", "too_long", fmt.Sprintf("at most %d characters", MaxInstructionLen))
	}
	if r.Step < 0 || r.Step > llm.MaxSequenceLength {
		f.Add("step", "out_of_range", fmt.Sprintf("a step number between 1 and %d", llm.MaxSequenceLength))
	}
	return f.Err()
}

// Regenerate asks the organisation's language model, synchronously (as a
// preview does), to rewrite the lead's sequence, or only step r.Step, with
// the generation's request (the lead, the merged business context, the
// campaign's channels, length and template, the description of its last
// run) plus the current steps and r.Instruction.
//
// For one step, only that step's subject and body change, taken from the
// answer's step of the same number; its number, delay and channel and the
// other steps stay. For the whole sequence, the steps already sent stay
// and the rest are the answer's. Steps already sent cannot be regenerated
// (409 steps_sent). The result is validated as an edit is (ValidateSteps,
// 422), saved with the call's provider, model and tokens, and withdraws
// the approval; sequence.updated is written in the same transaction. The
// call is metered by the provider (ProvidersFrom); its failures are
// returned as they are (*llm.Error), as Preview's are. A sequence edited
// meanwhile is not overwritten (409 sequence_changed).
func (g *Generator) Regenerate(ctx context.Context, a access.Actor, leadID uuid.UUID, r Regeneration) (Sequence, error) {
	if err := r.check(); err != nil {
		return Sequence{}, err
	}
	var (
		row  sequenceRow
		pl   plan
		lead leadRow
	)
	err := g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if row, err = getByLead(ctx, tx, a.OrgID, leadID, false); err != nil {
			return err
		}
		if err := checkUnsent(row, r.Step); err != nil {
			return err
		}
		var desc []string
		if err := tx.NewSelect().Table("sequence_generations").Column("description").
			Where("org_id = ? AND campaign_id = ? AND description IS NOT NULL", a.OrgID, row.CampaignID).
			Order("id DESC").Limit(1).Scan(ctx, &desc); err != nil {
			return fmt.Errorf("sequences: description for %s: %w", row.CampaignID, database.Interpret(err))
		}
		var d *string
		if len(desc) > 0 {
			d = &desc[0]
		}
		if pl, err = loadPlan(ctx, tx, a.OrgID, row.CampaignID, d); err != nil {
			return err
		}
		if err := tx.NewRaw(`SELECT `+leadColumns+` FROM leads l WHERE l.org_id = ? AND l.id = ?`, a.OrgID, leadID).Scan(ctx, &lead); err != nil {
			return fmt.Errorf("sequences: lead %s: %w", leadID, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Sequence{}, err
	}

	req := pl.base
	req.Lead = lead.lead()
	req.Instruction = r.Instruction
	req.Current = slices.Clone(row.Steps)
	if r.Step > 0 {
		// The same number of steps, so the answer's step r.Step is the
		// rewrite of ours.
		req.Length = len(row.Steps)
	}
	p, err := g.providers(ctx, a.OrgID)
	if err != nil {
		return Sequence{}, err
	}
	res, err := p.GenerateSequence(ctx, req)
	if err != nil {
		return Sequence{}, err
	}
	steps, err := merge(row.Steps, row.CurrentStep, r.Step, res.Steps)
	if err != nil {
		return Sequence{}, err
	}

	var out Sequence
	err = g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		cur, err := getByLead(ctx, tx, a.OrgID, leadID, true)
		if err != nil {
			return err
		}
		// A step beyond those kept as sent went out, or is on its way,
		// meanwhile: the merge would rewrite it.
		if cur.ID != row.ID || cur.begun != row.CurrentStep || !slices.Equal(cur.Steps, row.Steps) {
			return fault.Conflict("sequence_changed", "the sequence changed while it was being regenerated; try again")
		}
		channels := make([]string, len(req.Channels))
		for i, c := range req.Channels {
			channels[i] = string(c)
		}
		if err := ValidateSteps(channels, steps); err != nil {
			return err
		}
		cur.Steps = steps
		cur.LLMProvider, cur.LLMModel = &res.Provider, &res.Model
		cur.LLMPromptTokens, cur.LLMCompletionTokens = &res.Usage.PromptTokens, &res.Usage.CompletionTokens
		cur.IsApproved, cur.ApprovedAt, cur.ApprovedBy = false, nil, nil
		if _, err := tx.NewUpdate().Model(&cur).
			Column("steps", "llm_provider", "llm_model", "llm_prompt_tokens", "llm_completion_tokens", "is_approved", "approved_at", "approved_by").
			Set("generated_at = now()").WherePK().Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("sequences: regenerate for lead %s: %w", leadID, database.Interpret(err))
		}
		out = cur.view()
		return record(ctx, tx, a.OrgID, events.SequenceUpdated, out)
	})
	return out, err
}

// checkUnsent refuses to regenerate a step already sent, or a whole
// sequence with nothing left to send.
func checkUnsent(row sequenceRow, step int) error {
	switch {
	case step > len(row.Steps):
		return fault.Invalid(fault.FieldError{Field: "step", Code: "out_of_range", Message: fmt.Sprintf("the sequence has %d step(s)", len(row.Steps))})
	case step > 0 && step <= row.CurrentStep:
		return fault.Conflict("steps_sent", fmt.Sprintf("step %d has been sent and cannot change", step))
	case step == 0 && row.CurrentStep >= len(row.Steps):
		return fault.Conflict("steps_sent", "every step has been sent; nothing is left to regenerate")
	}
	return nil
}

// merge is the sequence after a regeneration: for one step, the current
// steps with that step's subject and body from the answer (its number,
// delay and channel kept; an email keeps its subject when the answer has
// none for it); for the whole, the sent steps followed by the answer's
// others.
func merge(current []llm.Step, sent, step int, answer []llm.Step) ([]llm.Step, error) {
	if step == 0 {
		if len(answer) <= sent {
			return nil, fault.Invalid(fault.FieldError{Field: "steps", Code: "too_few",
				Message: fmt.Sprintf("the answer has %d step(s) and the first %d have been sent", len(answer), sent)})
		}
		return append(slices.Clone(current[:sent]), answer[sent:]...), nil
	}
	i := slices.IndexFunc(answer, func(s llm.Step) bool { return s.Step == step })
	if i < 0 {
		return nil, fault.Invalid(fault.FieldError{Field: "step", Code: "missing", Message: fmt.Sprintf("the answer has no step %d", step)})
	}
	out := slices.Clone(current)
	st := &out[step-1]
	st.Body = answer[i].Body
	if st.Channel == llm.ChannelEmail {
		if answer[i].Subject != "" {
			st.Subject = answer[i].Subject
		}
	} else {
		st.Subject = ""
	}
	return out, nil
}
