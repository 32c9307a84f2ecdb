package events

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Event is a recorded event as integrators see it: the body of a webhook
// delivery, byte for byte, and one item of GET /v1/events (openapi.yaml's
// Event schema, which a test keeps equal to this). Its fields follow the
// Standard Webhooks payload convention (type, timestamp, data).
type Event struct {
	ID         uuid.UUID       `json:"id" bun:"id"`
	Type       string          `json:"type" bun:"type"`
	Timestamp  time.Time       `json:"timestamp" bun:"occurred_at"`
	ObjectType string          `json:"object_type" bun:"object_type"`
	ObjectID   *uuid.UUID      `json:"object_id" bun:"object_id"`
	Data       json.RawMessage `json:"data" bun:"data,type:jsonb"`
}

// Payload is e's webhook body. The timestamp is UTC with microseconds
// (what Postgres keeps), so the body of a retry equals the first one's.
func (e Event) Payload() ([]byte, error) {
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Microsecond)
	return json.Marshal(e)
}
