package sequences_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

// toneCampaign is a campaign whose template writes its greetings and
// sign-offs in the sender's tone and has emails of four paragraphs, so
// the built-in provider's answer to "shorter" or "more formal" shows.
func (b bundle) toneCampaign(t testing.TB, a access.Actor) uuid.UUID {
	t.Helper()
	campaignID, templateID := b.templateCampaign(t, a)
	_, err := b.owner.Pool.Exec(context.Background(), `UPDATE sequence_templates SET steps = $2 WHERE id = $1`, templateID, `[
		{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"{{greeting}} {{first_name}},\n\nWe make invoices faster.\n\nTeams like yours save a day a month.\n\n{{sign_off}}\n{{sender_name}}"},
		{"step":2,"delay_days":3,"channel":"email","subject":"Following up","body":"{{greeting}} {{first_name}},\n\nAny thoughts on invoices?\n\nHappy to send a summary.\n\n{{sign_off}}\n{{sender_name}}"},
		{"step":3,"delay_days":5,"channel":"email","subject":"Last note","body":"{{greeting}} {{first_name}},\n\nI will leave it here.\n\n{{sign_off}}\n{{sender_name}}"}]`)
	require.NoError(t, err)
	return campaignID
}

func (b bundle) approve(t testing.TB, a access.Actor, leadID uuid.UUID) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), `UPDATE sequences SET (is_approved, approved_by, approved_at) = (true, $2, now()) WHERE lead_id = $1`, leadID, a.UserID)
	require.NoError(t, err)
}

func requireConflict(t *testing.T, err error, code string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, fault.KindConflict, fe.Kind)
	require.Equal(t, code, fe.Code)
}

func TestRegenerate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 2)
	campaignID := b.toneCampaign(t, b.member)
	ls := b.leads(t, b.member, campaignID, 4, true)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
	calls := func() int {
		return b.count(t, `SELECT coalesce(sum(calls), 0) FROM llm_usage_daily WHERE org_id = $1 AND operation = 'generate_sequence'`, b.member.OrgID)
	}

	t.Run("TheWholeSequenceFollowsTheInstruction", func(t *testing.T) {
		b.approve(t, b.member, ls[0])
		before, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.True(t, before.IsApproved)
		events, metered := eventCount(t, b, b.member.OrgID, "sequence.updated"), calls()

		got, err := gen.Regenerate(ctx, b.member, ls[0], sequences.Regeneration{Instruction: "  shorter and more formal "})
		require.NoError(t, err)
		require.Len(t, got.Steps, 3)
		for i, st := range got.Steps {
			require.Equal(t, before.Steps[i].Step, st.Step)
			require.True(t, strings.HasPrefix(st.Body, "Hello "), "formal greeting: %q", st.Body)
			require.Contains(t, st.Body, "Kind regards,")
			require.LessOrEqual(t, len(strings.Split(st.Body, "\n\n")), 3, "shorter: %q", st.Body)
		}
		require.NotContains(t, got.Steps[0].Body, "save a day a month", "the second paragraph went")
		require.False(t, got.IsApproved, "regenerating withdraws the approval")
		require.Nil(t, got.ApprovedAt)
		require.Nil(t, got.ApprovedBy)
		require.Equal(t, "builtin", *got.LLMProvider)
		require.NotNil(t, got.LLMModel)
		require.Positive(t, *got.LLMCompletionTokens)
		require.Equal(t, events+1, eventCount(t, b, b.member.OrgID, "sequence.updated"))
		require.Equal(t, metered+1, calls(), "metered")
		again, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.Equal(t, got.Steps, again.Steps)
		require.Equal(t, before.ID, again.ID)
	})
	t.Run("OneStepKeepsTheOthers", func(t *testing.T) {
		before, err := b.svc.GetByLead(ctx, b.member, ls[1])
		require.NoError(t, err)
		got, err := gen.Regenerate(ctx, b.member, ls[1], sequences.Regeneration{Instruction: "more formal", Step: 2})
		require.NoError(t, err)
		require.Equal(t, before.Steps[0], got.Steps[0])
		require.Equal(t, before.Steps[2], got.Steps[2])
		require.NotEqual(t, before.Steps[1].Body, got.Steps[1].Body)
		require.True(t, strings.HasPrefix(got.Steps[1].Body, "Hello "), got.Steps[1].Body)
		require.Equal(t, before.Steps[1].Step, got.Steps[1].Step)
		require.Equal(t, before.Steps[1].DelayDays, got.Steps[1].DelayDays)
		require.Equal(t, before.Steps[1].Channel, got.Steps[1].Channel)
	})
	t.Run("StepsAlreadySentAreRefusedAndKept", func(t *testing.T) {
		markSent(t, b, "lead_id", ls[2], 1)
		before, err := b.svc.GetByLead(ctx, b.member, ls[2])
		require.NoError(t, err)
		events := eventCount(t, b, b.member.OrgID, "sequence.updated")
		_, err = gen.Regenerate(ctx, b.member, ls[2], sequences.Regeneration{Step: 1})
		requireConflict(t, err, "steps_sent")
		require.Equal(t, events, eventCount(t, b, b.member.OrgID, "sequence.updated"))

		got, err := gen.Regenerate(ctx, b.member, ls[2], sequences.Regeneration{Instruction: "more formal"})
		require.NoError(t, err)
		require.Equal(t, before.Steps[0], got.Steps[0], "the sent step stays")
		require.True(t, strings.HasPrefix(got.Steps[1].Body, "Hello "), got.Steps[1].Body)

		markSent(t, b, "lead_id", ls[2], 3)
		_, err = gen.Regenerate(ctx, b.member, ls[2], sequences.Regeneration{})
		requireConflict(t, err, "steps_sent")
	})
	t.Run("Limits", func(t *testing.T) {
		_, err := gen.Regenerate(ctx, b.member, ls[3], sequences.Regeneration{Instruction: strings.Repeat("x", sequences.MaxInstructionLen+1)})
		requireField(t, err, "instruction")
		_, err = gen.Regenerate(ctx, b.member, ls[3], sequences.Regeneration{Step: 4})
		requireField(t, err, "step")
		_, err = gen.Regenerate(ctx, b.other, ls[3], sequences.Regeneration{})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "another organisation's lead: %v", err)
		_, err = gen.Regenerate(ctx, b.member, newID(), sequences.Regeneration{})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
}

