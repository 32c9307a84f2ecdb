// Package events is LeadPilot's event log: the one append-only record of
// what changed, which webhook delivery, notifications, analytics and the
// polling endpoint (GET /v1/events) all read.
//
// An event is written by Record in the same transaction as the change it
// describes (a transactional outbox): a rolled-back change leaves no event,
// and a committed one always has its event. Record also writes, in the same
// statement, one webhook message for every enabled endpoint of the
// organisation that subscribes to the event's type, and notifies the
// delivery dispatcher (pg_notify on NotifyChannel, which Postgres delivers
// only when the transaction commits).
//
// An event's data is the changed object as the API returns it (the
// resource schema its catalogue entry names, from openapi.yaml), taken at
// the moment of the change: domain services pass their object's Resource()
// value, the same one the handlers return.
//
// That is why domain packages import package api (the generated types and
// client; no Echo, no handlers, nothing of asynq): the snapshot must be
// taken inside the change's transaction, which only the domain service
// holds, and it must be the contract's own shape. The alternatives were
// worse: a converter registry filled by httpapi at start-up leaves every
// domain test (and any binary that forgets to link it) writing some other
// shape, and JSON tags on domain types would be a second copy of the
// contract to drift. Handlers call the same Resource() methods, so there
// is one mapping per resource.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
)

// NotifyChannel is the Postgres channel Record notifies, once per
// endpoint that got new messages, with the endpoint's id as payload.
const NotifyChannel = "webhook_due"

// New is an event to record.
type New struct {
	Type Type
	// ObjectID is the changed object's id (uuid.Nil for none).
	ObjectID uuid.UUID
	// Data is the object as the API returns it; it must marshal to a JSON
	// object.
	Data any
	// OnlyEndpoint, when set, fans the event out to that one endpoint
	// (enabled or not) instead of to every subscriber: a test event.
	OnlyEndpoint *uuid.UUID
}

// ErrUnknownType is returned for a type that is not in the catalogue.
var ErrUnknownType = errors.New("events: type not in the catalogue")

// Record writes one event for org in tx, which must be the transaction of
// the change it describes, and fans it out to org's subscribed webhook
// endpoints. It returns the event's id.
func Record(ctx context.Context, tx bun.IDB, org uuid.UUID, n New) (uuid.UUID, error) {
	ids, err := RecordBatch(ctx, tx, org, []New{n})
	if err != nil {
		return uuid.Nil, err
	}
	return ids[0], nil
}

// batchSize bounds the events one statement of RecordBatch writes.
const batchSize = 1000

// RecordBatch writes several events for org in tx, in order (their ids
// increase), a statement per thousand, and fans them out as Record does.
func RecordBatch(ctx context.Context, tx bun.IDB, org uuid.UUID, ns []New) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, 0, len(ns))
	for len(ns) > 0 {
		n := min(batchSize, len(ns))
		got, err := recordBatch(ctx, tx, org, ns[:n])
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
		ns = ns[n:]
	}
	return ids, nil
}

// recordBatch writes ns in one statement.
func recordBatch(ctx context.Context, tx bun.IDB, org uuid.UUID, ns []New) ([]uuid.UUID, error) {
	now := time.Now().UTC()
	ids := make([]uuid.UUID, len(ns))
	types := make([]string, len(ns))
	objTypes := make([]string, len(ns))
	objIDs := make([]*uuid.UUID, len(ns))
	datas := make([]string, len(ns))
	only := make([]*uuid.UUID, len(ns))
	for i, n := range ns {
		spec, ok := Lookup(n.Type)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownType, n.Type)
		}
		b, err := json.Marshal(n.Data)
		if err != nil {
			return nil, fmt.Errorf("events: %s: marshal data: %w", n.Type, err)
		}
		if len(b) == 0 || b[0] != '{' {
			return nil, fmt.Errorf("events: %s: data is not a JSON object", n.Type)
		}
		ids[i] = uuid.Must(uuid.NewV7())
		types[i] = string(n.Type)
		objTypes[i] = spec.Object
		if n.ObjectID != uuid.Nil {
			id := n.ObjectID
			objIDs[i] = &id
		}
		datas[i] = string(b)
		only[i] = n.OnlyEndpoint
	}
	_, err := tx.NewRaw(recordSQL, org, now, pgdialect.Array(uuidTexts(ids)), pgdialect.Array(types), pgdialect.Array(objTypes),
		pgdialect.Array(nullUUIDTexts(objIDs)), pgdialect.Array(datas), pgdialect.Array(nullUUIDTexts(only)), NotifyChannel).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: record: %w", database.Interpret(err))
	}
	return ids, nil
}

// recordSQL inserts the events, then one message per (event, endpoint)
// for the enabled endpoints subscribed to the event's type (or the one
// endpoint a test event names), then notifies once per endpoint. One round
// trip, whatever the number of events. The endpoints are locked FOR KEY
// SHARE: an endpoint deleted while the statement runs is skipped, where
// without the lock the messages' foreign key would fail the change the
// event belongs to.
const recordSQL = `
WITH e AS (
  INSERT INTO events (id, org_id, type, object_type, object_id, data, occurred_at)
  SELECT u.id::uuid, ?0, u.type, u.object_type, NULLIF(u.object_id, '')::uuid, u.data::jsonb, ?1
    FROM unnest(?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[]) AS u(id, type, object_type, object_id, data)
  RETURNING id, type
), only_ep AS (
  SELECT u.id::uuid AS id, NULLIF(u.endpoint_id, '')::uuid AS endpoint_id
    FROM unnest(?2::text[], ?7::text[]) AS u(id, endpoint_id)
), m AS (
  INSERT INTO webhook_messages (org_id, endpoint_id, event_id, next_attempt_at, created_at)
  SELECT ?0, w.id, e.id, ?1, ?1
    FROM e JOIN only_ep o ON o.id = e.id
    JOIN webhook_endpoints w ON w.org_id = ?0 AND (
      (o.endpoint_id IS NULL AND w.status = 'enabled' AND (w.event_types @> ARRAY[e.type] OR w.event_types @> ARRAY['*']))
      OR w.id = o.endpoint_id)
    FOR KEY SHARE OF w
  RETURNING endpoint_id
)
SELECT pg_notify(?8, d.endpoint_id::text) FROM (SELECT DISTINCT endpoint_id FROM m) d`

// Subscribed reports whether org has an enabled webhook endpoint that
// receives any of types. Bulk writers (an import's leads, a bulk action)
// write one event per object only when someone listens for it, and a
// summary event always.
func Subscribed(ctx context.Context, tx bun.IDB, org uuid.UUID, types ...Type) (bool, error) {
	ts := make([]string, 0, len(types)+1)
	for _, t := range types {
		ts = append(ts, string(t))
	}
	ts = append(ts, "*")
	var ok bool
	err := tx.NewRaw(`SELECT EXISTS (SELECT 1 FROM webhook_endpoints
		WHERE org_id = ? AND status = 'enabled' AND event_types && ?::text[])`, org, pgdialect.Array(ts)).Scan(ctx, &ok)
	if err != nil {
		return false, fmt.Errorf("events: subscribed: %w", database.Interpret(err))
	}
	return ok, nil
}

func uuidTexts(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// nullUUIDTexts writes nil as "", which the SQL turns into NULL.
func nullUUIDTexts(ids []*uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if id != nil {
			out[i] = id.String()
		}
	}
	return out
}
