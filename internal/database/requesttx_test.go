package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestRequestTransaction(t *testing.T) {
	t.Parallel()
	owner := testkit.OwnerDB(t)
	app := testkit.DB(t)
	ctx := context.Background()

	newOrg := func(t *testing.T) database.Tenant {
		t.Helper()
		id := uuid.Must(uuid.NewV7())
		_, err := owner.Pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Req', $2)`, id, "req-"+id.String())
		require.NoError(t, err)
		return database.Tenant{OrgID: id}
	}
	rename := func(ctx context.Context, tn database.Tenant, name string) error {
		return app.InTenant(ctx, tn, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.ExecContext(ctx, `UPDATE organizations SET name = ? WHERE id = ?`, name, tn.OrgID)
			return err
		})
	}
	nameOf := func(t *testing.T, tn database.Tenant) string {
		t.Helper()
		var n string
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT name FROM organizations WHERE id = $1`, tn.OrgID).Scan(&n))
		return n
	}

	t.Run("CallsForTheTenantJoinAndCommitTogether", func(t *testing.T) {
		t.Parallel()
		tn := newOrg(t)
		rctx, rtx, err := app.BeginRequest(ctx, tn)
		require.NoError(t, err)
		require.NoError(t, rename(rctx, tn, "one"))
		var seen string
		require.NoError(t, app.InTenant(rctx, tn, func(ctx context.Context, tx bun.IDB) error {
			return tx.NewRaw(`SELECT name FROM organizations WHERE id = ?`, tn.OrgID).Scan(ctx, &seen)
		}))
		require.Equal(t, "one", seen, "the second call sees the first's write: same transaction")
		require.Equal(t, "Req", nameOf(t, tn), "nothing is visible before the commit")
		hooked := false
		database.AfterCommit(rctx, func(context.Context) { hooked = true })
		require.False(t, hooked)
		require.NoError(t, rtx.Commit(rctx))
		require.True(t, hooked, "after-commit hooks run once committed")
		require.Equal(t, "one", nameOf(t, tn))
	})

	t.Run("RollbackDiscardsEverythingAndSkipsHooks", func(t *testing.T) {
		t.Parallel()
		tn := newOrg(t)
		rctx, rtx, err := app.BeginRequest(ctx, tn)
		require.NoError(t, err)
		require.NoError(t, rename(rctx, tn, "gone"))
		hooked := false
		database.AfterCommit(rctx, func(context.Context) { hooked = true })
		require.NoError(t, rtx.Rollback())
		require.False(t, hooked)
		require.Equal(t, "Req", nameOf(t, tn))
	})

	t.Run("AFailedCallPoisonsTheTransaction", func(t *testing.T) {
		t.Parallel()
		tn := newOrg(t)
		rctx, rtx, err := app.BeginRequest(ctx, tn)
		require.NoError(t, err)
		require.NoError(t, rename(rctx, tn, "half"))
		boom := errors.New("boom")
		require.ErrorIs(t, app.InTenant(rctx, tn, func(context.Context, bun.IDB) error { return boom }), boom)
		require.ErrorIs(t, rename(rctx, tn, "after"), database.ErrRequestTxFailed, "no call runs after a failure")
		require.ErrorIs(t, rtx.Commit(rctx), boom, "a failed transaction is never committed")
		require.Equal(t, "Req", nameOf(t, tn))
	})

	t.Run("AnotherTenantOrADetachedContextGetsItsOwnTransaction", func(t *testing.T) {
		t.Parallel()
		a, b := newOrg(t), newOrg(t)
		rctx, rtx, err := app.BeginRequest(ctx, a)
		require.NoError(t, err)
		require.NoError(t, rename(rctx, b, "b-own"), "b's call does not run under a's RLS context")
		require.Equal(t, "b-own", nameOf(t, b), "committed on its own")
		require.NoError(t, rename(database.Detach(rctx), a, "a-detached"))
		require.Equal(t, "a-detached", nameOf(t, a))
		require.NoError(t, rtx.Rollback())
	})

	t.Run("NestedTransactionsAreRefusedInsideARequest", func(t *testing.T) {
		t.Parallel()
		tn := newOrg(t)
		rctx, rtx, err := app.BeginRequest(ctx, tn)
		require.NoError(t, err)
		err = app.InTenant(rctx, tn, func(ctx context.Context, tx bun.IDB) error {
			return tx.RunInTx(ctx, nil, func(context.Context, bun.Tx) error { return nil })
		})
		require.ErrorContains(t, err, "nested transactions")
		require.NoError(t, rtx.Rollback())
	})

	t.Run("TheConnectionGoesBackOutsideAnyTransaction", func(t *testing.T) {
		t.Parallel()
		one, err := database.Open(ctx, database.Options{URL: testkit.AppURL(t), Role: testkit.AppRole, MaxConns: 1})
		require.NoError(t, err)
		t.Cleanup(one.Close)
		tn := newOrg(t)
		for _, commit := range []bool{true, false} {
			rctx, rtx, err := one.BeginRequest(ctx, tn)
			require.NoError(t, err)
			require.NoError(t, rename(rctx, tn, "x"))
			if commit {
				require.NoError(t, rtx.Commit(rctx))
			} else {
				require.NoError(t, rtx.Rollback())
			}
			// The pool's only connection: no transaction open, no tenant left set.
			_, err = one.Bun.ExecContext(ctx, `SAVEPOINT probe`)
			require.ErrorContains(t, err, "transaction blocks", "SAVEPOINT works only inside an open transaction")
			var org string
			require.NoError(t, one.Bun.QueryRowContext(ctx, `SELECT coalesce(current_setting('app.org_id', true), '')`).Scan(&org))
			require.Empty(t, org)
		}
	})

	t.Run("TheFirstStatementTravelsWithBeginUnderTheTenant", func(t *testing.T) {
		t.Parallel()
		a, b := newOrg(t), newOrg(t)
		rctx, rtx, rows, err := app.BeginRequestWith(ctx, a, `SELECT id::text, name FROM organizations WHERE name = $1 ORDER BY id`, "Req")
		require.NoError(t, err)
		require.Equal(t, [][]any{{a.OrgID.String(), "Req"}}, rows, "RLS shows only the tenant's row, not %s", b.OrgID)
		require.NoError(t, rename(rctx, a, "with-first"))
		require.NoError(t, rtx.Commit(rctx))
		require.Equal(t, "with-first", nameOf(t, a))

		_, _, _, err = app.BeginRequestWith(ctx, a, `SELECT 1/$1::int`, 0)
		require.ErrorIs(t, err, database.ErrInvalidValue, "a failing first statement is an error, and the transaction is gone")
	})
}
