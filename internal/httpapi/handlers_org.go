package httpapi

import (
	"context"
	"time"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// GetOrganization implements GET /v1/org.
func (s *Server) GetOrganization(ctx context.Context, _ server.GetOrganizationRequestObject) (server.GetOrganizationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	org, err := s.orgs.Get(ctx, p.Actor())
	if err != nil {
		return nil, err
	}
	return server.GetOrganization200JSONResponse(toAPIOrganization(org)), nil
}

// UpdateOrganization implements PATCH /v1/org.
func (s *Server) UpdateOrganization(ctx context.Context, req server.UpdateOrganizationRequestObject) (server.UpdateOrganizationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	org, err := s.orgs.Update(ctx, p.Actor(), orgUpdateFromAPI(*req.Body))
	if err != nil {
		return nil, err
	}
	return server.UpdateOrganization200JSONResponse(toAPIOrganization(org)), nil
}

// ListMembers implements GET /v1/members.
func (s *Server) ListMembers(ctx context.Context, req server.ListMembersRequestObject) (server.ListMembersResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.orgs.ListMembers(ctx, p.Actor(), page)
	if err != nil {
		return nil, err
	}
	out := api.MemberList{Data: make([]api.Member, len(rows)), NextCursor: next}
	for i, m := range rows {
		out.Data[i] = toAPIMember(m)
	}
	return server.ListMembers200JSONResponse(out), nil
}

// UpdateMember implements PATCH /v1/members/{user_id}.
func (s *Server) UpdateMember(ctx context.Context, req server.UpdateMemberRequestObject) (server.UpdateMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.orgs.UpdateMemberRole(ctx, p.Actor(), req.UserId, orgs.Role(req.Body.Role))
	if err != nil {
		return nil, err
	}
	return server.UpdateMember200JSONResponse(toAPIMember(m)), nil
}

// RemoveMember implements DELETE /v1/members/{user_id}.
func (s *Server) RemoveMember(ctx context.Context, req server.RemoveMemberRequestObject) (server.RemoveMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RemoveMember(ctx, p.Actor(), req.UserId); err != nil {
		return nil, err
	}
	return server.RemoveMember204Response{}, nil
}

// ListInvites implements GET /v1/invites.
func (s *Server) ListInvites(ctx context.Context, req server.ListInvitesRequestObject) (server.ListInvitesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.orgs.ListInvites(ctx, p.Actor(), page)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := api.InviteList{Data: make([]api.Invite, len(rows)), NextCursor: next}
	for i, inv := range rows {
		out.Data[i] = toAPIInvite(inv, now)
	}
	return server.ListInvites200JSONResponse(out), nil
}

// CreateInvite implements POST /v1/invites.
func (s *Server) CreateInvite(ctx context.Context, req server.CreateInviteRequestObject) (server.CreateInviteResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	role := orgs.RoleMember
	if req.Body.Role != nil {
		role = orgs.Role(*req.Body.Role)
	}
	inv, err := s.orgs.CreateInvite(ctx, p.Actor(), string(req.Body.Email), role)
	if err != nil {
		return nil, err
	}
	a := toAPIInvite(inv.Invite, time.Now())
	return server.CreateInvite201JSONResponse(api.InviteCreated{
		Id: a.Id, Email: a.Email, Role: a.Role, Status: api.InviteCreatedStatus(a.Status), InvitedBy: a.InvitedBy,
		ExpiresAt: a.ExpiresAt, AcceptedAt: a.AcceptedAt, CreatedAt: a.CreatedAt,
		Token: inv.Token, AcceptUrl: inv.AcceptURL,
	}), nil
}

// RevokeInvite implements DELETE /v1/invites/{invite_id}.
func (s *Server) RevokeInvite(ctx context.Context, req server.RevokeInviteRequestObject) (server.RevokeInviteResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RevokeInvite(ctx, p.Actor(), req.InviteId); err != nil {
		return nil, err
	}
	return server.RevokeInvite204Response{}, nil
}

// ListApiKeys implements GET /v1/api-keys.
func (s *Server) ListApiKeys(ctx context.Context, req server.ListApiKeysRequestObject) (server.ListApiKeysResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.orgs.ListAPIKeys(ctx, p.Actor(), page)
	if err != nil {
		return nil, err
	}
	out := api.ApiKeyList{Data: make([]api.ApiKey, len(rows)), NextCursor: next}
	for i, k := range rows {
		out.Data[i] = toAPIKey(k)
	}
	return server.ListApiKeys200JSONResponse(out), nil
}

// CreateApiKey implements POST /v1/api-keys.
func (s *Server) CreateApiKey(ctx context.Context, req server.CreateApiKeyRequestObject) (server.CreateApiKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.orgs.CreateAPIKey(ctx, p.Actor(), req.Body.Name)
	if err != nil {
		return nil, err
	}
	a := toAPIKey(k.APIKey)
	return server.CreateApiKey201JSONResponse(api.ApiKeyCreated{
		Id: a.Id, Name: a.Name, Prefix: a.Prefix, CreatedAt: a.CreatedAt, LastUsedAt: a.LastUsedAt,
		RevokedAt: a.RevokedAt, Secret: k.Secret,
	}), nil
}

// RevokeApiKey implements DELETE /v1/api-keys/{api_key_id}.
func (s *Server) RevokeApiKey(ctx context.Context, req server.RevokeApiKeyRequestObject) (server.RevokeApiKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RevokeAPIKey(ctx, p.Actor(), req.ApiKeyId); err != nil {
		return nil, err
	}
	return server.RevokeApiKey204Response{}, nil
}
