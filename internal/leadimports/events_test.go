package leadimports_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/testkit"
)

// eventTypes counts org's events by type.
func eventTypes(t *testing.T, org uuid.UUID) map[string]int {
	t.Helper()
	rows, err := testkit.OwnerDB(t).Pool.Query(context.Background(),
		`SELECT type, count(*)::int FROM events WHERE org_id = $1 GROUP BY type`, org)
	require.NoError(t, err)
	out := map[string]int{}
	var typ string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&typ, &n}, func() error { out[typ] = n; return nil })
	require.NoError(t, err)
	return out
}

const threeLeads = "email,first_name\nann@example.com,Ann\nbob@example.com,Bob\nann@example.com,Ann again\ncid@example.com,Cid\n"

func TestAnImportIsSummarisedByOneEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	imp := b.run(t, nil, threeLeads)
	require.Equal(t, 3, imp.Counts.Inserted)
	require.Equal(t, map[string]int{"import.created": 1, "import.completed": 1}, eventTypes(t, b.actor.OrgID),
		"without a subscriber to lead.created the leads of an import get no event of their own")

	var inserted int
	require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(context.Background(),
		`SELECT (data->'counts'->>'inserted')::int FROM events WHERE org_id = $1 AND type = 'import.completed' AND object_id = $2`,
		b.actor.OrgID, imp.ID).Scan(&inserted))
	require.Equal(t, 3, inserted, "import.completed carries the finished import's counts")
}

func TestAnImportWritesLeadEventsWhenSomeoneListens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := uuid.Must(uuid.NewV7())
	_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(), `
		INSERT INTO webhook_endpoints (id, org_id, url, event_types, secret_encrypted)
		VALUES ($1, $2, 'https://example.com/hook', '{lead.created}', 'x')`, ep, b.actor.OrgID)
	require.NoError(t, err)

	imp := b.run(t, nil, threeLeads)
	require.Equal(t, 3, imp.Counts.Inserted)
	require.Equal(t, map[string]int{"import.created": 1, "import.completed": 1, "lead.created": 3}, eventTypes(t, b.actor.OrgID))
	var msgs int
	var emails []string
	require.NoError(t, testkit.OwnerDB(t).Pool.QueryRow(context.Background(), `
		SELECT count(*)::int, array_agg(e.data->>'email' ORDER BY e.data->>'email') FROM webhook_messages m JOIN events e ON e.id = m.event_id
		 WHERE m.endpoint_id = $1`, ep).Scan(&msgs, &emails))
	require.Equal(t, 3, msgs, "the subscriber gets one message per imported lead and nothing else")
	require.Equal(t, []string{"ann@example.com", "bob@example.com", "cid@example.com"}, emails)
}
