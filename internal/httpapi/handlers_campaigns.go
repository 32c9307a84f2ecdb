package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// ListCampaigns implements GET /v1/campaigns.
func (s *Server) ListCampaigns(ctx context.Context, req server.ListCampaignsRequestObject) (server.ListCampaignsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	var status *campaigns.Status
	if req.Params.Status != nil {
		st := campaigns.Status(*req.Params.Status)
		status = &st
	}
	rows, next, err := s.campaigns.List(ctx, p.Actor(), status, page)
	if err != nil {
		return nil, err
	}
	out := api.CampaignList{Data: mapAll(rows, campaigns.Campaign.Resource), NextCursor: next}
	return server.ListCampaigns200JSONResponse(out), nil
}

// CreateCampaign implements POST /v1/campaigns.
func (s *Server) CreateCampaign(ctx context.Context, req server.CreateCampaignRequestObject) (server.CreateCampaignResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.campaigns.Create(ctx, p.Actor(), campaignCreateFromAPI(*req.Body))
	if err != nil {
		return nil, err
	}
	// In the request's transaction: the campaign and its mailboxes are
	// created together, or neither is.
	if ids := req.Body.EmailAccountIds; ids != nil {
		if _, err := s.sending.SetCampaignMailboxes(ctx, p.Actor(), c.ID, *ids); err != nil {
			return nil, err
		}
	}
	return server.CreateCampaign201JSONResponse(c.Resource()), nil
}

// GetCampaign implements GET /v1/campaigns/{campaign_id}.
func (s *Server) GetCampaign(ctx context.Context, req server.GetCampaignRequestObject) (server.GetCampaignResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.campaigns.Get(ctx, p.Actor(), req.CampaignID)
	if err != nil {
		return nil, err
	}
	return server.GetCampaign200JSONResponse(c.Resource()), nil
}

// UpdateCampaign implements PATCH /v1/campaigns/{campaign_id}.
func (s *Server) UpdateCampaign(ctx context.Context, req server.UpdateCampaignRequestObject) (server.UpdateCampaignResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := campaignUpdateFromAPI(*req.Body)
	if err != nil {
		return nil, err
	}
	c, err := s.campaigns.Update(ctx, p.Actor(), req.CampaignID, u)
	if err != nil {
		return nil, err
	}
	// In the request's transaction, as on create.
	if ids := req.Body.EmailAccountIds; ids != nil {
		if _, err := s.sending.SetCampaignMailboxes(ctx, p.Actor(), c.ID, *ids); err != nil {
			return nil, err
		}
	}
	return server.UpdateCampaign200JSONResponse(c.Resource()), nil
}

// DeleteCampaign implements DELETE /v1/campaigns/{campaign_id}.
func (s *Server) DeleteCampaign(ctx context.Context, req server.DeleteCampaignRequestObject) (server.DeleteCampaignResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.campaigns.Delete(ctx, p.Actor(), req.CampaignID); err != nil {
		return nil, err
	}
	return server.DeleteCampaign204Response{}, nil
}

// transitionCampaign is the five lifecycle actions' one body.
func (s *Server) transitionCampaign(ctx context.Context, id uuid.UUID, action campaigns.Action) (api.Campaign, error) {
	p, err := principal(ctx)
	if err != nil {
		return api.Campaign{}, err
	}
	c, err := s.campaigns.Transition(ctx, p.Actor(), id, action)
	if err != nil {
		return api.Campaign{}, err
	}
	return c.Resource(), nil
}

// ActivateCampaign implements POST /v1/campaigns/{campaign_id}/activate.
func (s *Server) ActivateCampaign(ctx context.Context, req server.ActivateCampaignRequestObject) (server.ActivateCampaignResponseObject, error) {
	c, err := s.transitionCampaign(ctx, req.CampaignID, campaigns.ActionActivate)
	if err != nil {
		return nil, err
	}
	return server.ActivateCampaign200JSONResponse(c), nil
}

// PauseCampaign implements POST /v1/campaigns/{campaign_id}/pause.
func (s *Server) PauseCampaign(ctx context.Context, req server.PauseCampaignRequestObject) (server.PauseCampaignResponseObject, error) {
	c, err := s.transitionCampaign(ctx, req.CampaignID, campaigns.ActionPause)
	if err != nil {
		return nil, err
	}
	return server.PauseCampaign200JSONResponse(c), nil
}

