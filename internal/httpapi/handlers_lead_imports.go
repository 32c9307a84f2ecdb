package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// CreateLeadImport implements POST /v1/leads/imports: it stores the file
// (text/csv, multipart/form-data: streamed from the request into storage)
// or its https URL (application/json: the worker downloads it) and queues
// its import.
func (s *Server) CreateLeadImport(ctx context.Context, req server.CreateLeadImportRequestObject) (server.CreateLeadImportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.JSONBody != nil {
		return s.createLeadImportFromURL(ctx, p.Actor(), req)
	}
	campaignID := req.Params.CampaignID
	var mapping []byte
	if req.Params.Mapping != nil {
		mapping = []byte(*req.Params.Mapping)
	}
	skip := req.Params.SkipIfInOtherCampaign != nil && *req.Params.SkipIfInOtherCampaign
	create := func(body io.Reader, fileName string) (leadimports.Import, error) {
		overrides, err := parseMapping(mapping)
		if err != nil {
			return leadimports.Import{}, err
		}
		return s.leadImports.Create(ctx, p.Actor(), campaignID, overrides, fileName, body, leadimports.SkipIfInOtherCampaign(skip))
	}
	var imp leadimports.Import
	if req.MultipartBody != nil {
		err = eachFormPart(req.MultipartBody, func(part *multipart.Part) error {
			switch part.FormName() {
			case "file":
				imp, err = create(part, part.FileName())
				return err
			case "mapping":
				b, err := io.ReadAll(io.LimitReader(part, maxMappingBytes+1))
				if err != nil {
					return badForm(err)
				}
				mapping = b
			case "campaign_id":
				b, err := io.ReadAll(io.LimitReader(part, 100))
				if err != nil {
					return badForm(err)
				}
				id, err := uuid.Parse(strings.TrimSpace(string(b)))
				if err != nil {
					return fault.Invalid(fault.FieldError{Field: "/campaign_id", Code: "invalid_uuid", Message: "must be a UUID"})
				}
				campaignID = &id
			case "skip_if_in_other_campaign":
				b, err := io.ReadAll(io.LimitReader(part, 10))
				if err != nil {
					return badForm(err)
				}
				switch strings.TrimSpace(string(b)) {
				case "true":
					skip = true
				case "false":
					skip = false
				default:
					return fault.Invalid(fault.FieldError{Field: "/skip_if_in_other_campaign", Code: "invalid_boolean", Message: "must be true or false"})
				}
			}
			return nil
		}, "mapping", "campaign_id", "skip_if_in_other_campaign")
	} else {
		imp, err = create(req.Body, "")
	}
	if err != nil {
		return nil, err
	}
	return server.CreateLeadImport202JSONResponse(imp.Resource()), nil
}

func badForm(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return err // the upload limit's 413
	}
	return fault.BadRequest("invalid_multipart", "the form cannot be read: "+err.Error())
}

// createLeadImportFromURL is CreateLeadImport's JSON branch; the body's
// campaign_id and mapping win over the query parameters.
func (s *Server) createLeadImportFromURL(ctx context.Context, a access.Actor, req server.CreateLeadImportRequestObject) (server.CreateLeadImportResponseObject, error) {
	in := req.JSONBody
	campaignID := req.Params.CampaignID
	if in.CampaignID != nil {
		campaignID = in.CampaignID
	}
	var mapping map[string]string
	if in.Mapping != nil {
		mapping = *in.Mapping
	} else if req.Params.Mapping != nil {
		m, err := parseMapping([]byte(*req.Params.Mapping))
		if err != nil {
			return nil, err
		}
		mapping = m
	}
	skip := req.Params.SkipIfInOtherCampaign != nil && *req.Params.SkipIfInOtherCampaign
	if in.SkipIfInOtherCampaign != nil {
		skip = *in.SkipIfInOtherCampaign
	}
	imp, err := s.leadImports.CreateFromURL(ctx, a, campaignID, mapping, in.URL, leadimports.SkipIfInOtherCampaign(skip))
	if err != nil {
		return nil, err
	}
	return server.CreateLeadImport202JSONResponse(imp.Resource()), nil
}

// eachFormPart hands fn the form's parts in order until the part named
// "file", which fn streams (a file of hundreds of megabytes is never held
// in memory). So the parts that qualify the file (named in before) must
// come before it, as for an S3 POST upload; one after it is refused. A
// form without a file part is refused.
func eachFormPart(mr *multipart.Reader, fn func(*multipart.Part) error, before ...string) error {
	seenFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return badForm(err)
		}
		name := part.FormName()
		if seenFile {
			if slices.Contains(before, name) {
				return fault.Invalid(fault.FieldError{Field: "/" + name, Code: "after_file",
					Message: "must come before the part named file (the file is read as it arrives)"})
			}
			continue
		}
		if err := fn(part); err != nil {
			return err
		}
		seenFile = name == "file"
	}
	if !seenFile {
		return fault.Invalid(fault.FieldError{Field: "/file", Code: "required", Message: "the form has no part named file"})
	}
	return nil
}

// ListLeadImports implements GET /v1/leads/imports.
func (s *Server) ListLeadImports(ctx context.Context, req server.ListLeadImportsRequestObject) (server.ListLeadImportsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.leadImports.List(ctx, p.Actor(), page)
	if err != nil {
		return nil, err
	}
	out := api.LeadImportList{Data: mapAll(rows, leadimports.Import.Resource), NextCursor: next}
	return server.ListLeadImports200JSONResponse(out), nil
}

// GetLeadImport implements GET /v1/leads/imports/{import_id}.
func (s *Server) GetLeadImport(ctx context.Context, req server.GetLeadImportRequestObject) (server.GetLeadImportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	imp, err := s.leadImports.Get(ctx, p.Actor(), req.ImportID)
	if err != nil {
		return nil, err
	}
	return server.GetLeadImport200JSONResponse(imp.Resource()), nil
}

// CancelLeadImport implements POST /v1/leads/imports/{import_id}/cancel.
func (s *Server) CancelLeadImport(ctx context.Context, req server.CancelLeadImportRequestObject) (server.CancelLeadImportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	imp, err := s.leadImports.Cancel(ctx, p.Actor(), req.ImportID)
	if err != nil {
		return nil, err
	}
	return server.CancelLeadImport200JSONResponse(imp.Resource()), nil
}

// GetLeadImportErrors implements GET /v1/leads/imports/{import_id}/errors.
func (s *Server) GetLeadImportErrors(ctx context.Context, req server.GetLeadImportErrorsRequestObject) (server.GetLeadImportErrorsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := s.leadImports.Errors(ctx, p.Actor(), req.ImportID, &buf); err != nil {
		return nil, err
	}
	return server.GetLeadImportErrors200TextCsvResponse{Body: &buf, ContentLength: int64(buf.Len())}, nil
}
