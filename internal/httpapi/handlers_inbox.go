package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// ListInboxThreads implements GET /v1/inbox/threads.
func (s *Server) ListInboxThreads(ctx context.Context, req server.ListInboxThreadsRequestObject) (server.ListInboxThreadsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := inbox.ParseThreadPage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	f := inbox.ThreadFilter{CampaignID: req.Params.CampaignID, EmailAccountID: req.Params.EmailAccountID, LeadID: req.Params.LeadID,
		Unread: req.Params.Unread, Starred: req.Params.Starred, Archived: req.Params.Archived}
	if req.Params.Classification != nil {
		f.Classification = string(*req.Params.Classification)
	}
	if req.Params.Q != nil {
		f.Q = *req.Params.Q
	}
	rows, next, err := s.inbox.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	return server.ListInboxThreads200JSONResponse(api.InboxThreadList{Data: mapAll(rows, toAPIInboxThread), NextCursor: next}), nil
}

// GetInboxThread implements GET /v1/inbox/threads/{thread_id}.
func (s *Server) GetInboxThread(ctx context.Context, req server.GetInboxThreadRequestObject) (server.GetInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.inbox.Get(ctx, p.Actor(), req.ThreadID)
	if err != nil {
		return nil, err
	}
	out, err := toAPIInboxThreadDetail(d)
	if err != nil {
		return nil, err
	}
	return server.GetInboxThread200JSONResponse(out), nil
}

// MarkInboxThreadRead implements POST /v1/inbox/threads/{thread_id}/read.
func (s *Server) MarkInboxThreadRead(ctx context.Context, req server.MarkInboxThreadReadRequestObject) (server.MarkInboxThreadReadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetRead(ctx, p.Actor(), req.ThreadID, true)
	if err != nil {
		return nil, err
	}
	return server.MarkInboxThreadRead200JSONResponse(toAPIInboxThread(t)), nil
}

// MarkInboxThreadUnread implements POST /v1/inbox/threads/{thread_id}/unread.
func (s *Server) MarkInboxThreadUnread(ctx context.Context, req server.MarkInboxThreadUnreadRequestObject) (server.MarkInboxThreadUnreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetRead(ctx, p.Actor(), req.ThreadID, false)
	if err != nil {
		return nil, err
	}
	return server.MarkInboxThreadUnread200JSONResponse(toAPIInboxThread(t)), nil
}

// StarInboxThread implements POST /v1/inbox/threads/{thread_id}/star.
func (s *Server) StarInboxThread(ctx context.Context, req server.StarInboxThreadRequestObject) (server.StarInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetStarred(ctx, p.Actor(), req.ThreadID, true)
	if err != nil {
		return nil, err
	}
	return server.StarInboxThread200JSONResponse(toAPIInboxThread(t)), nil
}

// UnstarInboxThread implements POST /v1/inbox/threads/{thread_id}/unstar.
func (s *Server) UnstarInboxThread(ctx context.Context, req server.UnstarInboxThreadRequestObject) (server.UnstarInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetStarred(ctx, p.Actor(), req.ThreadID, false)
	if err != nil {
		return nil, err
	}
	return server.UnstarInboxThread200JSONResponse(toAPIInboxThread(t)), nil
}

// ArchiveInboxThread implements POST /v1/inbox/threads/{thread_id}/archive.
func (s *Server) ArchiveInboxThread(ctx context.Context, req server.ArchiveInboxThreadRequestObject) (server.ArchiveInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetArchived(ctx, p.Actor(), req.ThreadID, true)
	if err != nil {
		return nil, err
	}
	return server.ArchiveInboxThread200JSONResponse(toAPIInboxThread(t)), nil
}

// UnarchiveInboxThread implements POST /v1/inbox/threads/{thread_id}/unarchive.
func (s *Server) UnarchiveInboxThread(ctx context.Context, req server.UnarchiveInboxThreadRequestObject) (server.UnarchiveInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.inbox.SetArchived(ctx, p.Actor(), req.ThreadID, false)
	if err != nil {
		return nil, err
	}
	return server.UnarchiveInboxThread200JSONResponse(toAPIInboxThread(t)), nil
}

// ReplyToInboxThread implements POST /v1/inbox/threads/{thread_id}/reply.
func (s *Server) ReplyToInboxThread(ctx context.Context, req server.ReplyToInboxThreadRequestObject) (server.ReplyToInboxThreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.inbox.Reply(ctx, p.Actor(), req.ThreadID, inbox.NewReply{BodyText: req.Body.BodyText, Subject: req.Body.Subject})
	if err != nil {
		return nil, err
	}
	return server.ReplyToInboxThread201JSONResponse(toAPIInboxMessage(m)), nil
}

// GetInboxMessage implements GET /v1/inbox/messages/{message_id}.
func (s *Server) GetInboxMessage(ctx context.Context, req server.GetInboxMessageRequestObject) (server.GetInboxMessageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.inbox.GetMessage(ctx, p.Actor(), req.MessageID)
	if err != nil {
		return nil, err
	}
	return server.GetInboxMessage200JSONResponse(toAPIInboxMessage(m)), nil
}

// ListInboxOther implements GET /v1/inbox/other.
func (s *Server) ListInboxOther(ctx context.Context, req server.ListInboxOtherRequestObject) (server.ListInboxOtherResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	f := inbox.OtherFilter{EmailAccountID: req.Params.EmailAccountID}
	if req.Params.Kind != nil {
		f.Kind = string(*req.Params.Kind)
	}
	rows, next, err := s.inbox.Other(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	return server.ListInboxOther200JSONResponse(api.InboxMessageList{Data: mapAll(rows, toAPIInboxMessage), NextCursor: next}), nil
}

// ReclassifyInboxMessage implements POST /v1/inbox/messages/{message_id}/classification.
func (s *Server) ReclassifyInboxMessage(ctx context.Context, req server.ReclassifyInboxMessageRequestObject) (server.ReclassifyInboxMessageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.inbox.Reclassify(ctx, p.Actor(), req.MessageID, string(req.Body.Classification))
	if err != nil {
		return nil, err
	}
	return server.ReclassifyInboxMessage200JSONResponse(toAPIInboxMessage(m)), nil
}
