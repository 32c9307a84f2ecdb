package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// ListSuppressions implements GET /v1/suppressions.
func (s *Server) ListSuppressions(ctx context.Context, req server.ListSuppressionsRequestObject) (server.ListSuppressionsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	var f suppressions.Filter
	if req.Params.Kind != nil {
		f.Kind = contact.Kind(*req.Params.Kind)
	}
	if req.Params.Reason != nil {
		f.Reason = string(*req.Params.Reason)
	}
	if req.Params.Q != nil {
		f.Prefix = *req.Params.Q
	}
	rows, next, err := s.suppressions.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	out := api.SuppressionList{Data: make([]api.Suppression, len(rows)), NextCursor: next}
	for i, r := range rows {
		out.Data[i] = toAPISuppression(r)
	}
	return server.ListSuppressions200JSONResponse(out), nil
}

// CreateSuppression implements POST /v1/suppressions: 201 for a new
// entry, 200 with the existing one when the value was already suppressed.
func (s *Server) CreateSuppression(ctx context.Context, req server.CreateSuppressionRequestObject) (server.CreateSuppressionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	row, created, err := s.suppressions.Add(ctx, p.Actor(), suppressionFromCreate(*req.Body))
	if err != nil {
		return nil, err
	}
	if !created {
		return server.CreateSuppression200JSONResponse(toAPISuppression(row)), nil
	}
	return server.CreateSuppression201JSONResponse(toAPISuppression(row)), nil
}

// BulkCreateSuppressions implements POST /v1/suppressions/bulk (text/csv).
func (s *Server) BulkCreateSuppressions(ctx context.Context, req server.BulkCreateSuppressionsRequestObject) (server.BulkCreateSuppressionsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var o suppressions.BulkOptions
	if req.Params.Reason != nil {
		o.Reason = string(*req.Params.Reason)
	}
	if req.Params.Source != nil {
		o.Source = *req.Params.Source
	}
	if req.Params.Region != nil {
		o.Region = *req.Params.Region
	}
	res, err := s.suppressions.BulkAdd(ctx, p.Actor(), req.Body, o)
	if err != nil {
		return nil, err
	}
	return server.BulkCreateSuppressions200JSONResponse(toAPISuppressionBulk(res)), nil
}

// DeleteSuppression implements DELETE /v1/suppressions/{suppression_id}.
func (s *Server) DeleteSuppression(ctx context.Context, req server.DeleteSuppressionRequestObject) (server.DeleteSuppressionResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.suppressions.Remove(ctx, p.Actor(), req.SuppressionID); err != nil {
		return nil, err
	}
	return server.DeleteSuppression204Response{}, nil
}

func toAPISuppression(r suppressions.Suppression) api.Suppression {
	return api.Suppression{
		ID: r.ID, Kind: api.SuppressionKind(r.Kind), Value: r.Value, Reason: api.SuppressionReason(r.Reason),
		Source: r.Source, CreatedAt: r.CreatedAt,
	}
}

func suppressionFromCreate(b api.SuppressionCreate) suppressions.New {
	n := suppressions.New{Value: b.Value}
	if b.Kind != nil {
		n.Kind = contact.Kind(*b.Kind)
	}
	if b.Reason != nil {
		n.Reason = string(*b.Reason)
	}
	if b.Source != nil {
		n.Source = *b.Source
	}
	if b.Region != nil {
		n.Region = *b.Region
	}
	return n
}

func toAPISuppressionBulk(r suppressions.BulkResult) api.SuppressionBulkResult {
	out := api.SuppressionBulkResult{
		Added: r.Added, AlreadyPresent: r.AlreadyPresent, Duplicates: r.Duplicates, Invalid: r.Invalid,
		Errors: make([]api.SuppressionRowError, len(r.Errors)),
	}
	for i, e := range r.Errors {
		out.Errors[i] = api.SuppressionRowError{Line: e.Line, Value: e.Value, Code: e.Code, Message: e.Message}
	}
	return out
}