// ResumeCampaign implements POST /v1/campaigns/{campaign_id}/resume.
func (s *Server) ResumeCampaign(ctx context.Context, req server.ResumeCampaignRequestObject) (server.ResumeCampaignResponseObject, error) {
	c, err := s.transitionCampaign(ctx, req.CampaignID, campaigns.ActionResume)
	if err != nil {
		return nil, err
	}
	return server.ResumeCampaign200JSONResponse(c), nil
}

// CompleteCampaign implements POST /v1/campaigns/{campaign_id}/complete.
func (s *Server) CompleteCampaign(ctx context.Context, req server.CompleteCampaignRequestObject) (server.CompleteCampaignResponseObject, error) {
	c, err := s.transitionCampaign(ctx, req.CampaignID, campaigns.ActionComplete)
	if err != nil {
		return nil, err
	}
	return server.CompleteCampaign200JSONResponse(c), nil
}

// ArchiveCampaign implements POST /v1/campaigns/{campaign_id}/archive.
func (s *Server) ArchiveCampaign(ctx context.Context, req server.ArchiveCampaignRequestObject) (server.ArchiveCampaignResponseObject, error) {
	c, err := s.transitionCampaign(ctx, req.CampaignID, campaigns.ActionArchive)
	if err != nil {
		return nil, err
	}
	return server.ArchiveCampaign200JSONResponse(c), nil
}

func campaignSettingsFromAPI(in *api.CampaignSettingsInput) campaigns.SettingsPatch {
	if in == nil {
		return campaigns.SettingsPatch{}
	}
	p := campaigns.SettingsPatch{
		SequenceLength: in.SequenceLength, DelayBetweenStepsDays: in.DelayBetweenStepsDays, StopOnReply: in.StopOnReply,
		Timezone: in.Timezone, SendWindowStart: in.SendWindowStart, SendWindowEnd: in.SendWindowEnd,
		MaxNewLeadsPerDay: in.MaxNewLeadsPerDay,
	}
	if in.ApprovalMode != nil {
		m := string(*in.ApprovalMode)
		p.ApprovalMode = &m
	}
	if in.SendDays != nil {
		days := make([]string, len(*in.SendDays))
		for i, d := range *in.SendDays {
			days[i] = string(d)
		}
		p.SendDays = &days
	}
	return p
}

func channelsFromAPI(in []api.CampaignChannel) []string {
	out := make([]string, len(in))
	for i, ch := range in {
		out[i] = string(ch)
	}
	return out
}

func campaignCreateFromAPI(b api.CampaignCreate) campaigns.Create {
	c := campaigns.Create{
		Name: b.Name, Description: b.Description, Source: string(b.Source), TemplateID: b.TemplateID,
		Settings: campaignSettingsFromAPI(b.Settings),
	}
	if b.SourceConfig != nil {
		c.SourceConfig = *b.SourceConfig
	}
	if b.Channels != nil {
		c.Channels = channelsFromAPI(*b.Channels)
	}
	if b.LlmContext != nil {
		bc := businessContextFromAPI(*b.LlmContext)
		c.LLMContext = &bc
	}
	return c
}

func campaignUpdateFromAPI(b api.CampaignUpdate) (campaigns.Update, error) {
	u := campaigns.Update{Name: b.Name, Description: b.Description, SourceConfig: b.SourceConfig}
	if b.Source != nil {
		src := string(*b.Source)
		u.Source = &src
	}
	if b.Channels != nil {
		ch := channelsFromAPI(*b.Channels)
		u.Channels = &ch
	}
	if b.TemplateID.IsSpecified() {
		if b.TemplateID.IsNull() {
			u.ClearTemplate = true
		} else {
			id, err := b.TemplateID.Get()
			if err != nil {
				return campaigns.Update{}, err
			}
			u.TemplateID = &id
		}
	}
	if b.Settings != nil {
		p := campaignSettingsFromAPI(b.Settings)
		u.Settings = &p
	}
	if b.LlmContext != nil {
		bc := businessContextFromAPI(*b.LlmContext)
		u.LLMContext = &bc
	}
	return u, nil
}
