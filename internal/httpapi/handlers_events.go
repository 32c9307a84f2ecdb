package httpapi

import (
	"context"

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
	return server.ListEvents200JSONResponse(api.EventList{Data: mapAll(rows, toAPIEvent), NextCursor: next}), nil
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
	return server.GetEvent200JSONResponse(toAPIEvent(e)), nil
}

// ListEventTypes implements GET /v1/event-types: the catalogue, which is
// the same for every organisation.
func (s *Server) ListEventTypes(ctx context.Context, _ server.ListEventTypesRequestObject) (server.ListEventTypesResponseObject, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	return server.ListEventTypes200JSONResponse(api.EventTypeList{Data: mapAll(events.Catalogue(), toAPIEventType)}), nil
}

// toAPIEvent is an event as the API (and a webhook body) shows it: the
// same JSON as events.Event's, which a test checks.
func toAPIEvent(e events.Event) api.Event {
	return api.Event{ID: e.ID, Type: api.EventTypeName(e.Type), Timestamp: e.Timestamp, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Data: e.Data}
}

func toAPIEventType(s events.Spec) api.EventType {
	return api.EventType{Type: api.EventTypeName(s.Type), ObjectType: s.Object, Schema: s.Schema, Description: s.Trigger}
}
