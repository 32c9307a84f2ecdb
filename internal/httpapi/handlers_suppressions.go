package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/fault"
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
	out := api.SuppressionList{Data: mapAll(rows, suppressions.Suppression.Resource), NextCursor: next}
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
		return server.CreateSuppression200JSONResponse(row.Resource()), nil
	}
	return server.CreateSuppression201JSONResponse(row.Resource()), nil
}

// BulkCreateSuppressions implements POST /v1/suppressions/bulk: a text/csv
// body, or a multipart/form-data upload with the file in the part "file".
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
	body := req.Body
	if req.MultipartBody != nil {
		if body, err = formFile(req.MultipartBody, "file"); err != nil {
			return nil, err
		}
	}
	res, err := s.suppressions.BulkAdd(ctx, p.Actor(), body, o)
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

// formFile returns the contents of the form's part named name (the
// request's body limit bounds it).
func formFile(mr *multipart.Reader, name string) (io.Reader, error) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fault.Invalid(fault.FieldError{Field: "/" + name, Code: "required", Message: "the form has no part named " + name})
		}
		if err != nil {
			return nil, fault.BadRequest("invalid_multipart", "the form cannot be read: "+err.Error())
		}
		if part.FormName() != name {
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, fault.BadRequest("invalid_multipart", "the form cannot be read: "+err.Error())
		}
		return bytes.NewReader(b), nil
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
