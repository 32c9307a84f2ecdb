package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

// RegenerateLeadSequence implements POST /v1/leads/{lead_id}/sequence/regenerate.
func (s *Server) RegenerateLeadSequence(ctx context.Context, req server.RegenerateLeadSequenceRequestObject) (server.RegenerateLeadSequenceResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var r sequences.Regeneration
	if req.Body != nil {
		if req.Body.Instruction != nil {
			r.Instruction = *req.Body.Instruction
		}
		if req.Body.Step != nil {
			r.Step = *req.Body.Step
		}
	}
	seq, err := s.generation.Regenerate(ctx, p.Actor(), req.LeadID, r)
	if err != nil {
		return nil, err
	}
	return server.RegenerateLeadSequence200JSONResponse(seq.Resource()), nil
}
