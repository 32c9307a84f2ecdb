package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// ListTemplates implements GET /v1/templates.
func (s *Server) ListTemplates(ctx context.Context, req server.ListTemplatesRequestObject) (server.ListTemplatesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := templates.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	f := templates.Filter{Industry: textOrEmpty(req.Params.Industry), UseCase: textOrEmpty(req.Params.UseCase)}
	if req.Params.Channel != nil {
		f.Channel = string(*req.Params.Channel)
	}
	rows, next, err := s.tpl.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	out := api.TemplateList{Data: mapAll(rows, templates.Template.Resource), NextCursor: next}
	return server.ListTemplates200JSONResponse(out), nil
}

// CreateTemplate implements POST /v1/templates.
func (s *Server) CreateTemplate(ctx context.Context, req server.CreateTemplateRequestObject) (server.CreateTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := templates.Input{Name: b.Name, Description: textOrEmpty(b.Description), Industry: textOrEmpty(b.Industry), UseCase: textOrEmpty(b.UseCase),
		Steps: stepsFromAPI(b.Steps)}
	if b.IsPublic != nil {
		in.IsPublic = *b.IsPublic
	}
	t, err := s.tpl.Create(ctx, p.Actor(), in)
	if err != nil {
		return nil, err
	}
	return server.CreateTemplate201JSONResponse(t.Resource()), nil
}

// GetTemplate implements GET /v1/templates/{template_id}.
func (s *Server) GetTemplate(ctx context.Context, req server.GetTemplateRequestObject) (server.GetTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.tpl.Get(ctx, p.Actor(), req.TemplateID)
	if err != nil {
		return nil, err
	}
	return server.GetTemplate200JSONResponse(t.Resource()), nil
}

// UpdateTemplate implements PATCH /v1/templates/{template_id}.
func (s *Server) UpdateTemplate(ctx context.Context, req server.UpdateTemplateRequestObject) (server.UpdateTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	u := templates.Update{Name: b.Name, Description: b.Description, Industry: b.Industry, UseCase: b.UseCase, IsPublic: b.IsPublic}
	if b.Steps != nil {
		steps := stepsFromAPI(*b.Steps)
		u.Steps = &steps
	}
	t, err := s.tpl.Update(ctx, p.Actor(), req.TemplateID, u)
	if err != nil {
		return nil, err
	}
	return server.UpdateTemplate200JSONResponse(t.Resource()), nil
}

// DeleteTemplate implements DELETE /v1/templates/{template_id}.
func (s *Server) DeleteTemplate(ctx context.Context, req server.DeleteTemplateRequestObject) (server.DeleteTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.tpl.Delete(ctx, p.Actor(), req.TemplateID); err != nil {
		return nil, err
	}
	return server.DeleteTemplate204Response{}, nil
}

// CloneTemplate implements POST /v1/templates/{template_id}/clone.
func (s *Server) CloneTemplate(ctx context.Context, req server.CloneTemplateRequestObject) (server.CloneTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var name string
	if req.Body != nil {
		name = textOrEmpty(req.Body.Name)
	}
	t, err := s.tpl.Clone(ctx, p.Actor(), req.TemplateID, name)
	if err != nil {
		return nil, err
	}
	return server.CloneTemplate201JSONResponse(t.Resource()), nil
}

// PreviewTemplate implements POST /v1/templates/{template_id}/preview.
func (s *Server) PreviewTemplate(ctx context.Context, req server.PreviewTemplateRequestObject) (server.PreviewTemplateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var lead *templates.Lead
	if req.Body != nil && req.Body.Lead != nil {
		l := leadFromAPI(*req.Body.Lead)
		lead = &l
	}
	pv, err := s.tpl.Preview(ctx, p.Actor(), req.TemplateID, lead)
	if err != nil {
		return nil, err
	}
	return server.PreviewTemplate200JSONResponse(api.TemplatePreview{
		TemplateID: pv.TemplateID, Sample: pv.Sample, Steps: templates.ResourceSteps(pv.Steps), Unresolved: pv.Unresolved,
	}), nil
}
