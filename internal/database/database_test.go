package database_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// bunTables are bun migrate's own bookkeeping, not tenant data.
var bunTables = map[string]bool{"bun_migrations": true, "bun_migration_locks": true}

func tables(t *testing.T, db *database.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(),
		`SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		if !bunTables[n] {
			out = append(out, n)
		}
	}
	require.NoError(t, rows.Err())
	return out
}

func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	owner := testkit.OwnerDB(t)
	app := testkit.DB(t)
	ctx := context.Background()

	t.Run("EveryTableHasRowLevelSecurity", func(t *testing.T) {
		t.Parallel()
		rows, err := owner.Pool.Query(ctx, `SELECT relname FROM pg_class
			WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND NOT relrowsecurity`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			require.True(t, bunTables[n], "table %s has no row-level security", n)
		}
		// The whole product schema is there, not just what auth needs.
		require.Subset(t, tables(t, owner), []string{
			"organizations", "users", "memberships", "sequence_templates", "autopilot_sessions", "email_accounts",
			"messaging_accounts", "campaigns", "leads", "sequences", "messages", "inbox_messages",
			"notifications", "scraping_jobs", "suppressions", "refresh_tokens", "invites", "api_keys", "idempotency_keys",
		})
	})

	t.Run("EveryPolicyIsBoundToTheTenant", func(t *testing.T) {
		t.Parallel()
		// Each table's policies must name the org (or, for people, the
		// user) set for the transaction; a policy like USING (true) would
		// open a table to every tenant even with RLS enabled.
		rows, err := owner.Pool.Query(ctx, `
			SELECT c.relname, count(p.policyname),
			       coalesce(bool_and(CASE WHEN p.cmd = 'INSERT' THEN p.with_check ~ 'app_current_(org|user)_id\(\)'
			                              ELSE coalesce(p.qual, '') ~ 'app_current_(org|user)_id\(\)' END), false),
			       coalesce(bool_and(p.with_check IS NULL OR p.with_check ~ 'app_current_(org|user)_id\(\)'), false)
			FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.schemaname = 'public'
			WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
			GROUP BY c.relname`)
		require.NoError(t, err)
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var table string
			var n int
			var usingOK, checkOK bool
			require.NoError(t, rows.Scan(&table, &n, &usingOK, &checkOK))
			if bunTables[table] {
				continue
			}
			seen++
			require.Positive(t, n, "%s has no policy (RLS on, nothing visible: or a forgotten table)", table)
			require.True(t, usingOK, "%s has a policy not bound to app_current_org_id()/app_current_user_id()", table)
			require.True(t, checkOK, "%s has a WITH CHECK not bound to the tenant", table)
		}
		require.NoError(t, rows.Err())
		require.GreaterOrEqual(t, seen, 19)
	})

	// Two organisations with a user, membership and API key each.
	orgA, orgB := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for i, org := range []uuid.UUID{orgA, orgB} {
		user := uuid.Must(uuid.NewV7())
		_, err := owner.Pool.Exec(ctx, `
			WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'Org', $3) RETURNING id),
			     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id),
			     m AS (INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u RETURNING id)
			INSERT INTO api_keys (id, org_id, name, prefix, key_hash) SELECT $6, o.id, 'k', 'lp_x', $7 FROM o`,
			org, user, "rls-"+org.String(), "rls"+org.String()+"@example.com", uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()),
			[]byte{byte(i), 1, 2, 3}, // unique hash
		)
		require.NoError(t, err)
	}

	t.Run("WithoutAnOrgSetEveryTenantTableIsEmpty", func(t *testing.T) {
		t.Parallel()
		for _, table := range tables(t, owner) {
			var n int
			require.NoError(t, app.Pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n), table)
			require.Zero(t, n, "%s shows rows to the app role with no organisation set", table)
		}
		var total int
		require.NoError(t, owner.Pool.QueryRow(ctx, "SELECT count(*) FROM organizations").Scan(&total))
		require.GreaterOrEqual(t, total, 2, "the rows are there for the owner")
	})

	t.Run("InATenantOnlyThatOrgsRowsShowAndOthersCannotBeWritten", func(t *testing.T) {
		t.Parallel()
		err := app.InTenant(ctx, database.Tenant{OrgID: orgA}, func(ctx context.Context, tx bun.IDB) error {
			var orgs, keys int
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM organizations").Scan(&orgs))
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM api_keys").Scan(&keys))
			require.Equal(t, 1, orgs)
			require.Equal(t, 1, keys)
			res, err := tx.ExecContext(ctx, "UPDATE api_keys SET name = 'hijacked' WHERE org_id = ?", orgB)
			require.NoError(t, err)
			n, _ := res.RowsAffected()
			require.Zero(t, n)
			return nil
		})
		require.NoError(t, err)
		err = app.InTenant(ctx, database.Tenant{OrgID: orgA}, func(ctx context.Context, tx bun.IDB) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, name, prefix, key_hash) VALUES (?, ?, 'x', 'lp_', '\xff')`,
				uuid.Must(uuid.NewV7()), orgB)
			return err
		})
		require.ErrorContains(t, err, "row-level security")
	})

	t.Run("TheTenantSettingDoesNotOutliveItsTransaction", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, app.InTenant(ctx, database.Tenant{OrgID: orgA}, func(context.Context, bun.IDB) error { return nil }))
		for range 4 { // every pooled connection
			var n int
			require.NoError(t, app.Pool.QueryRow(ctx, "SELECT count(*) FROM organizations").Scan(&n))
			require.Zero(t, n)
		}
	})

	t.Run("TheAppRoleCannotWidenThePurge", func(t *testing.T) {
		t.Parallel()
		// A purge "from the future" with a negative retention is clamped
		// to what the schedule does: live sessions and invites stay.
		invite := uuid.Must(uuid.NewV7())
		_, err := owner.Pool.Exec(ctx, `
			WITH u AS (SELECT user_id FROM memberships WHERE org_id = $1 LIMIT 1)
			INSERT INTO refresh_tokens (id, family_id, user_id, org_id, token_hash, expires_at)
			SELECT $2, $2, u.user_id, $1, $3, now() + interval '1 day' FROM u`,
			orgA, uuid.Must(uuid.NewV7()), []byte("purge-clamp-test"))
		require.NoError(t, err)
		_, err = owner.Pool.Exec(ctx, `INSERT INTO invites (id, org_id, email, role, token_hash, expires_at)
			VALUES ($1, $2, 'clamp@example.com', 'member', $3, now() + interval '1 day')`, invite, orgA, []byte("purge-clamp-invite"))
		require.NoError(t, err)
		_, err = app.Pool.Exec(ctx, `SELECT * FROM maint_purge_expired(now() + interval '100 years', interval '-100 years')`)
		require.NoError(t, err)
		var tokens, invites int
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE token_hash = $1`, []byte("purge-clamp-test")).Scan(&tokens))
		require.NoError(t, owner.Pool.QueryRow(ctx, `SELECT count(*) FROM invites WHERE id = $1`, invite).Scan(&invites))
		require.Equal(t, 1, tokens)
		require.Equal(t, 1, invites)
	})

	t.Run("EndingSessionsNeedsATenantAndStaysInIt", func(t *testing.T) {
		t.Parallel()
		_, err := app.Pool.Exec(ctx, `SELECT auth_end_member_sessions($1)`, uuid.Must(uuid.NewV7()))
		require.ErrorContains(t, err, "needs app.org_id")
	})

	t.Run("NoTenantIsAnError", func(t *testing.T) {
		t.Parallel()
		err := app.InTenant(ctx, database.Tenant{}, func(context.Context, bun.IDB) error { return nil })
		require.ErrorIs(t, err, database.ErrNoTenant)
	})

	t.Run("TheServiceRefusesARoleThatBypassesRLS", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, app.CheckRole(ctx))
		var super bool
		require.NoError(t, owner.Pool.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super))
		if super { // the local default login is a superuser; a dedicated owner role may not be
			require.ErrorContains(t, owner.CheckRole(ctx), "bypasses row-level security")
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: testkit.EmptyDatabase(t)})
	require.NoError(t, err)
	t.Cleanup(db.Close)

	require.ErrorContains(t, database.SchemaCurrent(ctx, db.Bun), "migrate up")
	m, err := database.NewMigrator(db.Bun)
	require.NoError(t, err)

	applied, err := m.Up(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, applied)
	require.NoError(t, database.SchemaCurrent(ctx, db.Bun))
	again, err := m.Up(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "up is idempotent")

	// Down takes the whole group away and leaves an empty schema.
	_, err = m.Down(ctx)
	require.NoError(t, err)
	require.Empty(t, tables(t, db))
	require.ErrorContains(t, database.SchemaCurrent(ctx, db.Bun), "pending")

	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.NoError(t, database.SchemaCurrent(ctx, db.Bun))
	_, pending, err := m.Status(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
}
