package sending

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/smtptest"
)

// The inbox's batch versions leave what the one-lead versions called
// once per lead leave, in one statement per step.
func TestTheInboxsBatchUnsubscribesAndDeferrals(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	ctx := context.Background()
	ana, ben, cy, dan := b.lead("ana@globex.test"), b.lead("ben@globex.test"), b.lead("cy@globex.test"), b.lead("dan@globex.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	for _, l := range []uuid.UUID{ana, ben, cy, dan} {
		st, _ := b.status(l, 2)
		require.Equal(t, "scheduled", st)
	}
	var due, danDue time.Time
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT scheduled_for FROM messages WHERE lead_id = $1 AND step = 2`, cy).Scan(&due))
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT scheduled_for FROM messages WHERE lead_id = $1 AND step = 2`, dan).Scan(&danDue))
	inTx := func(fn func(tx bun.IDB) error) {
		require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.actor.OrgID}, func(_ context.Context, tx bun.IDB) error { return fn(tx) }))
	}

	t.Run("DefersEachLeadToItsLatestReturnDateAndNeverEarlier", func(t *testing.T) {
		later, latest := due.Add(5*24*time.Hour), due.Add(9*24*time.Hour)
		inTx(func(tx bun.IDB) error {
			n, err := b.eng.DeferManyInTx(ctx, tx, b.actor.OrgID, []Deferral{
				{Lead: cy, Until: later}, {Lead: cy, Until: latest}, {Lead: cy, Until: later},
				{Lead: dan, Until: danDue.Add(-time.Hour)}, // before its step 2: nothing moves
			})
			require.Equal(t, 1, n)
			return err
		})
		var got time.Time
		var why *string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT scheduled_for, blocked_reason FROM messages WHERE lead_id = $1 AND step = 2`, cy).Scan(&got, &why))
		require.Equal(t, latest.UTC(), got.UTC())
		require.Equal(t, BlockedLeadOutOfOffice, *why)
		require.Equal(t, 1, b.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 2 AND scheduled_for = $2 AND blocked_reason IS NULL`, dan, danDue))
		inTx(func(tx bun.IDB) error {
			n, err := b.eng.DeferManyInTx(ctx, tx, b.actor.OrgID, nil)
			require.Zero(t, n)
			return err
		})
	})

	t.Run("UnsubscribesEachLeadOnce", func(t *testing.T) {
		inTx(func(tx bun.IDB) error {
			return b.eng.UnsubscribeManyInTx(ctx, tx, b.actor.OrgID, []uuid.UUID{ana, ben, ana}, "classification")
		})
		for _, l := range []uuid.UUID{ana, ben} {
			st, why := b.status(l, 2)
			require.Equal(t, "cancelled", st)
			require.Equal(t, BlockedLeadUnsubscribed, *why)
			require.Equal(t, 1, b.count(`SELECT count(*) FROM leads WHERE id = $1 AND status = 'unsubscribed' AND unsubscribed_at IS NOT NULL`, l))
			require.Equal(t, 1, b.count(`SELECT count(*) FROM events WHERE type = 'lead.status_changed' AND object_id = $1 AND data->>'to' = 'unsubscribed'`, l))
		}
		require.Equal(t, 2, b.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND reason = 'classification' AND source = 'inbox'`, b.actor.OrgID))
		require.Equal(t, 2, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'suppression.created'`, b.actor.OrgID))
		st, _ := b.status(cy, 2)
		require.Equal(t, "scheduled", st, "the others are left alone")
		inTx(func(tx bun.IDB) error {
			return b.eng.UnsubscribeManyInTx(ctx, tx, b.actor.OrgID, nil, "classification")
		})
	})
}
