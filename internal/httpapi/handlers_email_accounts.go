package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// ListEmailAccounts implements GET /v1/email-accounts.
func (s *Server) ListEmailAccounts(ctx context.Context, req server.ListEmailAccountsRequestObject) (server.ListEmailAccountsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	f := emailaccounts.Filter{IsActive: req.Params.IsActive}
	if req.Params.Provider != nil {
		f.Provider = string(*req.Params.Provider)
	}
	if req.Params.Status != nil {
		f.Status = string(*req.Params.Status)
	}
	rows, next, err := s.emailAccounts.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	return server.ListEmailAccounts200JSONResponse(api.EmailAccountList{Data: mapAll(rows, emailaccounts.Account.Resource), NextCursor: next}), nil
}

func emailServer(smtpHost *string, smtpPort *int, smtpTLS *api.EmailTLSMode, imapHost *string, imapPort *int, imapTLS *api.EmailTLSMode,
	username, password *string) emailaccounts.Server {
	v := emailaccounts.Server{SMTPHost: smtpHost, SMTPPort: smtpPort, IMAPHost: imapHost, IMAPPort: imapPort, Username: username, Password: password}
	if smtpTLS != nil {
		m := string(*smtpTLS)
		v.SMTPTLSMode = &m
	}
	if imapTLS != nil {
		m := string(*imapTLS)
		v.IMAPTLSMode = &m
	}
	return v
}

// CreateEmailAccount implements POST /v1/email-accounts.
func (s *Server) CreateEmailAccount(ctx context.Context, req server.CreateEmailAccountRequestObject) (server.CreateEmailAccountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	acc, err := s.emailAccounts.Create(ctx, p.Actor(), emailaccounts.New{
		Provider: string(b.Provider), EmailAddress: b.EmailAddress, DisplayName: b.DisplayName,
		DailySendLimit: b.DailySendLimit, WarmupEnabled: b.WarmupEnabled,
		Server: emailServer(b.SMTPHost, b.SMTPPort, b.SMTPTLSMode, b.ImapHost, b.ImapPort, b.ImapTLSMode, b.Username, b.Password),
	})
	if err != nil {
		return nil, err
	}
	return server.CreateEmailAccount201JSONResponse(acc.Resource()), nil
}

// GetEmailAccount implements GET /v1/email-accounts/{email_account_id}.
func (s *Server) GetEmailAccount(ctx context.Context, req server.GetEmailAccountRequestObject) (server.GetEmailAccountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	acc, err := s.emailAccounts.Get(ctx, p.Actor(), req.EmailAccountID)
	if err != nil {
		return nil, err
	}
	return server.GetEmailAccount200JSONResponse(acc.Resource()), nil
}

// UpdateEmailAccount implements PATCH /v1/email-accounts/{email_account_id}.
func (s *Server) UpdateEmailAccount(ctx context.Context, req server.UpdateEmailAccountRequestObject) (server.UpdateEmailAccountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	acc, err := s.emailAccounts.Update(ctx, p.Actor(), req.EmailAccountID, emailaccounts.Patch{
		DisplayName: b.DisplayName, DailySendLimit: b.DailySendLimit, WarmupEnabled: b.WarmupEnabled, IsActive: b.IsActive,
		Server: emailServer(b.SMTPHost, b.SMTPPort, b.SMTPTLSMode, b.ImapHost, b.ImapPort, b.ImapTLSMode, b.Username, b.Password),
	})
	if err != nil {
		return nil, err
	}
	return server.UpdateEmailAccount200JSONResponse(acc.Resource()), nil
}

// DeleteEmailAccount implements DELETE /v1/email-accounts/{email_account_id}.
func (s *Server) DeleteEmailAccount(ctx context.Context, req server.DeleteEmailAccountRequestObject) (server.DeleteEmailAccountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.emailAccounts.Delete(ctx, p.Actor(), req.EmailAccountID); err != nil {
		return nil, err
	}
	return server.DeleteEmailAccount204Response{}, nil
}

