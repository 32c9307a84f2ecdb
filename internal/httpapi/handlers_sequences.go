package httpapi

import (
	"context"

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
