package sequences

import (
	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/sequencelint"
)

// Resource is s as the API returns it (openapi.yaml's Sequence): the
// handlers' response and the data of its events.
func (s Sequence) Resource() api.Sequence {
	steps := make([]api.SequenceStep, len(s.Steps))
	for i, st := range s.Steps {
		steps[i] = StepResource(st)
	}
	out := api.Sequence{
		ID: s.ID, CampaignID: s.CampaignID, LeadID: s.LeadID, TemplateID: s.TemplateID, Steps: steps,
		LlmProvider: s.LLMProvider, LlmModel: s.LLMModel, LlmPromptTokens: s.LLMPromptTokens,
		LlmCompletionTokens: s.LLMCompletionTokens, IsApproved: s.IsApproved, ApprovedAt: s.ApprovedAt,
		ApprovedBy: s.ApprovedBy, CurrentStep: s.CurrentStep, IsComplete: s.IsComplete,
		GeneratedAt: s.GeneratedAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if s.Lint != nil {
		out.Lint = &api.SequenceLint{Blocking: s.Lint.Blocking(), Findings: LintFindings(s.Lint.Findings)}
	}
	return out
}

// LintFindings are the lint's findings as the API returns them.
func LintFindings(fs []sequencelint.Finding) []api.LintFinding {
	out := make([]api.LintFinding, len(fs))
	for i, f := range fs {
		out[i] = api.LintFinding{Step: f.Step, Field: f.Field, Code: f.Code, Severity: api.LintFindingSeverity(f.Severity), Message: f.Message}
	}
	return out
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

// Resource is g as the API returns it (openapi.yaml's SequenceGeneration):
// GET /v1/campaigns/{id}/generation and generation.completed's data.
func (g Generation) Resource() api.SequenceGeneration {
	fs := make([]api.SequenceGenerationFailure, len(g.Failures))
	for i, f := range g.Failures {
		fs[i] = api.SequenceGenerationFailure{LeadID: f.LeadID, Reason: f.Reason}
	}
	return api.SequenceGeneration{
		ID: g.ID, CampaignID: g.CampaignID, Status: api.SequenceGenerationStatus(g.Status), Description: g.Description,
		Total: g.Total, Done: g.Done, Failed: g.Failed, Failures: fs, PromptTokens: g.PromptTokens,
		CompletionTokens: g.CompletionTokens, LlmProvider: g.LLMProvider, LlmModel: g.LLMModel,
		EstimatedCostUsd: g.EstimatedCostUSD, Error: g.Error, CreatedBy: g.CreatedBy, StartedAt: g.StartedAt,
		FinishedAt: g.FinishedAt, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

// Resource is p as the API returns it.
func (p Preview) Resource() api.SequencePreview {
	steps := make([]api.SequenceStep, len(p.Steps))
	for i, st := range p.Steps {
		steps[i] = StepResource(st)
	}
	return api.SequencePreview{
		LeadID: p.LeadID, Steps: steps, LlmProvider: p.Meta.Provider, LlmModel: p.Meta.Model,
		LlmPromptTokens: p.Meta.Usage.PromptTokens, LlmCompletionTokens: p.Meta.Usage.CompletionTokens,
	}
}
