package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newOrg makes an organisation and returns its id.
func newOrg(t *testing.T) uuid.UUID {
	t.Helper()
	org := uuid.Must(uuid.NewV7())
	_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(),
		`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Events Org', $2)`, org, "events-"+org.String())
	require.NoError(t, err)
	return org
}

// addEndpoint adds an endpoint of org subscribed to types.
func addEndpoint(t *testing.T, org uuid.UUID, status string, types ...string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	var reason any
	if status == "disabled" {
		reason = "manual"
	}
	_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(), `
		INSERT INTO webhook_endpoints (id, org_id, url, event_types, status, disabled_reason, secret_encrypted)
		VALUES ($1, $2, 'https://example.com/hook', $3, $4, $5, 'x')`, id, org, types, status, reason)
	require.NoError(t, err)
	return id
}

func messages(t *testing.T, event uuid.UUID) []uuid.UUID {
	t.Helper()
	rows, err := testkit.OwnerDB(t).Pool.Query(context.Background(),
		`SELECT endpoint_id FROM webhook_messages WHERE event_id = $1 ORDER BY endpoint_id`, event)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	return ids
}

func TestRecordFansOutToSubscribers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org, other := newOrg(t), newOrg(t)
	all := addEndpoint(t, org, "enabled", "*")
	leadsOnly := addEndpoint(t, org, "enabled", "lead.created")
	addEndpoint(t, org, "enabled", "campaign.created")
	addEndpoint(t, org, "disabled", "*")
	addEndpoint(t, other, "enabled", "*")

	obj := uuid.Must(uuid.NewV7())
	var id uuid.UUID
	err := db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		id, err = events.Record(ctx, tx, org, events.New{Type: events.LeadCreated, ObjectID: obj, Data: map[string]any{"id": obj, "email": "a@example.com"}})
		return err
	})
	require.NoError(t, err)

	var typ, objType string
	var objID uuid.UUID
	var email string
	require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(ctx,
		`SELECT type, object_type, object_id, data->>'email' FROM events WHERE id = $1 AND org_id = $2`, id, org).
		Scan(&typ, &objType, &objID, &email))
	require.Equal(t, "lead.created", typ)
	require.Equal(t, "lead", objType)
	require.Equal(t, obj, objID)
	require.Equal(t, "a@example.com", email)
	want := []uuid.UUID{all, leadsOnly}
	if want[0].String() > want[1].String() {
		want[0], want[1] = want[1], want[0]
	}
	require.Equal(t, want, messages(t, id), "the enabled endpoints of the org subscribed to the type, and no others")
}

func TestRecordRollsBackWithTheChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org := newOrg(t)
	addEndpoint(t, org, "enabled", "*")
	boom := errors.New("the change failed")
	var id uuid.UUID
	err := db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		if id, err = events.Record(ctx, tx, org, events.New{Type: events.CampaignCreated, Data: map[string]any{}}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	var n int
	require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(ctx,
		`SELECT (SELECT count(*) FROM events WHERE id = $1) + (SELECT count(*) FROM webhook_messages WHERE event_id = $1)`, id).Scan(&n))
	require.Zero(t, n, "a rolled-back change leaves no event and no message")
}

func TestRecordBatchOrderAndTestEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org := newOrg(t)
	addEndpoint(t, org, "enabled", "*")
	target := addEndpoint(t, org, "disabled", "lead.created")
	var ids []uuid.UUID
	err := db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, org, []events.New{
			{Type: events.LeadUpdated, Data: map[string]any{"n": 1}},
			{Type: events.WebhookTest, ObjectID: target, Data: map[string]any{"n": 2}, OnlyEndpoint: &target},
		})
		return err
	})
	require.NoError(t, err)
	require.Len(t, ids, 2)
	require.Less(t, ids[0].String(), ids[1].String(), "ids are time-ordered in batch order")
	require.Len(t, messages(t, ids[0]), 1)
	require.Equal(t, []uuid.UUID{target}, messages(t, ids[1]), "a test event goes to its endpoint only, even a disabled one")
}

func TestRecordRefusesWhatIsNotInTheCatalogue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org := newOrg(t)
	err := db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		_, err := events.Record(ctx, tx, org, events.New{Type: "lead.exploded", Data: map[string]any{}})
		return err
	})
	require.ErrorIs(t, err, events.ErrUnknownType)
	err = db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		_, err := events.Record(ctx, tx, org, events.New{Type: events.LeadCreated, Data: []int{1}})
		return err
	})
	require.ErrorContains(t, err, "not a JSON object")
}

func TestSubscribed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org := newOrg(t)
	check := func() bool {
		var ok bool
		require.NoError(t, db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			var err error
			ok, err = events.Subscribed(ctx, tx, org, events.LeadCreated)
			return err
		}))
		return ok
	}
	require.False(t, check())
	addEndpoint(t, org, "enabled", "campaign.created")
	addEndpoint(t, org, "disabled", "lead.created")
	require.False(t, check())
	addEndpoint(t, org, "enabled", "*")
	require.True(t, check())
}

func TestNotifyOnCommitOnly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	org := newOrg(t)
	ep := addEndpoint(t, org, "enabled", "*")
	conn, err := pgx.Connect(ctx, testkit.URL(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "LISTEN "+events.NotifyChannel)
	require.NoError(t, err)

	db := testkit.DB(t)
	err = db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		_, err := events.Record(ctx, tx, org, events.New{Type: events.LeadCreated, Data: map[string]any{}})
		return err
	})
	require.NoError(t, err)
	for {
		n, err := conn.WaitForNotification(ctx)
		require.NoError(t, err, "the endpoint's notification arrives after commit")
		if n.Payload == ep.String() {
			break
		}
	}
}

func TestRecordBatchPastOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.DB(t)
	org := newOrg(t)
	ep := addEndpoint(t, org, "enabled", "lead.deleted")
	ns := make([]events.New, 2500)
	for i := range ns {
		ns[i] = events.New{Type: events.LeadDeleted, ObjectID: uuid.Must(uuid.NewV7()), Data: map[string]any{"i": i}}
	}
	var ids []uuid.UUID
	require.NoError(t, db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, org, ns)
		return err
	}))
	require.Len(t, ids, len(ns))
	var events, msgs int
	var ordered bool
	require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM events WHERE org_id = $1),
		       (SELECT count(*) FROM webhook_messages WHERE endpoint_id = $2),
		       (SELECT bool_and(rn = (data->>'i')::int + 1) FROM (SELECT data, row_number() OVER (ORDER BY id) rn FROM events WHERE org_id = $1) s)`,
		org, ep).Scan(&events, &msgs, &ordered))
	require.Equal(t, len(ns), events)
	require.Equal(t, len(ns), msgs)
	require.True(t, ordered, "the events' ids follow the batch's order across statements")
}
