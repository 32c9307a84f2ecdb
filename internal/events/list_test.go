package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func record(t *testing.T, org uuid.UUID, ns ...events.New) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, testkit.DB(t).InTenant(context.Background(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		ids, err = events.RecordBatch(ctx, tx, org, ns)
		return err
	}))
	return ids
}

// idAt is a UUIDv7 generated at t.
func idAt(t time.Time) uuid.UUID {
	id, r := events.IDAt(t), uuid.New()
	copy(id[7:], r[7:])
	id[8] = id[8]&0x3f | 0x80
	return id
}

func TestIDAt(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 21, 0, 0, 500_000_000, time.UTC)
	lo := events.IDAt(at)
	require.Equal(t, uuid.Version(7), lo.Version())
	require.Equal(t, uuid.RFC4122, lo.Variant())
	sec, nsec := lo.Time().UnixTime()
	require.Equal(t, at, time.Unix(sec, nsec).UTC(), "the id holds the millisecond")
	id := uuid.Must(uuid.NewV7())
	now := time.Now()
	require.LessOrEqual(t, events.IDAt(now.Add(-time.Millisecond)).String(), id.String())
	require.Less(t, id.String(), events.IDAt(now.Add(time.Second)).String())
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := events.NewService(testkit.DB(t))
	org, other := newOrg(t), newOrg(t)
	member := access.Actor{OrgID: org, Role: access.RoleMember}
	lead, camp := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	// The first happened a day ago: its id and its time say so, as
	// Record would have written them then.
	first := idAt(time.Now().Add(-24 * time.Hour))
	_, err := testkit.OwnerDB(t).Pool.Exec(ctx, `INSERT INTO events (id, org_id, type, object_type, object_id, data, occurred_at)
		VALUES ($1, $2, 'lead.created', 'lead', $3, jsonb_build_object('id', $4::text), now() - interval '1 day')`, first, org, lead, lead.String())
	require.NoError(t, err)
	ids := append([]uuid.UUID{first}, record(t, org,
		events.New{Type: events.CampaignCreated, ObjectID: camp, Data: map[string]any{"id": camp}},
		events.New{Type: events.LeadUpdated, ObjectID: lead, Data: map[string]any{"id": lead, "n": 2}},
		events.New{Type: events.LeadDeleted, ObjectID: lead, Data: map[string]any{"id": lead}},
	)...)
	record(t, other, events.New{Type: events.LeadCreated, ObjectID: lead, Data: map[string]any{}})
	dayAgo := time.Now().Add(-12 * time.Hour)

	list := func(f events.Filter) []uuid.UUID {
		t.Helper()
		var out []uuid.UUID
		for p := (pagination.Page{Limit: 1}); ; {
			rows, next, err := svc.List(ctx, member, f, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(rows), 1)
			for _, r := range rows {
				out = append(out, r.ID)
			}
			if next == nil {
				return out
			}
			p, err = pagination.Parse(&p.Limit, next)
			require.NoError(t, err)
		}
	}
	for name, tc := range map[string]struct {
		f    events.Filter
		want []uuid.UUID
	}{
		"AllNewestFirst":   {events.Filter{}, []uuid.UUID{ids[3], ids[2], ids[1], ids[0]}},
		"OneType":          {events.Filter{Types: []events.Type{events.LeadUpdated}}, []uuid.UUID{ids[2]}},
		"SeveralTypes":     {events.Filter{Types: []events.Type{events.LeadCreated, events.LeadDeleted}}, []uuid.UUID{ids[3], ids[0]}},
		"ObjectType":       {events.Filter{ObjectType: "campaign"}, []uuid.UUID{ids[1]}},
		"ObjectID":         {events.Filter{ObjectID: &lead}, []uuid.UUID{ids[3], ids[2], ids[0]}},
		"Since":            {events.Filter{Since: &dayAgo}, []uuid.UUID{ids[3], ids[2], ids[1]}},
		"Until":            {events.Filter{Until: &dayAgo}, []uuid.UUID{ids[0]}},
		"Combined":         {events.Filter{ObjectID: &lead, Since: &dayAgo, Types: []events.Type{events.LeadCreated, events.LeadUpdated}}, []uuid.UUID{ids[2]}},
		"NothingMatches":   {events.Filter{ObjectType: "template"}, nil},
		"OtherOrgsObjects": {events.Filter{ObjectID: &camp, Types: []events.Type{events.LeadCreated}}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, list(tc.f))
		})
	}

	t.Run("DataAndFields", func(t *testing.T) {
		rows, _, err := svc.List(ctx, member, events.Filter{Types: []events.Type{events.LeadUpdated}}, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		e := rows[0]
		require.Equal(t, "lead.updated", e.Type)
		require.Equal(t, "lead", e.ObjectType)
		require.Equal(t, lead, *e.ObjectID)
		require.JSONEq(t, `{"id":"`+lead.String()+`","n":2}`, string(e.Data))
		got, err := svc.Get(ctx, access.Actor{OrgID: org, APIKeyID: uuid.Must(uuid.NewV7()), Role: access.RoleAdmin}, e.ID)
		require.NoError(t, err)
		require.Equal(t, e, got)
	})

	t.Run("UntilBeforeSinceIsRefused", func(t *testing.T) {
		_, _, err := svc.List(ctx, member, events.Filter{Since: &dayAgo, Until: &dayAgo}, pagination.Page{Limit: 10})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
	})

	t.Run("AnotherOrganisationsEventIsNotFound", func(t *testing.T) {
		_, err := svc.Get(ctx, access.Actor{OrgID: other, Role: access.RoleOwner}, ids[0])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})
}
