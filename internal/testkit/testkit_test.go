package testkit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestTemplateCleanup(t *testing.T) {
	t.Parallel()

	// setup makes a stand-in template, and a connection that holds
	// lockSetup as Main and setup do before dropping anything.
	setup := func(t *testing.T) (string, *pgx.Conn) {
		t.Helper()
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, withDB(BaseURL(), "postgres"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = admin.Close(context.Background()) })
		name := fmt.Sprintf("leadpilot_tpl_cleanuptest_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		})
		_, err = admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockSetup)
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockSetup) })
		return name, admin
	}
	exists := func(t *testing.T, c *pgx.Conn, name string) bool {
		t.Helper()
		var ok bool
		require.NoError(t, c.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok))
		return ok
	}
	share := func(t *testing.T, name string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(context.Background(), withDB(BaseURL(), "postgres"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		_, err = c.Exec(context.Background(), `SELECT pg_advisory_lock_shared($1, hashtext($2))`, lockTemplate, name)
		require.NoError(t, err)
		return c
	}

	t.Run("ATemplateSomeoneStillUsesIsKept", func(t *testing.T) {
		tpl, admin := setup(t)
		user := share(t, tpl)
		dropTemplateIfUnused(context.Background(), admin, tpl)
		require.True(t, exists(t, admin, tpl))

		// Once the last user lets go (as Main does, explicitly: a closed
		// session's locks are released only when its backend has ended),
		// it goes.
		_, err := user.Exec(context.Background(), `SELECT pg_advisory_unlock_shared($1, hashtext($2))`, lockTemplate, tpl)
		require.NoError(t, err)
		dropTemplateIfUnused(context.Background(), admin, tpl)
		require.False(t, exists(t, admin, tpl))
	})
	t.Run("StaleTemplatesAreDroppedButNotTheOneKept", func(t *testing.T) {
		stale, admin := setup(t)
		keep := stale + "_keep"
		_, err := admin.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{keep}.Sanitize())
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{keep}.Sanitize())
		})
		dropUnusedTemplates(context.Background(), admin, keep)
		require.False(t, exists(t, admin, stale))
		require.True(t, exists(t, admin, keep))
	})
}
