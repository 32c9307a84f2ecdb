package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/leadimport"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// leadFilter is the list's query filters as a leads.Filter.
func leadFilter(campaign *uuid.UUID, status *api.LeadStatus, approved *bool, country *string, from, to *time.Time, q *string) leads.Filter {
	f := leads.Filter{CampaignID: campaign, Approved: approved, CreatedFrom: from, CreatedTo: to}
	if status != nil {
		f.Status = string(*status)
	}
	if country != nil {
		f.Country = *country
	}
	if q != nil {
		f.Q = *q
	}
	return f
}

// ListLeads implements GET /v1/leads.
func (s *Server) ListLeads(ctx context.Context, req server.ListLeadsRequestObject) (server.ListLeadsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	q := req.Params
	rows, next, err := s.leads.List(ctx, p.Actor(), leadFilter(q.CampaignID, q.Status, q.Approved, q.Country, q.CreatedFrom, q.CreatedTo, q.Q), page)
	if err != nil {
		return nil, err
	}
	out := api.LeadList{Data: mapAll(rows, leads.Lead.Resource), NextCursor: next}
	return server.ListLeads200JSONResponse(out), nil
}

// CreateLead implements POST /v1/leads.
func (s *Server) CreateLead(ctx context.Context, req server.CreateLeadRequestObject) (server.CreateLeadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	c := leads.Create{CampaignID: b.CampaignID, IsApproved: b.IsApproved, Fields: leads.Fields{
		Email: b.Email, Phone: b.Phone, WhatsApp: b.Whatsapp, FirstName: b.FirstName, LastName: b.LastName,
		Company: b.Company, JobTitle: b.JobTitle, LinkedInURL: b.LinkedinURL, Website: b.Website, City: b.City,
		State: b.State, Country: b.Country, Timezone: b.Timezone, Source: b.Source,
	}}
	if b.CustomFields != nil {
		c.CustomFields = *b.CustomFields
	}
	if b.Region != nil {
		c.Region = *b.Region
	}
	if b.Status != nil {
		c.Status = string(*b.Status)
	}
	if b.SkipIfInOtherCampaign != nil {
		c.SkipIfInOtherCampaign = *b.SkipIfInOtherCampaign
	}
	l, err := s.leads.Create(ctx, p.Actor(), c)
	if err != nil {
		return nil, err
	}
	return server.CreateLead201JSONResponse(l.Resource()), nil
}

// GetLead implements GET /v1/leads/{lead_id}.
func (s *Server) GetLead(ctx context.Context, req server.GetLeadRequestObject) (server.GetLeadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.leads.Get(ctx, p.Actor(), req.LeadID)
	if err != nil {
		return nil, err
	}
	return server.GetLead200JSONResponse(toAPILeadDetail(d)), nil
}

// UpdateLead implements PATCH /v1/leads/{lead_id}.
func (s *Server) UpdateLead(ctx context.Context, req server.UpdateLeadRequestObject) (server.UpdateLeadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	u := leads.Update{IsApproved: b.IsApproved, Fields: leads.Fields{
		Email: b.Email, Phone: b.Phone, WhatsApp: b.Whatsapp, FirstName: b.FirstName, LastName: b.LastName,
		Company: b.Company, JobTitle: b.JobTitle, LinkedInURL: b.LinkedinURL, Website: b.Website, City: b.City,
		State: b.State, Country: b.Country, Timezone: b.Timezone, Source: b.Source,
	}}
	if b.CustomFields != nil {
		u.CustomFields = *b.CustomFields
	}
	if b.Region != nil {
		u.Region = *b.Region
	}
	if b.Status != nil {
		st := string(*b.Status)
		u.Status = &st
	}
	if b.CampaignID.IsSpecified() {
		if b.CampaignID.IsNull() {
			u.ClearCampaign = true
		} else {
			id, err := b.CampaignID.Get()
			if err != nil {
				return nil, err
			}
			u.CampaignID = &id
		}
	}
	l, err := s.leads.Update(ctx, p.Actor(), req.LeadID, u)
	if err != nil {
		return nil, err
	}
	return server.UpdateLead200JSONResponse(l.Resource()), nil
}

// DeleteLead implements DELETE /v1/leads/{lead_id}.
func (s *Server) DeleteLead(ctx context.Context, req server.DeleteLeadRequestObject) (server.DeleteLeadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.leads.Delete(ctx, p.Actor(), req.LeadID); err != nil {
		return nil, err
	}
	return server.DeleteLead204Response{}, nil
}

// BulkLeads implements POST /v1/leads/bulk.
func (s *Server) BulkLeads(ctx context.Context, req server.BulkLeadsRequestObject) (server.BulkLeadsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := leads.Bulk{Action: string(b.Action), CampaignID: b.CampaignID}
	if b.Ids != nil {
		in.IDs = *b.Ids
	}
	if b.Filter != nil {
		f := b.Filter
		lf := leadFilter(f.CampaignID, f.Status, f.Approved, f.Country, f.CreatedFrom, f.CreatedTo, f.Q)
		in.Filter = &lf
	}
	if b.Status != nil {
		in.Status = string(*b.Status)
	}
	res, err := s.leads.Bulk(ctx, p.Actor(), in)
	if err != nil {
		return nil, err
	}
	return server.BulkLeads200JSONResponse(api.LeadBulkResult{Matched: res.Matched, Changed: res.Changed, Skipped: res.Skipped}), nil
}

