package httpapi

import (
	"context"
	"net/http"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/webhooks"
)

// ListWebhookEndpoints implements GET /v1/webhook-endpoints.
func (s *Server) ListWebhookEndpoints(ctx context.Context, req server.ListWebhookEndpointsRequestObject) (server.ListWebhookEndpointsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	status := ""
	if req.Params.Status != nil {
		status = string(*req.Params.Status)
	}
	rows, next, err := s.webhooks.List(ctx, p.Actor(), status, page)
	if err != nil {
		return nil, err
	}
	return server.ListWebhookEndpoints200JSONResponse(api.WebhookEndpointList{Data: mapAll(rows, toAPIWebhookEndpoint), NextCursor: next}), nil
}

// CreateWebhookEndpoint implements POST /v1/webhook-endpoints.
func (s *Server) CreateWebhookEndpoint(ctx context.Context, req server.CreateWebhookEndpointRequestObject) (server.CreateWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	n := webhooks.New{URL: b.URL, EventTypes: subscriptions(b.EventTypes), MaxConcurrency: b.MaxConcurrency}
	if b.Description != nil {
		n.Description = *b.Description
	}
	c, err := s.webhooks.Create(ctx, p.Actor(), n)
	if err != nil {
		return nil, err
	}
	e := toAPIWebhookEndpoint(c.Endpoint)
	return server.CreateWebhookEndpoint201JSONResponse(api.WebhookEndpointCreated{
		ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Status: e.Status,
		DisabledReason: e.DisabledReason, DisabledMessage: e.DisabledMessage, DisabledAt: e.DisabledAt,
		FailingSince: e.FailingSince, MaxConcurrency: e.MaxConcurrency, SecretRotationExpiresAt: e.SecretRotationExpiresAt,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, Secret: c.Secret,
	}), nil
}

// GetWebhookEndpoint implements GET /v1/webhook-endpoints/{endpoint_id}.
func (s *Server) GetWebhookEndpoint(ctx context.Context, req server.GetWebhookEndpointRequestObject) (server.GetWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.webhooks.Get(ctx, p.Actor(), req.EndpointID)
	if err != nil {
		return nil, err
	}
	return server.GetWebhookEndpoint200JSONResponse(toAPIWebhookEndpoint(e)), nil
}

// UpdateWebhookEndpoint implements PATCH /v1/webhook-endpoints/{endpoint_id}.
func (s *Server) UpdateWebhookEndpoint(ctx context.Context, req server.UpdateWebhookEndpointRequestObject) (server.UpdateWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	patch := webhooks.Patch{URL: b.URL, Description: b.Description, MaxConcurrency: b.MaxConcurrency}
	if b.EventTypes != nil {
		ts := subscriptions(*b.EventTypes)
		patch.EventTypes = &ts
	}
	e, err := s.webhooks.Update(ctx, p.Actor(), req.EndpointID, patch)
	if err != nil {
		return nil, err
	}
	return server.UpdateWebhookEndpoint200JSONResponse(toAPIWebhookEndpoint(e)), nil
}

// DeleteWebhookEndpoint implements DELETE /v1/webhook-endpoints/{endpoint_id}.
func (s *Server) DeleteWebhookEndpoint(ctx context.Context, req server.DeleteWebhookEndpointRequestObject) (server.DeleteWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.webhooks.Delete(ctx, p.Actor(), req.EndpointID); err != nil {
		return nil, err
	}
	return server.DeleteWebhookEndpoint204Response{}, nil
}

// DisableWebhookEndpoint implements POST /v1/webhook-endpoints/{endpoint_id}/disable.
func (s *Server) DisableWebhookEndpoint(ctx context.Context, req server.DisableWebhookEndpointRequestObject) (server.DisableWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.webhooks.Disable(ctx, p.Actor(), req.EndpointID)
	if err != nil {
		return nil, err
	}
	return server.DisableWebhookEndpoint200JSONResponse(toAPIWebhookEndpoint(e)), nil
}

// EnableWebhookEndpoint implements POST /v1/webhook-endpoints/{endpoint_id}/enable.
func (s *Server) EnableWebhookEndpoint(ctx context.Context, req server.EnableWebhookEndpointRequestObject) (server.EnableWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.webhooks.Enable(ctx, p.Actor(), req.EndpointID)
	if err != nil {
		return nil, err
	}
	return server.EnableWebhookEndpoint200JSONResponse(toAPIWebhookEndpoint(e)), nil
}

// RotateWebhookEndpointSecret implements POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret.
func (s *Server) RotateWebhookEndpointSecret(ctx context.Context, req server.RotateWebhookEndpointSecretRequestObject) (server.RotateWebhookEndpointSecretResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.webhooks.RotateSecret(ctx, p.Actor(), req.EndpointID)
	if err != nil {
		return nil, err
	}
	return server.RotateWebhookEndpointSecret200JSONResponse(api.WebhookSecret{Secret: r.Secret, PreviousSecretExpiresAt: r.OverlapUntil}), nil
}

