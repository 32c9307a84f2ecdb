package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"sort"
	"strings"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimport"
)

// previewRows is how many data rows a preview shows.
const previewRows = 10

// maxMappingBytes bounds the mapping overrides (query or form part).
const maxMappingBytes = 8000

// PreviewLeadImport implements POST /v1/leads/imports/preview: it reads
// the file's first rows as an import would and writes nothing.
func (s *Server) PreviewLeadImport(ctx context.Context, req server.PreviewLeadImportRequestObject) (server.PreviewLeadImportResponseObject, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var mapping []byte
	if req.Params.Mapping != nil {
		mapping = []byte(*req.Params.Mapping)
	}
	var out api.LeadImportPreview
	preview := func(body io.Reader) error {
		overrides, err := parseMapping(mapping)
		if err != nil {
			return err
		}
		out, err = previewFile(body, overrides)
		return err
	}
	var err error
	if req.MultipartBody != nil {
		err = eachFormPart(req.MultipartBody, func(part *multipart.Part) error {
			switch part.FormName() {
			case "file":
				return preview(part)
			case "mapping":
				b, err := io.ReadAll(io.LimitReader(part, maxMappingBytes+1))
				if err != nil {
					return badForm(err)
				}
				mapping = b
			}
			return nil
		}, "mapping")
	} else {
		err = preview(req.Body)
	}
	if err != nil {
		return nil, err
	}
	return server.PreviewLeadImport200JSONResponse(out), nil
}

// previewFile reads the first rows of a file as an import would.
func previewFile(body io.Reader, overrides map[string]string) (api.LeadImportPreview, error) {
	r, err := leadimport.Open(body, leadimport.Options{Mapping: overrides})
	if err != nil {
		return api.LeadImportPreview{}, importError(err)
	}
	out := api.LeadImportPreview{
		Encoding:   api.LeadImportPreviewEncoding(r.Encoding),
		Delimiter:  delimiterName(r.Delimiter),
		HeaderLine: r.HeaderLine,
		Columns:    make([]api.LeadImportColumn, 0, len(r.Columns)),
		Unmapped:   []string{},
		Records:    []api.LeadImportRecord{},
	}
	for _, c := range r.Columns {
		col := api.LeadImportColumn{Index: c.Index, Header: c.Header, Source: api.LeadImportColumnSource(c.Source)}
		if c.Field != "" {
			col.Field = &c.Field
		}
		if c.Field == "" || strings.HasPrefix(c.Field, leadimport.CustomPrefix) {
			out.Unmapped = append(out.Unmapped, c.Header)
		}
		out.Columns = append(out.Columns, col)
	}
	for len(out.Records) < previewRows {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return api.LeadImportPreview{}, importError(err)
		}
		ar := api.LeadImportRecord{Line: rec.Line, Fields: rec.Fields, Raw: rec.Raw, Problems: []api.LeadImportProblem{}}
		for _, p := range rec.Problems {
			ap := api.LeadImportProblem{Code: p.Code, Message: p.Message}
			if p.Column != "" {
				ap.Column = &p.Column
			}
			ar.Problems = append(ar.Problems, ap)
		}
		out.Records = append(out.Records, ar)
	}
	return out, nil
}

// parseMapping reads the overrides: a JSON object header → field.
func parseMapping(b []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if len(b) > maxMappingBytes {
		return nil, fault.Invalid(fault.FieldError{Field: "/mapping", Code: "too_long", Message: "must be at most 8000 bytes"})
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fault.Invalid(fault.FieldError{Field: "/mapping", Code: "invalid_json", Message: "must be a JSON object from header to field (or \"skip\")"})
	}
	headers := make([]string, 0, len(m))
	for h := range m {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	var bad []fault.FieldError
	for _, h := range headers {
		if !leadimport.ValidField(m[h]) {
			bad = append(bad, fault.FieldError{Field: "/mapping/" + h, Code: "invalid_field", Message: "must be a lead field, custom.<key> (lower-case letters, digits and _) or skip"})
		}
	}
	if len(bad) > 0 {
		return nil, fault.Invalid(bad...)
	}
	return m, nil
}

// importError renders the reader's errors: a file that is not CSV, or
// one with a runaway row, is the client's; anything else is ours.
func importError(err error) error {
	switch {
	case errors.Is(err, leadimport.ErrNotCSV):
		return fault.Invalid(fault.FieldError{Field: "/file", Code: "not_csv", Message: err.Error()})
	case errors.Is(err, leadimport.ErrTooLarge):
		return fault.Invalid(fault.FieldError{Field: "/file", Code: "row_too_large", Message: err.Error()})
	}
	return err
}

func delimiterName(d rune) api.LeadImportPreviewDelimiter {
	switch d {
	case ';':
		return api.LeadImportPreviewDelimiterSemicolon
	case '\t':
		return api.LeadImportPreviewDelimiterTab
	}
	return api.LeadImportPreviewDelimiterComma
}
