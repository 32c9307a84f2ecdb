package sequences

import (
	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/llm"
)

// Resource is s as the API returns it (openapi.yaml's Sequence): the
// handlers' response and the data of its events.
func (s Sequence) Resource() api.Sequence {
	steps := make([]api.SequenceStep, len(s.Steps))
	for i, st := range s.Steps {
		steps[i] = StepResource(st)
	}
	return api.Sequence{
		ID: s.ID, CampaignID: s.CampaignID, LeadID: s.LeadID, TemplateID: s.TemplateID, Steps: steps,
		LlmProvider: s.LLMProvider, LlmModel: s.LLMModel, LlmPromptTokens: s.LLMPromptTokens,
		LlmCompletionTokens: s.LLMCompletionTokens, IsApproved: s.IsApproved, ApprovedAt: s.ApprovedAt,
		ApprovedBy: s.ApprovedBy, CurrentStep: s.CurrentStep, IsComplete: s.IsComplete,
		GeneratedAt: s.GeneratedAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

// StepResource is one step as the API returns it; the subject is left out
// when empty (SMS and WhatsApp steps).
func StepResource(st llm.Step) api.SequenceStep {
	out := api.SequenceStep{Step: st.Step, DelayDays: st.DelayDays, Channel: api.SequenceStepChannel(st.Channel), Body: st.Body}
	if st.Subject != "" {
		out.Subject = &st.Subject
	}
	return out
}

// StepFromAPI is a step as the API sends it.
func StepFromAPI(st api.SequenceStep) llm.Step {
	out := llm.Step{Step: st.Step, DelayDays: st.DelayDays, Channel: llm.Channel(st.Channel), Body: st.Body}
	if st.Subject != nil {
		out.Subject = *st.Subject
	}
	return out
}