// TestEmailAccount implements POST /v1/email-accounts/{email_account_id}/test.
func (s *Server) TestEmailAccount(ctx context.Context, req server.TestEmailAccountRequestObject) (server.TestEmailAccountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.emailAccounts.Test(ctx, p.Actor(), req.EmailAccountID)
	if err != nil {
		return nil, err
	}
	steps := make([]api.EmailAccountTestStep, len(r.Steps))
	for i, st := range r.Steps {
		steps[i] = api.EmailAccountTestStep{Name: st.Name, Ok: st.OK, Detail: st.Detail}
	}
	return server.TestEmailAccount200JSONResponse(api.EmailAccountTestResult{Ok: r.OK, Steps: steps, Account: r.Account.Resource()}), nil
}

// AuthorizeEmailAccountOAuth implements GET /v1/email-accounts/oauth/{provider}/authorize.
func (s *Server) AuthorizeEmailAccountOAuth(ctx context.Context, req server.AuthorizeEmailAccountOAuthRequestObject) (server.AuthorizeEmailAccountOAuthResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.emailAccounts.Authorize(ctx, p.Actor(), string(req.Provider))
	if err != nil {
		return nil, err
	}
	return server.AuthorizeEmailAccountOAuth200JSONResponse(api.EmailAccountOAuthStart{AuthorizeURL: a.URL, State: a.State, ExpiresAt: a.ExpiresAt}), nil
}

// EmailAccountOAuthCallback implements GET /v1/email-accounts/oauth/{provider}/callback
// (public: the sealed state names the organisation and the user).
func (s *Server) EmailAccountOAuthCallback(ctx context.Context, req server.EmailAccountOAuthCallbackRequestObject) (server.EmailAccountOAuthCallbackResponseObject, error) {
	q := req.Params
	cb := emailaccounts.Callback{State: q.State}
	if q.Code != nil {
		cb.Code = *q.Code
	}
	if q.Error != nil {
		cb.Error = *q.Error
	}
	if q.ErrorDescription != nil {
		cb.ErrorDescription = *q.ErrorDescription
	}
	acc, err := s.emailAccounts.CompleteOAuth(ctx, string(req.Provider), cb)
	if err != nil {
		return nil, err
	}
	return server.EmailAccountOAuthCallback200JSONResponse(acc.Resource()), nil
}

// ListSandboxMessages implements GET /v1/email-accounts/{email_account_id}/sandbox/messages.
func (s *Server) ListSandboxMessages(ctx context.Context, req server.ListSandboxMessagesRequestObject) (server.ListSandboxMessagesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.emailAccounts.SandboxMessages(ctx, p.Actor(), req.EmailAccountID, page)
	if err != nil {
		return nil, err
	}
	return server.ListSandboxMessages200JSONResponse(api.SandboxMessageList{Data: mapAll(rows, emailaccounts.SandboxMessage.Resource), NextCursor: next}), nil
}

// InjectSandboxReply implements POST /v1/email-accounts/{email_account_id}/sandbox/replies.
func (s *Server) InjectSandboxReply(ctx context.Context, req server.InjectSandboxReplyRequestObject) (server.InjectSandboxReplyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	rp := emailaccounts.Reply{From: b.From, Text: b.Text}
	if b.FromName != nil {
		rp.FromName = *b.FromName
	}
	if b.Subject != nil {
		rp.Subject = *b.Subject
	}
	if b.InReplyTo != nil {
		rp.InReplyTo = *b.InReplyTo
	}
	m, err := s.emailAccounts.InjectReply(ctx, p.Actor(), req.EmailAccountID, rp)
	if err != nil {
		return nil, err
	}
	// The reply reaches the inbox as a synced one does: matched to its
	// lead (In-Reply-To, else the sender), threaded, the lead's sequence
	// stopped when its campaign stops on reply, classified by the worker.
	if _, err := s.inbox.Ingest(ctx, p.Actor().OrgID, req.EmailAccountID, []inbox.Incoming{{Raw: m.Raw}}, nil); err != nil {
		return nil, err
	}
	return server.InjectSandboxReply201JSONResponse(m.Resource()), nil
}
