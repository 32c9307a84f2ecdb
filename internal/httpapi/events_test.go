package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.signup(t, "Events Org")
	m := b.join(t, o, api.RoleMember)
	member := bearer(m.AccessToken)
	org := o.Organization.ID
	lead := uuid.Must(uuid.NewV7())
	var ids []uuid.UUID
	require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, org, []events.New{
			{Type: events.LeadCreated, ObjectID: lead, Data: map[string]any{"id": lead, "email": "ada@example.com"}},
			{Type: events.CampaignCreated, Data: map[string]any{"name": "Q1"}},
			{Type: events.LeadUpdated, ObjectID: lead, Data: map[string]any{"id": lead, "email": "ada@example.org"}},
		})
		return err
	}))
	mine := func(es []api.Event) []uuid.UUID {
		var out []uuid.UUID
		for _, e := range es {
			if e.ID == ids[0] || e.ID == ids[1] || e.ID == ids[2] {
				out = append(out, e.ID)
			}
		}
		return out
	}

	t.Run("MembersListNewestFirstPageByPage", func(t *testing.T) {
		t.Parallel()
		var seen []api.Event
		for cursor := (*string)(nil); ; {
			r, err := b.client.ListEventsWithResponse(ctx, &api.ListEventsParams{Limit: ptr(1), Cursor: cursor}, member)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			require.LessOrEqual(t, len(r.JSON200.Data), 1)
			seen = append(seen, r.JSON200.Data...)
			if cursor = r.JSON200.NextCursor; cursor == nil {
				break
			}
		}
		require.Equal(t, []uuid.UUID{ids[2], ids[1], ids[0]}, mine(seen))
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		hourAgo, inAnHour := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		for name, tc := range map[string]struct {
			p    api.ListEventsParams
			want []uuid.UUID
		}{
			"Types":      {api.ListEventsParams{Type: &[]api.EventTypeName{api.EventTypeNameLeadCreated, api.EventTypeNameCampaignCreated}}, []uuid.UUID{ids[1], ids[0]}},
			"ObjectID":   {api.ListEventsParams{ObjectID: &lead}, []uuid.UUID{ids[2], ids[0]}},
			"ObjectType": {api.ListEventsParams{ObjectType: ptr("campaign")}, []uuid.UUID{ids[1]}},
			"Since":      {api.ListEventsParams{Since: &hourAgo}, []uuid.UUID{ids[2], ids[1], ids[0]}},
			"Until":      {api.ListEventsParams{Until: &hourAgo}, nil},
			"Future":     {api.ListEventsParams{Since: &inAnHour}, nil},
		} {
			r, err := b.client.ListEventsWithResponse(ctx, &tc.p, member)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), name+": "+string(r.Body))
			require.Equal(t, tc.want, mine(r.JSON200.Data), name)
		}
		// A repeated type parameter, as a polling trigger writes it.
		r, body := b.raw(t, http.MethodGet, "/v1/events?type=lead.updated&type=lead.created", "", withBearer(m.AccessToken))
		require.Equal(t, http.StatusOK, r.StatusCode, string(body))
		var list api.EventList
		require.NoError(t, json.Unmarshal(body, &list))
		require.Equal(t, []uuid.UUID{ids[2], ids[0]}, mine(list.Data))
		// Or comma-separated, as people and polling tools write it.
		for _, q := range []string{"type=lead.updated,lead.created", "type=lead.updated%2C+lead.created", "type=lead.updated,&type=lead.created"} {
			r, body = b.raw(t, http.MethodGet, "/v1/events?"+q, "", withBearer(m.AccessToken))
			require.Equal(t, http.StatusOK, r.StatusCode, q+": "+string(body))
			list = api.EventList{}
			require.NoError(t, json.Unmarshal(body, &list))
			require.Equal(t, []uuid.UUID{ids[2], ids[0]}, mine(list.Data), q)
		}
		r, body = b.raw(t, http.MethodGet, "/v1/events?type=lead.created,lead.exploded", "", withBearer(m.AccessToken))
		problem(t, r, body, http.StatusBadRequest)
		r, body = b.raw(t, http.MethodGet, "/v1/events?type=lead.exploded", "", withBearer(m.AccessToken))
		p := problem(t, r, body, http.StatusBadRequest)
		require.True(t, strings.HasPrefix((*p.Errors)[0].Field, "/query/type"), (*p.Errors)[0].Field)
		q := url.Values{"since": {time.Now().UTC().Format(time.RFC3339)}, "until": {time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}}
		r, body = b.raw(t, http.MethodGet, "/v1/events?"+q.Encode(), "", withBearer(m.AccessToken))
		problem(t, r, body, http.StatusUnprocessableEntity)
	})

	t.Run("OneEventIsItsWebhookBody", func(t *testing.T) {
		t.Parallel()
		r, body := b.raw(t, http.MethodGet, "/v1/events/"+ids[2].String(), "", withBearer(m.AccessToken))
		require.Equal(t, http.StatusOK, r.StatusCode, string(body))
		var e events.Event
		require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			var err error
			e, err = events.Get(ctx, tx, org, ids[2])
			return err
		}))
		payload, err := e.Payload()
		require.NoError(t, err)
		require.Equal(t, string(payload), strings.TrimSpace(string(body)))
		require.Contains(t, string(body), `"email":"ada@example.org"`)

		nf, err := b.client.GetEventWithResponse(ctx, uuid.Must(uuid.NewV7()), member)
		require.NoError(t, err)
		problem(t, nf.HTTPResponse, nf.Body, http.StatusNotFound)
	})

	t.Run("TheCatalogue", func(t *testing.T) {
		t.Parallel()
		r, err := b.client.ListEventTypesWithResponse(ctx, member)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		cat := events.Catalogue()
		require.Len(t, r.JSON200.Data, len(cat))
		for i, s := range cat {
			got := r.JSON200.Data[i]
			require.Equal(t, string(s.Type), string(got.Type))
			require.Equal(t, s.Object, got.ObjectType)
			require.Equal(t, s.Schema, got.Schema)
			require.Equal(t, s.Trigger, got.Description)
		}
	})
}