// TestWebhookEndpoint implements POST /v1/webhook-endpoints/{endpoint_id}/test.
func (s *Server) TestWebhookEndpoint(ctx context.Context, req server.TestWebhookEndpointRequestObject) (server.TestWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.webhooks.SendTest(ctx, p.Actor(), req.EndpointID)
	if err != nil {
		return nil, err
	}
	return eventBody(http.StatusCreated, e)
}

// ListWebhookMessages implements GET /v1/webhook-endpoints/{endpoint_id}/messages.
func (s *Server) ListWebhookMessages(ctx context.Context, req server.ListWebhookMessagesRequestObject) (server.ListWebhookMessagesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	status := ""
	if req.Params.Status != nil {
		status = string(*req.Params.Status)
	}
	rows, next, err := s.webhooks.Messages(ctx, p.Actor(), req.EndpointID, status, page)
	if err != nil {
		return nil, err
	}
	return server.ListWebhookMessages200JSONResponse(api.WebhookMessageList{Data: mapAll(rows, toAPIWebhookMessage), NextCursor: next}), nil
}

// ListWebhookAttempts implements GET /v1/webhook-endpoints/{endpoint_id}/attempts.
func (s *Server) ListWebhookAttempts(ctx context.Context, req server.ListWebhookAttemptsRequestObject) (server.ListWebhookAttemptsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.webhooks.Attempts(ctx, p.Actor(), req.EndpointID, req.Params.EventID, page)
	if err != nil {
		return nil, err
	}
	return server.ListWebhookAttempts200JSONResponse(api.WebhookAttemptList{Data: mapAll(rows, toAPIWebhookAttempt), NextCursor: next}), nil
}

// ReplayWebhookMessage implements POST /v1/webhook-endpoints/{endpoint_id}/messages/{event_id}/replay.
func (s *Server) ReplayWebhookMessage(ctx context.Context, req server.ReplayWebhookMessageRequestObject) (server.ReplayWebhookMessageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.webhooks.ReplayMessage(ctx, p.Actor(), req.EndpointID, req.EventID)
	if err != nil {
		return nil, err
	}
	return server.ReplayWebhookMessage202JSONResponse(toAPIWebhookMessage(m)), nil
}

// ReplayWebhookEndpoint implements POST /v1/webhook-endpoints/{endpoint_id}/replay.
func (s *Server) ReplayWebhookEndpoint(ctx context.Context, req server.ReplayWebhookEndpointRequestObject) (server.ReplayWebhookEndpointResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	r := webhooks.Replay{Since: b.Since, Until: b.Until, OnlyFailed: true}
	if b.OnlyFailed != nil {
		r.OnlyFailed = *b.OnlyFailed
	}
	n, err := s.webhooks.Replay(ctx, p.Actor(), req.EndpointID, r)
	if err != nil {
		return nil, err
	}
	return server.ReplayWebhookEndpoint202JSONResponse(api.WebhookReplayResult{Queued: int(n)}), nil
}

func subscriptions(ts []api.EventTypeSubscription) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func toAPIWebhookEndpoint(e webhooks.Endpoint) api.WebhookEndpoint {
	out := api.WebhookEndpoint{
		ID: e.ID, URL: e.URL, Description: e.Description, Status: api.WebhookEndpointStatus(e.Status),
		DisabledMessage: e.DisabledMessage, DisabledAt: e.DisabledAt, FailingSince: e.FailingSince,
		MaxConcurrency: e.MaxConcurrency, SecretRotationExpiresAt: e.RotationOverlapUntil,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		EventTypes: make([]api.EventTypeSubscription, len(e.EventTypes)),
	}
	for i, t := range e.EventTypes {
		out.EventTypes[i] = api.EventTypeSubscription(t)
	}
	if e.DisabledReason != nil {
		r := api.WebhookDisabledReason(*e.DisabledReason)
		out.DisabledReason = &r
	}
	return out
}

func toAPIWebhookMessage(m webhooks.Message) api.WebhookMessage {
	return api.WebhookMessage{
		EventID: m.EventID, EventType: api.EventTypeName(m.EventType), Status: api.WebhookMessageStatus(m.Status),
		Attempts: m.Attempts, NextAttemptAt: m.NextAt, LastAttemptAt: m.LastAt, LastStatusCode: m.LastCode,
		LastError: m.LastError, CreatedAt: m.CreatedAt,
	}
}

func toAPIWebhookAttempt(a webhooks.Attempt) api.WebhookAttempt {
	return api.WebhookAttempt{
		ID: a.ID, EventID: a.EventID, AttemptedAt: a.AttemptedAt, StatusCode: a.StatusCode, LatencyMs: a.LatencyMS,
		Succeeded: a.Succeeded, Error: a.Error, ResponseSnippet: a.ResponseSnippet,
	}
}
