package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/events"
)

// TestEventSerialisesLikeTheWebhookBody: an item of GET /v1/events (and
// the answer of GET /v1/events/{id}) is the body a webhook delivers, byte
// for byte, and the generated api.Event (the openapi.yaml schema) reads
// and writes the same JSON.
func TestEventSerialisesLikeTheWebhookBody(t *testing.T) {
	t.Parallel()
	obj := uuid.Must(uuid.NewV7())
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	for name, e := range map[string]events.Event{
		"WithAnObject": {
			ID: uuid.Must(uuid.NewV7()), Type: string(events.LeadCreated), Timestamp: time.Date(2026, 11, 28, 22, 5, 7, 123456789, paris),
			ObjectType: "lead", ObjectID: &obj, Data: json.RawMessage(`{"id":"` + obj.String() + `","email":"a@example.com","nested":{"x":[1,2]}}`),
		},
		"WithoutAnObject": {
			ID: uuid.Must(uuid.NewV7()), Type: string(events.WebhookTest), Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			ObjectType: "webhook_endpoint", Data: json.RawMessage(`{}`),
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := e.Payload()
			require.NoError(t, err)

			one, err := eventBody(http.StatusOK, e)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			require.NoError(t, one.VisitGetEventResponse(rec))
			require.Equal(t, string(body), strings.TrimSuffix(rec.Body.String(), "\n"), "GET /v1/events/{id}")

			page, err := eventPage([]events.Event{e}, nil)
			require.NoError(t, err)
			rec = httptest.NewRecorder()
			require.NoError(t, eventJSON{http.StatusOK, page}.VisitListEventsResponse(rec))
			var list struct {
				Data []json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
			require.Len(t, list.Data, 1)
			require.Equal(t, string(body), string(list.Data[0]), "an item of GET /v1/events")

			var generated api.Event
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&generated), "the body is an api.Event, field for field")
			again, err := json.Marshal(generated)
			require.NoError(t, err)
			require.JSONEq(t, string(body), string(again), "and api.Event writes it back the same")
		})
	}
}