func TestRegenerateWithANetworkProvider(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	fake := llmtest.NewOpenAI(t, "sk-platform")
	gen, _, _ := generator(t, b, llmfactory.Platform{
		Keys: map[string]string{llmfactory.OpenAI: "sk-platform"}, BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)},
	}, 2)
	campaignID, _ := b.templateCampaign(t, b.member)
	ls := b.leads(t, b.member, campaignID, 1, true)
	current := []llm.Step{
		{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Hello", Body: "Hi {{first_name}}, a word about invoices."},
		{Step: 2, DelayDays: 3, Channel: llm.ChannelEmail, Subject: "Following up", Body: "Just checking in."},
		{Step: 3, DelayDays: 5, Channel: llm.ChannelEmail, Subject: "Last note", Body: "Goodbye for now."},
	}
	b.insertSequence(t, b.member, campaignID, ls[0], true, current)

	t.Run("InvalidOutputFailsWithTheValidatorsReasonAndChangesNothing", func(t *testing.T) {
		bad, _ := json.Marshal(map[string]any{"steps": []map[string]any{
			{"step": 1, "delay_days": 0, "channel": "email", "subject": "", "body": "x"},
			{"step": 2, "delay_days": 3, "channel": "email", "subject": "", "body": "y"},
			{"step": 3, "delay_days": 5, "channel": "email", "subject": "", "body": "z"},
		}})
		// The answer and its repair, both invalid.
		fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", string(bad), 10, 5))
		fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", string(bad), 10, 5))
		events := eventCount(t, b, b.member.OrgID, "sequence.updated")
		_, err := gen.Regenerate(ctx, b.member, ls[0], sequences.Regeneration{Instruction: "shorter"})
		var le *llm.Error
		require.True(t, errors.As(err, &le), "%v", err)
		require.ErrorIs(t, err, llm.ErrInvalidOutput)
		require.NotEmpty(t, le.Violations)
		require.Contains(t, le.Error(), "subject", "the validator's words")
		got, err := b.svc.GetByLead(ctx, b.member, ls[0])
		require.NoError(t, err)
		require.Equal(t, current, got.Steps)
		require.True(t, got.IsApproved, "a failed regeneration leaves the approval")
		require.Equal(t, events, eventCount(t, b, b.member.OrgID, "sequence.updated"))
	})
	t.Run("AStepKeepsItsChannelAndTheResultIsValidatedAsAnEdit", func(t *testing.T) {
		c := b.campaign(t, b.member, "email", "sms")
		lead := b.leads(t, b.member, c.ID, 1, true)[0]
		sms := []llm.Step{
			{Step: 1, DelayDays: 0, Channel: llm.ChannelSMS, Body: "Hi {{first_name}}, quick one about invoices."},
			{Step: 2, DelayDays: 2, Channel: llm.ChannelEmail, Subject: "Following up", Body: "Any thoughts?"},
		}
		b.insertSequence(t, b.member, c.ID, lead, false, sms)
		// A valid answer whose step 1 is a long email: as the SMS step 1
		// it would need more segments than allowed.
		long, _ := json.Marshal(map[string]any{"steps": []map[string]any{
			{"step": 1, "delay_days": 0, "channel": "email", "subject": "Invoices", "body": strings.Repeat("Invoices take too long to chase by hand. ", 20)},
			{"step": 2, "delay_days": 2, "channel": "sms", "body": "Hi {{first_name}}, any thoughts?"},
		}})
		fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", string(long), 10, 5))
		_, err := gen.Regenerate(ctx, b.member, lead, sequences.Regeneration{Step: 1})
		requireField(t, err, "steps.0.body")
		got, err := b.svc.GetByLead(ctx, b.member, lead)
		require.NoError(t, err)
		require.Equal(t, sms, got.Steps, "nothing saved")
	})
	t.Run("TheRequestCarriesTheInstructionAndTheCurrentSteps", func(t *testing.T) {
		fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", validSequence(), 100, 50))
		n := len(fake.Requests())
		got, err := gen.Regenerate(ctx, b.member, ls[0], sequences.Regeneration{Instruction: "mention their new funding round", Step: 3})
		require.NoError(t, err)
		reqs := fake.Requests()
		require.Len(t, reqs, n+1)
		body := string(reqs[n].Body)
		require.Contains(t, body, "mention their new funding round")
		require.Contains(t, body, "a word about invoices", "the current steps are context")
		require.Equal(t, current[:2], got.Steps[:2])
		require.Equal(t, "I will leave it here.", got.Steps[2].Body, "validSequence's third step")
		require.Equal(t, "openai", *got.LLMProvider)
		require.Equal(t, 100, *got.LLMPromptTokens)
		require.Equal(t, 50, *got.LLMCompletionTokens)
		require.False(t, got.IsApproved)
	})
}
