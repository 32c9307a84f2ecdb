package leads_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

type recorded struct {
	Type     string
	ObjectID uuid.UUID
	Data     map[string]any
}

// eventsOf returns org's events, oldest first.
func eventsOf(t *testing.T, org uuid.UUID) []recorded {
	t.Helper()
	rows, err := testkit.OwnerDB(t).Pool.Query(context.Background(),
		`SELECT type, object_id, data FROM events WHERE org_id = $1 ORDER BY id`, org)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recorded, error) {
		var e recorded
		var raw []byte
		if err := r.Scan(&e.Type, &e.ObjectID, &raw); err != nil {
			return e, err
		}
		return e, json.Unmarshal(raw, &e.Data)
	})
	require.NoError(t, err)
	return out
}

func TestEventsAreWrittenWithEachChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	org := b.actor.OrgID

	l, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("ev@example.com"), FirstName: ptr("Eve")}})
	require.NoError(t, err)
	_, err = b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("EV@example.com")}})
	require.Error(t, err, "a duplicate is refused")
	_, err = b.svc.Update(ctx, b.actor, l.ID, leads.Update{Fields: leads.Fields{Company: ptr("Acme")}})
	require.NoError(t, err)
	same, err := b.svc.Update(ctx, b.actor, l.ID, leads.Update{Fields: leads.Fields{Company: ptr("Acme"), FirstName: ptr("Eve")}})
	require.NoError(t, err)
	require.Equal(t, "Acme", *same.Company, "an update that changes nothing answers the lead as it is")
	other, err := b.svc.Create(ctx, b.actor, leads.Create{Fields: leads.Fields{Email: ptr("ev2@example.com")}})
	require.NoError(t, err)
	res, err := b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionSetStatus, Status: "contacted", IDs: []uuid.UUID{l.ID, other.ID}})
	require.NoError(t, err)
	require.Equal(t, 2, res.Changed)
	res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionSetStatus, Status: "contacted", IDs: []uuid.UUID{l.ID, other.ID}})
	require.NoError(t, err)
	require.Zero(t, res.Changed, "nothing changes the second time")
	require.NoError(t, b.svc.Delete(ctx, b.actor, other.ID))
	res, err = b.svc.Bulk(ctx, b.actor, leads.Bulk{Action: leads.ActionMoveToCampaign, CampaignID: ptr(b.campaign(t, "Events")), IDs: []uuid.UUID{l.ID}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Changed)

	got := eventsOf(t, org)
	type brief struct {
		Type   string
		Object uuid.UUID
	}
	var briefs []brief
	for _, e := range got {
		if e.Type == "campaign.created" {
			continue
		}
		briefs = append(briefs, brief{e.Type, e.ObjectID})
	}
	require.Equal(t, []brief{
		{"lead.created", l.ID},
		{"lead.updated", l.ID},
		{"lead.created", other.ID},
		{"lead.updated", l.ID}, {"lead.updated", other.ID},
		{"lead.deleted", other.ID},
		{"lead.updated", l.ID},
	}, briefs, "one event per change, none for a refused create or a no-op")

	// Each event's data is the lead as the API returned it then.
	require.Equal(t, "ev@example.com", got[0].Data["email"])
	require.Equal(t, "Eve", got[0].Data["first_name"])
	require.Nil(t, got[0].Data["company"])
	require.Equal(t, "Acme", got[1].Data["company"])
	want, err := json.Marshal(l.Resource())
	require.NoError(t, err)
	var wantMap map[string]any
	require.NoError(t, json.Unmarshal(want, &wantMap))
	require.Equal(t, wantMap, got[0].Data, "lead.created carries the API's Lead")
	for _, e := range got {
		if e.Type == "lead.deleted" {
			require.Equal(t, "contacted", e.Data["status"], "a deleted lead's event carries it as it was")
		}
	}
}

func TestDeletingACampaignDeletesItsLeadsWithTheirEventsWhenSomeoneListens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, listening := range []bool{false, true} {
		b := setup(t)
		org := b.actor.OrgID
		if listening {
			_, err := testkit.OwnerDB(t).Pool.Exec(ctx, `INSERT INTO webhook_endpoints (id, org_id, url, event_types, secret_encrypted)
				VALUES ($1, $2, 'https://example.com/hook', '{lead.deleted}', 'x')`, uuid.Must(uuid.NewV7()), org)
			require.NoError(t, err)
		}
		camp := b.campaign(t, "Doomed")
		var ids []uuid.UUID
		for _, e := range []string{"d1@example.com", "d2@example.com"} {
			l, err := b.svc.Create(ctx, b.actor, leads.Create{CampaignID: &camp, Fields: leads.Fields{Email: ptr(e)}})
			require.NoError(t, err)
			ids = append(ids, l.ID)
		}
		require.NoError(t, b.camps.Delete(ctx, b.actor, camp))
		var deleted []uuid.UUID
		campaignDeleted := 0
		for _, e := range eventsOf(t, org) {
			switch e.Type {
			case "lead.deleted":
				deleted = append(deleted, e.ObjectID)
			case "campaign.deleted":
				campaignDeleted++
			}
		}
		require.Equal(t, 1, campaignDeleted)
		if listening {
			require.Equal(t, ids, deleted, "one lead.deleted per lead the campaign took with it")
		} else {
			require.Empty(t, deleted, "nobody listens: campaign.deleted says it")
		}
	}
}
