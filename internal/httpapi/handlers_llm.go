package httpapi

import (
	"context"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
)

func (s *Server) toAPILlmSettings(st llmsettings.Settings) api.LlmSettings {
	out := api.LlmSettings{
		Provider: api.LlmProvider(st.Provider), Chosen: st.Chosen, Model: st.Model, DefaultModel: llmfactory.DefaultModel(st.Provider),
		Temperature: st.Temperature, APIKeySet: st.APIKeySet, KeySource: api.LlmSettingsKeySource(st.KeySource),
		Builtin: st.Builtin, Providers: make([]api.LlmProviderInfo, 0, len(llmfactory.Providers)),
	}
	if !st.UpdatedAt.IsZero() {
		out.UpdatedAt = &st.UpdatedAt
	}
	for _, p := range llmfactory.Providers {
		out.Providers = append(out.Providers, api.LlmProviderInfo{
			ID: api.LlmProvider(p), DefaultModel: llmfactory.DefaultModel(p), PlatformKey: s.llm.PlatformHasKey(p),
		})
	}
	return out
}

// GetLlmSettings implements GET /v1/settings/llm.
func (s *Server) GetLlmSettings(ctx context.Context, _ server.GetLlmSettingsRequestObject) (server.GetLlmSettingsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.llm.Get(ctx, p.Actor())
	if err != nil {
		return nil, err
	}
	return server.GetLlmSettings200JSONResponse(s.toAPILlmSettings(st)), nil
}

// PutLlmSettings implements PUT /v1/settings/llm.
func (s *Server) PutLlmSettings(ctx context.Context, req server.PutLlmSettingsRequestObject) (server.PutLlmSettingsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	st, err := s.llm.Put(ctx, p.Actor(), llmsettings.Update{
		Provider: string(b.Provider), Model: b.Model, Temperature: b.Temperature, APIKey: b.APIKey,
	})
	if err != nil {
		return nil, err
	}
	return server.PutLlmSettings200JSONResponse(s.toAPILlmSettings(st)), nil
}

// TestLlmSettings implements POST /v1/settings/llm/test.
func (s *Server) TestLlmSettings(ctx context.Context, _ server.TestLlmSettingsRequestObject) (server.TestLlmSettingsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.llm.Test(ctx, p.Actor())
	if err != nil {
		return nil, err
	}
	out := api.LlmTestResult{
		Ok: r.OK, Provider: api.LlmProvider(r.Provider), Model: r.Model, Builtin: r.Builtin,
		LatencyMs: int(r.Latency / time.Millisecond),
	}
	if r.OK {
		out.Reply = &r.Reply
	} else {
		out.Error = &api.LlmError{Code: r.ErrorCode, Message: r.ErrorText}
	}
	return server.TestLlmSettings200JSONResponse(out), nil
}

// GetLlmUsage implements GET /v1/settings/llm/usage.
func (s *Server) GetLlmUsage(ctx context.Context, req server.GetLlmUsageRequestObject) (server.GetLlmUsageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -30), today
	if req.Params.From != nil {
		from = req.Params.From.Time
	}
	if req.Params.To != nil {
		to = req.Params.To.Time
	}
	rows, err := s.llm.Usage(ctx, p.Actor(), from, to)
	if err != nil {
		return nil, err
	}
	out := api.LlmUsage{From: openapi_types.Date{Time: from}, To: openapi_types.Date{Time: to}, Data: make([]api.LlmUsageRow, len(rows))}
	for i, r := range rows {
		out.Data[i] = api.LlmUsageRow{
			Day: openapi_types.Date{Time: r.Day}, Provider: r.Provider, Model: r.Model, Operation: r.Operation,
			Calls: r.Calls, Errors: r.Errors, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		}
		out.Totals.Calls += r.Calls
		out.Totals.Errors += r.Errors
		out.Totals.PromptTokens += r.PromptTokens
		out.Totals.CompletionTokens += r.CompletionTokens
	}
	return server.GetLlmUsage200JSONResponse(out), nil
}
