package database_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// suppressionColumns stage what an import of suppressions brings; org_id
// is left out so the input cannot claim it.
var suppressionColumns = []database.BulkColumn{
	{Name: "id", Type: "uuid"}, {Name: "kind", Type: "text"}, {Name: "value", Type: "text"}, {Name: "reason", Type: "text"},
}

// insertSuppressions is the set-based step: the organisation comes from
// the transaction, and a value already suppressed (or twice in the input)
// is skipped.
const insertSuppressions = `
	INSERT INTO suppressions (id, org_id, kind, value, reason, source)
	SELECT id, app_current_org_id(), kind, value, reason, 'import'
	FROM staged_suppressions
	ON CONFLICT (org_id, kind, value) DO NOTHING`

// emailRows returns one staged suppression row per value.
func emailRows(values ...string) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(values), func(i int) ([]any, error) {
		return []any{uuid.Must(uuid.NewV7()), "email", values[i], "manual"}, nil
	})
}

func emails(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06d@example.test", prefix, i)
	}
	return out
}

type bulkBundle struct {
	owner  *database.DB
	tenant database.Tenant
	prefix string // unique per test, so counts ignore other tests' rows
}

func newOrg(t testing.TB, owner *database.DB) uuid.UUID {
	t.Helper()
	org := uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(),
		`INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bulk', $2)`, org, "bulk-"+org.String())
	require.NoError(t, err)
	return org
}

func setupBulk(t *testing.T) (*database.DB, bulkBundle) {
	t.Helper()
	owner := testkit.OwnerDB(t)
	return testkit.DB(t), bulkBundle{
		owner:  owner,
		tenant: database.Tenant{OrgID: newOrg(t, owner)},
		prefix: "x" + uuid.NewString()[:8] + "-",
	}
}

// stored counts, bypassing row-level security, the suppressions whose
// value starts with prefix, and of those the ones owned by org.
func stored(t *testing.T, owner *database.DB, prefix string, org uuid.UUID) (all, owned int) {
	t.Helper()
	err := owner.Pool.QueryRow(context.Background(), `
		SELECT count(*), count(*) FILTER (WHERE org_id = $2)
		FROM suppressions WHERE value LIKE $1 || '%'`, prefix, org).Scan(&all, &owned)
	require.NoError(t, err)
	return all, owned
}

func TestBulkLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("LoadsTenThousandRowsInOneCallAsTheTenant", func(t *testing.T) {
		t.Parallel()
		db, b := setupBulk(t)
		var res database.BulkResult
		err := db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			var err error
			res, err = tx.Load(ctx, database.BulkLoad{
				Staging: "staged_suppressions", Columns: suppressionColumns,
				Rows: emailRows(emails(b.prefix, 10_000)...), Insert: insertSuppressions,
			})
			return err
		})
		require.NoError(t, err)
		require.Equal(t, database.BulkResult{Staged: 10_000, Inserted: 10_000}, res)
		all, owned := stored(t, b.owner, b.prefix, b.tenant.OrgID)
		require.Equal(t, 10_000, all)
		require.Equal(t, 10_000, owned, "every row carries the tenant's org_id")
	})

	t.Run("DeduplicatesThroughTheCallersOnConflict", func(t *testing.T) {
		t.Parallel()
		db, b := setupBulk(t)
		load := func(values ...string) database.BulkResult {
			var res database.BulkResult
			require.NoError(t, db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
				var err error
				res, err = tx.Load(ctx, database.BulkLoad{
					Staging: "staged_suppressions", Columns: suppressionColumns, Rows: emailRows(values...), Insert: insertSuppressions,
				})
				return err
			}))
			return res
		}
		a, c, d, e := b.prefix+"a@x.test", b.prefix+"c@x.test", b.prefix+"d@x.test", b.prefix+"e@x.test"
		require.Equal(t, database.BulkResult{Staged: 2, Inserted: 2}, load(a, b.prefix+"b@x.test"))
		// a is already suppressed and c comes twice: two of five are new.
		require.Equal(t, database.BulkResult{Staged: 5, Inserted: 3}, load(a, c, c, d, e))
		all, _ := stored(t, b.owner, b.prefix, b.tenant.OrgID)
		require.Equal(t, 5, all)
	})

	t.Run("FailsTheWholeInsertWhenARowClaimsAnotherOrganisation", func(t *testing.T) {
		t.Parallel()
		db, b := setupBulk(t)
		other := newOrg(t, b.owner)
		// This load stages org_id, as a careless import might: row-level
		// security checks every row the INSERT writes.
		rows := pgx.CopyFromRows([][]any{
			{uuid.Must(uuid.NewV7()), b.tenant.OrgID, b.prefix + "mine@x.test"},
			{uuid.Must(uuid.NewV7()), other, b.prefix + "theirs@x.test"},
			{uuid.Must(uuid.NewV7()), b.tenant.OrgID, b.prefix + "mine2@x.test"},
		})
		err := db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			_, err := tx.Load(ctx, database.BulkLoad{
				Staging: "staged", Columns: []database.BulkColumn{{Name: "id", Type: "uuid"}, {Name: "org_id", Type: "uuid"}, {Name: "value", Type: "text"}},
				Rows: rows,
				Insert: `INSERT INTO suppressions (id, org_id, kind, value, reason)
					SELECT id, org_id, 'email', value, 'manual' FROM staged`,
			})
			return err
		})
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "got %v", err)
		require.Equal(t, "42501", pgErr.Code, "insufficient_privilege")
		require.Contains(t, pgErr.Message, "violates row-level security policy")
		all, _ := stored(t, b.owner, b.prefix, b.tenant.OrgID)
		require.Zero(t, all, "the statement failed whole: not even the tenant's own rows were written")
	})

	t.Run("APlainCopyIntoATenantTableIsRefused", func(t *testing.T) {
		t.Parallel()
		// Why the staging table exists: Postgres will not COPY into a
		// table under row-level security, even for the tenant's own rows.
		db, b := setupBulk(t)
		err := db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			_, err := tx.CopyFrom(ctx, "suppressions", []string{"id", "org_id", "kind", "value", "reason"},
				pgx.CopyFromRows([][]any{{uuid.Must(uuid.NewV7()), b.tenant.OrgID, "email", b.prefix + "a@x.test", "manual"}}))
			return err
		})
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "got %v", err)
		require.Equal(t, "0A000", pgErr.Code, "feature_not_supported")
		require.Contains(t, pgErr.Message, "COPY FROM not supported with row-level security")
	})

	t.Run("CommitsAndRollsBackWithTheTenantTransaction", func(t *testing.T) {
		t.Parallel()
		db, b := setupBulk(t)
		load := func(tx database.BulkTx, values ...string) error {
			_, err := tx.Load(ctx, database.BulkLoad{
				Staging: "staged_suppressions", Columns: suppressionColumns, Rows: emailRows(values...), Insert: insertSuppressions,
			})
			return err
		}
		boom := errors.New("boom")
		err := db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			require.NoError(t, load(tx, b.prefix+"a@x.test"))
			return boom
		})
		require.ErrorIs(t, err, boom)
		all, _ := stored(t, b.owner, b.prefix, b.tenant.OrgID)
		require.Zero(t, all, "a failed transaction takes its loads with it")

		// Two loads, and an ordinary statement through the same
		// transaction, commit together.
		err = db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			require.NoError(t, load(tx, b.prefix+"a@x.test"))
			require.NoError(t, load(tx, b.prefix+"b@x.test"))
			var n int
			require.NoError(t, tx.QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE value LIKE ?`, b.prefix+"%").Scan(&n))
			require.Equal(t, 2, n, "the bun side of the transaction sees the loaded rows")
			return nil
		})
		require.NoError(t, err)
		all, _ = stored(t, b.owner, b.prefix, b.tenant.OrgID)
		require.Equal(t, 2, all)
	})

	t.Run("RefusesAStagingNameThatWouldHideATable", func(t *testing.T) {
		t.Parallel()
		// A temporary "suppressions" would take the real table's place in
		// the INSERT that follows.
		db, b := setupBulk(t)
		err := db.InTenantBulk(ctx, b.tenant, func(ctx context.Context, tx database.BulkTx) error {
			_, err := tx.Load(ctx, database.BulkLoad{
				Staging: "suppressions", Columns: suppressionColumns, Rows: emailRows(b.prefix + "a@x.test"),
				Insert: `INSERT INTO suppressions (id, org_id, kind, value, reason) SELECT id, app_current_org_id(), kind, value, reason FROM suppressions`,
			})
			return err
		})
		require.ErrorContains(t, err, `staging table name "suppressions" is already taken`)
	})

	t.Run("RefusesATransactionWithoutATenant", func(t *testing.T) {
		t.Parallel()
		db := testkit.DB(t)
		err := db.InTenantBulk(ctx, database.Tenant{}, func(context.Context, database.BulkTx) error {
			t.Fatal("fn must not run")
			return nil
		})
		require.ErrorIs(t, err, database.ErrNoTenant)
	})
}

// BenchmarkBulkLoad loads 100,000 suppressions per iteration through the
// staging table under row-level security, and as a baseline COPYs the same
// rows into an unlogged table with no policies, indexes or constraints.
// It reports both rates and their ratio: the price of doing bulk loads the
// safe way.
func BenchmarkBulkLoad(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	app, owner := testkit.DB(b), testkit.OwnerDB(b)
	// Its own schema, so no test that lists public tables ever sees it.
	_, err := owner.Pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bulk_bench;
		CREATE UNLOGGED TABLE IF NOT EXISTS bulk_bench.baseline (id uuid, channel text, value text, reason text)`)
	require.NoError(b, err)
	b.Cleanup(func() { _, _ = owner.Pool.Exec(context.Background(), `DROP SCHEMA bulk_bench CASCADE`) })

	var bulk, baseline time.Duration
	iters := 0
	for i := 0; b.Loop(); i++ {
		iters++
		b.StopTimer()
		tenant := database.Tenant{OrgID: newOrg(b, owner)}
		rows := make([][]any, n)
		for j := range rows {
			rows[j] = []any{uuid.Must(uuid.NewV7()), "email", fmt.Sprintf("b%d-%06d@example.test", i, j), "manual"}
		}
		_, err := owner.Pool.Exec(ctx, `TRUNCATE bulk_bench.baseline`)
		require.NoError(b, err)
		b.StartTimer()

		start := time.Now()
		copied, err := owner.Pool.CopyFrom(ctx, pgx.Identifier{"bulk_bench", "baseline"},
			[]string{"id", "channel", "value", "reason"}, pgx.CopyFromRows(rows))
		baseline += time.Since(start)
		require.NoError(b, err)
		require.EqualValues(b, n, copied)

		start = time.Now()
		var res database.BulkResult
		err = app.InTenantBulk(ctx, tenant, func(ctx context.Context, tx database.BulkTx) error {
			var err error
			res, err = tx.Load(ctx, database.BulkLoad{
				Staging: "staged_suppressions", Columns: suppressionColumns, Rows: pgx.CopyFromRows(rows), Insert: insertSuppressions,
			})
			return err
		})
		bulk += time.Since(start)
		require.NoError(b, err)
		require.EqualValues(b, n, res.Inserted)
	}
	loaded := float64(n * iters)
	b.ReportMetric(loaded/bulk.Seconds(), "rows/s")
	b.ReportMetric(loaded/baseline.Seconds(), "baseline-rows/s")
	b.ReportMetric(baseline.Seconds()/bulk.Seconds(), "speed-vs-baseline")
}
