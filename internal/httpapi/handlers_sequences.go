package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

// GetLeadSequence implements GET /v1/leads/{lead_id}/sequence.
func (s *Server) GetLeadSequence(ctx context.Context, req server.GetLeadSequenceRequestObject) (server.GetLeadSequenceResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	seq, err := s.sequences.GetByLead(ctx, p.Actor(), req.LeadID)
	if err != nil {
		return nil, err
	}
	return server.GetLeadSequence200JSONResponse(seq.Resource()), nil
}

// UpdateLeadSequence implements PATCH /v1/leads/{lead_id}/sequence.
func (s *Server) UpdateLeadSequence(ctx context.Context, req server.UpdateLeadSequenceRequestObject) (server.UpdateLeadSequenceResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	steps := make([]llm.Step, len(req.Body.Steps))
	for i, st := range req.Body.Steps {
		steps[i] = sequences.StepFromAPI(st)
	}
	seq, err := s.sequences.Update(ctx, p.Actor(), req.LeadID, steps)
	if err != nil {
		return nil, err
	}
	return server.UpdateLeadSequence200JSONResponse(seq.Resource()), nil
}

// ListCampaignSequences implements GET /v1/campaigns/{campaign_id}/sequences.
func (s *Server) ListCampaignSequences(ctx context.Context, req server.ListCampaignSequencesRequestObject) (server.ListCampaignSequencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.sequences.List(ctx, p.Actor(), req.CampaignID, req.Params.Approved, page)
	if err != nil {
		return nil, err
	}
	return server.ListCampaignSequences200JSONResponse(api.SequenceList{Data: mapAll(rows, sequences.Sequence.Resource), NextCursor: next}), nil
}

// StartCampaignGeneration implements POST /v1/campaigns/{campaign_id}/generation.
func (s *Server) StartCampaignGeneration(ctx context.Context, req server.StartCampaignGenerationRequestObject) (server.StartCampaignGenerationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var desc *string
	if req.Body != nil {
		desc = req.Body.Description
	}
	g, err := s.generation.Start(ctx, p.Actor(), req.CampaignID, desc)
	if err != nil {
		return nil, err
	}
	return server.StartCampaignGeneration202JSONResponse(g.Resource()), nil
}

// GetCampaignGeneration implements GET /v1/campaigns/{campaign_id}/generation.
func (s *Server) GetCampaignGeneration(ctx context.Context, req server.GetCampaignGenerationRequestObject) (server.GetCampaignGenerationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.generation.Latest(ctx, p.Actor(), req.CampaignID)
	if err != nil {
		return nil, err
	}
	return server.GetCampaignGeneration200JSONResponse(g.Resource()), nil
}

// CancelCampaignGeneration implements POST /v1/campaigns/{campaign_id}/generation/cancel.
func (s *Server) CancelCampaignGeneration(ctx context.Context, req server.CancelCampaignGenerationRequestObject) (server.CancelCampaignGenerationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.generation.Cancel(ctx, p.Actor(), req.CampaignID)
	if err != nil {
		return nil, err
	}
	return server.CancelCampaignGeneration200JSONResponse(g.Resource()), nil
}

// PreviewCampaignSequences implements POST /v1/campaigns/{campaign_id}/sequences/preview.
func (s *Server) PreviewCampaignSequences(ctx context.Context, req server.PreviewCampaignSequencesRequestObject) (server.PreviewCampaignSequencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var (
		ids  []uuid.UUID
		desc *string
	)
	if req.Body != nil {
		desc = req.Body.Description
		if req.Body.LeadIds != nil {
			ids = *req.Body.LeadIds
		}
	}
	out, err := s.generation.Preview(ctx, p.Actor(), req.CampaignID, ids, desc)
	if err != nil {
		return nil, err
	}
	return server.PreviewCampaignSequences200JSONResponse(api.SequencePreviewList{Data: mapAll(out, sequences.Preview.Resource)}), nil
}

func selectionFromAPI(b *api.SequenceSelection) sequences.Selection {
	var sel sequences.Selection
	if b == nil {
		return sel
	}
	if b.SequenceIds != nil {
		sel.IDs = *b.SequenceIds
	}
	if b.All != nil {
		sel.All = *b.All
	}
	return sel
}

// ApproveCampaignSequences implements POST /v1/campaigns/{campaign_id}/sequences/approve.
func (s *Server) ApproveCampaignSequences(ctx context.Context, req server.ApproveCampaignSequencesRequestObject) (server.ApproveCampaignSequencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.sequences.Approve(ctx, p.Actor(), req.CampaignID, selectionFromAPI(req.Body))
	if err != nil {
		return nil, err
	}
	return server.ApproveCampaignSequences200JSONResponse(sequenceBulkResult(r)), nil
}

// RejectCampaignSequences implements POST /v1/campaigns/{campaign_id}/sequences/reject.
func (s *Server) RejectCampaignSequences(ctx context.Context, req server.RejectCampaignSequencesRequestObject) (server.RejectCampaignSequencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.sequences.Reject(ctx, p.Actor(), req.CampaignID, selectionFromAPI(req.Body))
	if err != nil {
		return nil, err
	}
	return server.RejectCampaignSequences200JSONResponse(sequenceBulkResult(r)), nil
}

// sequenceBulkResult is an approve's or reject's outcome, with the lint's
// findings on what an approval held back.
func sequenceBulkResult(r sequences.BulkResult) api.SequenceBulkResult {
	out := api.SequenceBulkResult{Changed: r.Changed, Skipped: r.Skipped, Blocked: make([]api.SequenceLintBlocked, len(r.Blocked))}
	for i, b := range r.Blocked {
		out.Blocked[i] = api.SequenceLintBlocked{SequenceID: b.SequenceID, Findings: sequences.LintFindings(b.Findings)}
	}
	return out
}
