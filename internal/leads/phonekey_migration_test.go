package leads_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/migrations"
)

// TestPhoneKeyMigration replays the up migration of
// leads_org_campaign_phone_key on leads that broke the rule before it, in
// a transaction it rolls back. It is not parallel: dropping the index locks
// the leads table until the rollback.
func TestPhoneKeyMigration(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	camp := b.campaign(t, "dupes")
	up, err := migrations.Files.ReadFile("20261128400101_leads_phone_key.tx.up.sql")
	require.NoError(t, err)

	begin := func(t *testing.T) pgx.Tx {
		t.Helper()
		tx, err := testkit.OwnerDB(t).Pool.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		_, err = tx.Exec(ctx, `DROP INDEX leads_org_campaign_phone_key`)
		require.NoError(t, err)
		return tx
	}
	lead := func(t *testing.T, tx pgx.Tx, campaign *uuid.UUID, phone string) uuid.UUID {
		t.Helper()
		id := uuid.Must(uuid.NewV7())
		_, err := tx.Exec(ctx, `INSERT INTO leads (id, org_id, campaign_id, phone) VALUES ($1, $2, $3, $4)`, id, b.actor.OrgID, campaign, phone)
		require.NoError(t, err)
		return id
	}
	migrate := func(tx pgx.Tx) error {
		for _, part := range strings.Split(string(up), "--bun:split") {
			if _, err := tx.Exec(ctx, part); err != nil {
				return err
			}
		}
		return nil
	}
	count := func(t *testing.T, tx pgx.Tx) int {
		t.Helper()
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM leads WHERE org_id = $1`, b.actor.OrgID).Scan(&n))
		return n
	}

	t.Run("DeletesLaterCopiesWithoutHistoryKeepingTheOldest", func(t *testing.T) {
		tx := begin(t)
		first := lead(t, tx, &camp, "+442079460958")
		lead(t, tx, &camp, "+442079460958")
		lead(t, tx, nil, "+442079460958")
		lead(t, tx, nil, "+442079460958")
		lead(t, tx, nil, "+442079460959")
		require.NoError(t, migrate(tx))
		require.Equal(t, 3, count(t, tx), "one per campaign bucket and number")
		var ok bool
		require.NoError(t, tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM leads WHERE id = $1)`, first).Scan(&ok))
		require.True(t, ok, "the oldest stays")
	})

	t.Run("StopsWhenACopyHasHistory", func(t *testing.T) {
		tx := begin(t)
		lead(t, tx, &camp, "+442079460958")
		copyID := lead(t, tx, &camp, "+442079460958")
		_, err := tx.Exec(ctx, `INSERT INTO notifications (id, org_id, lead_id, type, title) VALUES ($1, $2, $3, 'system', 'x')`,
			uuid.Must(uuid.NewV7()), b.actor.OrgID, copyID)
		require.NoError(t, err)
		require.ErrorContains(t, migrate(tx), "merge them before this migration")
	})
}
