package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// ListEvents implements GET /v1/events.
func (s *Server) ListEvents(ctx context.Context, req server.ListEventsRequestObject) (server.ListEventsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := pagination.Parse(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	q := req.Params
	f := events.Filter{ObjectID: q.ObjectID, Since: q.Since, Until: q.Until}
	if q.Type != nil {
		for _, t := range *q.Type {
			f.Types = append(f.Types, events.Type(t))
		}
	}
	if q.ObjectType != nil {
		f.ObjectType = *q.ObjectType
	}
	rows, next, err := s.events.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	body, err := eventPage(rows, next)
	if err != nil {
		return nil, err
	}
	return eventJSON{http.StatusOK, body}, nil
}

// GetEvent implements GET /v1/events/{event_id}.
func (s *Server) GetEvent(ctx context.Context, req server.GetEventRequestObject) (server.GetEventResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.events.Get(ctx, p.Actor(), req.EventID)
	if err != nil {
		return nil, err
	}
	return eventBody(http.StatusOK, e)
}

// ListEventTypes implements GET /v1/event-types: the catalogue, which is
// the same for every organisation.
func (s *Server) ListEventTypes(ctx context.Context, _ server.ListEventTypesRequestObject) (server.ListEventTypesResponseObject, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	return server.ListEventTypes200JSONResponse(api.EventTypeList{Data: mapAll(events.Catalogue(), toAPIEventType)}), nil
}

// eventJSON answers with events exactly as a webhook delivers them
// (events.Event.Payload, the openapi.yaml Event schema), rather than
// through the generated api.Event, whose fields marshal in another order:
// a polled item and a pushed body are then the same bytes. It is the
// response object of every operation that answers with events.
type eventJSON struct {
	status int
	body   any
}

func (r eventJSON) visit(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	return json.NewEncoder(w).Encode(r.body)
}

// VisitListEventsResponse writes a page of events.
func (r eventJSON) VisitListEventsResponse(w http.ResponseWriter) error { return r.visit(w) }

// VisitGetEventResponse writes one event.
func (r eventJSON) VisitGetEventResponse(w http.ResponseWriter) error { return r.visit(w) }

// VisitTestWebhookEndpointResponse writes the test event.
func (r eventJSON) VisitTestWebhookEndpointResponse(w http.ResponseWriter) error { return r.visit(w) }

// eventBody is one event as its webhook body.
func eventBody(status int, e events.Event) (eventJSON, error) {
	b, err := e.Payload()
	if err != nil {
		return eventJSON{}, fmt.Errorf("httpapi: event %s: %w", e.ID, err)
	}
	return eventJSON{status, json.RawMessage(b)}, nil
}

// eventPage is a page of events (the EventList schema), each as its
// webhook body.
func eventPage(rows []events.Event, next *string) (any, error) {
	page := struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"next_cursor"`
	}{Data: make([]json.RawMessage, len(rows)), NextCursor: next}
	for i, e := range rows {
		b, err := e.Payload()
		if err != nil {
			return nil, fmt.Errorf("httpapi: event %s: %w", e.ID, err)
		}
		page.Data[i] = b
	}
	return page, nil
}

func toAPIEventType(s events.Spec) api.EventType {
	return api.EventType{Type: api.EventTypeName(s.Type), ObjectType: s.Object, Schema: s.Schema, Description: s.Trigger}
}