// leadCSVHeader is the export's header row.
var leadCSVHeader = []string{"id", "campaign_id", "email", "phone", "whatsapp", "first_name", "last_name", "company",
	"job_title", "linkedin_url", "website", "city", "state", "country", "timezone", "status", "is_approved",
	"source", "custom_fields", "created_at"}

// ExportLeads implements GET /v1/leads/export. It streams: rows are read
// in keyset pages of 500, each in its own short tenant transaction (the
// operation is outsideTransaction, so no transaction is held for the
// length of a download and memory stays flat whatever the count), and
// written as they come. A failure after the first bytes have gone aborts
// the connection, so a client never mistakes a cut-off file for a whole
// one.
func (s *Server) ExportLeads(ctx context.Context, req server.ExportLeadsRequestObject) (server.ExportLeadsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	q := req.Params
	f := leadFilter(q.CampaignID, q.Status, q.Approved, q.Country, q.CreatedFrom, q.CreatedTo, q.Q)
	if err := f.Validate(""); err != nil {
		return nil, err // before the first byte: a problem+json answer
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.writeLeadsCSV(ctx, p.Actor(), f, pw))
	}()
	return server.ExportLeads200TextCsvResponse{Body: abortOnError{pr}}, nil
}

// writeLeadsCSV writes the header row and every lead f selects to w.
func (s *Server) writeLeadsCSV(ctx context.Context, a access.Actor, f leads.Filter, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(leadCSVHeader); err != nil {
		return fmt.Errorf("httpapi: export leads: %w", err)
	}
	str := func(v *string) string {
		if v == nil {
			return ""
		}
		return leadimport.SafeCell(*v)
	}
	err := s.leads.Each(ctx, a, f, func(l leads.Lead) error {
		camp := ""
		if l.CampaignID != nil {
			camp = l.CampaignID.String()
		}
		cf, err := json.Marshal(l.CustomFields)
		if err != nil {
			return err
		}
		return cw.Write([]string{l.ID.String(), camp, str(l.Email), str(l.Phone), str(l.WhatsApp), str(l.FirstName),
			str(l.LastName), str(l.Company), str(l.JobTitle), str(l.LinkedInURL), str(l.Website), str(l.City),
			str(l.State), str(l.Country), str(l.Timezone), l.Status, fmt.Sprint(l.IsApproved), str(l.Source),
			string(cf), l.CreatedAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return fmt.Errorf("httpapi: export leads: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("httpapi: export leads: %w", err)
	}
	return nil
}

// abortOnError marks a streamed body's read failure so that the error
// handler aborts the connection instead of ending the response as if it
// were complete.
type abortOnError struct{ r *io.PipeReader }

func (a abortOnError) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &streamError{err}
	}
	return n, err
}

func (a abortOnError) Close() error { return a.r.Close() }

// streamError is a failure in the middle of a streamed response.
type streamError struct{ err error }

func (e *streamError) Error() string { return "stream broken: " + e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

func toAPILeadDetail(d leads.Detail) api.LeadDetail {
	l := d.Lead
	out := api.LeadDetail{
		ID: l.ID, CampaignID: l.CampaignID, Email: l.Email, Phone: l.Phone, Whatsapp: l.WhatsApp,
		FirstName: l.FirstName, LastName: l.LastName, FullName: l.FullName, Company: l.Company, JobTitle: l.JobTitle,
		LinkedinURL: l.LinkedInURL, Website: l.Website, City: l.City, State: l.State, Country: l.Country, Timezone: l.Timezone,
		CustomFields: l.CustomFields, EnrichmentData: l.EnrichmentData, Status: api.LeadStatus(l.Status),
		IsApproved: l.IsApproved, ApprovedAt: l.ApprovedAt, Source: l.Source, UnsubscribedAt: l.UnsubscribedAt,
		RepliedAt: l.RepliedAt, LastContactedAt: l.LastContactedAt, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
		Messages: make([]api.LeadMessage, len(d.Messages)),
		Replies:  make([]api.LeadReply, len(d.Replies)),
	}
	out.Activity.Replies, out.Activity.PositiveReplies = d.Activity.Replies, d.Activity.PositiveReplies
	out.Activity.AutoReplies, out.Activity.Bounces = d.Activity.AutoReplies, d.Activity.Bounces
	for i, r := range d.Replies {
		out.Replies[i] = api.LeadReply{ID: r.ID, Direction: api.LeadReplyDirection(r.Direction), Kind: api.LeadReplyKind(r.Kind),
			Classification: r.Classification, Snippet: r.Snippet, ReceivedAt: r.ReceivedAt}
	}
	if d.Campaign != nil {
		out.Campaign = &struct {
			ID     uuid.UUID `json:"id"`
			Name   string    `json:"name"`
			Status string    `json:"status"`
		}{ID: d.Campaign.ID, Name: d.Campaign.Name, Status: d.Campaign.Status}
	}
	if d.Sequence != nil {
		out.Sequence = &struct {
			CurrentStep int       `json:"current_step"`
			ID          uuid.UUID `json:"id"`
			IsComplete  bool      `json:"is_complete"`
		}{CurrentStep: d.Sequence.CurrentStep, ID: d.Sequence.ID, IsComplete: d.Sequence.IsComplete}
	}
	for i, m := range d.Messages {
		out.Messages[i] = api.LeadMessage{ID: m.ID, Channel: m.Channel, Step: m.Step, Subject: m.Subject, Status: m.Status,
			ScheduledFor: m.ScheduledFor, BlockedReason: m.BlockedReason, SentAt: m.SentAt, CreatedAt: m.CreatedAt}
	}
	return out
}
