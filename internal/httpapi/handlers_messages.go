package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/sending"
)

// ListMessages implements GET /v1/messages.
func (s *Server) ListMessages(ctx context.Context, req server.ListMessagesRequestObject) (server.ListMessagesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	f := sending.MessageFilter{CampaignID: req.Params.CampaignID, LeadID: req.Params.LeadID, Step: req.Params.Step}
	if req.Params.Status != nil {
		for _, st := range *req.Params.Status {
			f.Statuses = append(f.Statuses, string(st))
		}
	}
	if req.Params.BlockedReason != nil {
		r := string(*req.Params.BlockedReason)
		f.BlockedReason = &r
	}
	rows, next, err := s.sending.ListMessages(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	data := make([]api.Message, len(rows))
	for i, m := range rows {
		data[i] = m.Resource()
	}
	return server.ListMessages200JSONResponse(api.MessageList{Data: data, NextCursor: next}), nil
}

// GetMessage implements GET /v1/messages/{message_id}.
func (s *Server) GetMessage(ctx context.Context, req server.GetMessageRequestObject) (server.GetMessageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.sending.GetMessage(ctx, p.Actor(), req.MessageID)
	if err != nil {
		return nil, err
	}
	return server.GetMessage200JSONResponse(m.Resource()), nil
}

// ListCampaignEmailAccounts implements GET /v1/campaigns/{campaign_id}/email-accounts.
func (s *Server) ListCampaignEmailAccounts(ctx context.Context, req server.ListCampaignEmailAccountsRequestObject) (server.ListCampaignEmailAccountsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	boxes, err := s.sending.CampaignMailboxes(ctx, p.Actor(), req.CampaignID)
	if err != nil {
		return nil, err
	}
	return server.ListCampaignEmailAccounts200JSONResponse(api.CampaignEmailAccountList{Data: mapAll(boxes, sending.Mailbox.Resource)}), nil
}

// SetCampaignEmailAccounts implements PUT /v1/campaigns/{campaign_id}/email-accounts.
func (s *Server) SetCampaignEmailAccounts(ctx context.Context, req server.SetCampaignEmailAccountsRequestObject) (server.SetCampaignEmailAccountsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	boxes, err := s.sending.SetCampaignMailboxes(ctx, p.Actor(), req.CampaignID, req.Body.EmailAccountIds)
	if err != nil {
		return nil, err
	}
	return server.SetCampaignEmailAccounts200JSONResponse(api.CampaignEmailAccountList{Data: mapAll(boxes, sending.Mailbox.Resource)}), nil
}

// GetCampaignSchedule implements GET /v1/campaigns/{campaign_id}/schedule.
func (s *Server) GetCampaignSchedule(ctx context.Context, req server.GetCampaignScheduleRequestObject) (server.GetCampaignScheduleResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.sending.SchedulePreview(ctx, p.Actor(), req.CampaignID, req.Params.LeadID, page)
	if err != nil {
		return nil, err
	}
	return server.GetCampaignSchedule200JSONResponse(api.CampaignScheduleList{Data: mapAll(rows, sending.LeadSchedule.Resource), NextCursor: next}), nil
}
