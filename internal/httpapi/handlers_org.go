package httpapi

import (
	"context"
	"time"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/access"
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
	out := api.MemberList{Data: mapAll(rows, orgs.Member.Resource), NextCursor: next}
	return server.ListMembers200JSONResponse(out), nil
}

// UpdateMember implements PATCH /v1/members/{user_id}.
func (s *Server) UpdateMember(ctx context.Context, req server.UpdateMemberRequestObject) (server.UpdateMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.orgs.UpdateMemberRole(ctx, p.Actor(), req.UserID, access.Role(req.Body.Role))
	if err != nil {
		return nil, err
	}
	return server.UpdateMember200JSONResponse(m.Resource()), nil
}

// RemoveMember implements DELETE /v1/members/{user_id}.
func (s *Server) RemoveMember(ctx context.Context, req server.RemoveMemberRequestObject) (server.RemoveMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RemoveMember(ctx, p.Actor(), req.UserID); err != nil {
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
	role := access.RoleMember
	if req.Body.Role != nil {
		role = access.Role(*req.Body.Role)
	}
	inv, err := s.orgs.CreateInvite(ctx, p.Actor(), string(req.Body.Email), role)
	if err != nil {
		return nil, err
	}
	a := toAPIInvite(inv.Invite, time.Now())
	return server.CreateInvite201JSONResponse(api.InviteCreated{
		ID: a.ID, Email: a.Email, Role: a.Role, Status: api.InviteCreatedStatus(a.Status), InvitedBy: a.InvitedBy,
		ExpiresAt: a.ExpiresAt, AcceptedAt: a.AcceptedAt, CreatedAt: a.CreatedAt,
		Token: nonEmpty(inv.Token), AcceptURL: nonEmpty(inv.AcceptURL), // development only
	}), nil
}

// RevokeInvite implements DELETE /v1/invites/{invite_id}.
func (s *Server) RevokeInvite(ctx context.Context, req server.RevokeInviteRequestObject) (server.RevokeInviteResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RevokeInvite(ctx, p.Actor(), req.InviteID); err != nil {
		return nil, err
	}
	return server.RevokeInvite204Response{}, nil
}

// ListAPIKeys implements GET /v1/api-keys.
func (s *Server) ListAPIKeys(ctx context.Context, req server.ListAPIKeysRequestObject) (server.ListAPIKeysResponseObject, error) {
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
	out := api.APIKeyList{Data: mapAll(rows, toAPIKey), NextCursor: next}
	return server.ListAPIKeys200JSONResponse(out), nil
}

// CreateAPIKey implements POST /v1/api-keys.
func (s *Server) CreateAPIKey(ctx context.Context, req server.CreateAPIKeyRequestObject) (server.CreateAPIKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.orgs.CreateAPIKey(ctx, p.Actor(), req.Body.Name)
	if err != nil {
		return nil, err
	}
	a := toAPIKey(k.APIKey)
	return server.CreateAPIKey201JSONResponse(api.APIKeyCreated{
		ID: a.ID, Name: a.Name, Prefix: a.Prefix, CreatedAt: a.CreatedAt, LastUsedAt: a.LastUsedAt,
		RevokedAt: a.RevokedAt, Secret: k.Secret,
	}), nil
}

// RevokeAPIKey implements DELETE /v1/api-keys/{api_key_id}.
func (s *Server) RevokeAPIKey(ctx context.Context, req server.RevokeAPIKeyRequestObject) (server.RevokeAPIKeyResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.orgs.RevokeAPIKey(ctx, p.Actor(), req.APIKeyID); err != nil {
		return nil, err
	}
	return server.RevokeAPIKey204Response{}, nil
}

// nonEmpty is nil for "", so an absent value leaves its field out.
func nonEmpty(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}
