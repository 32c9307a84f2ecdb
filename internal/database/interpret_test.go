package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestInterpret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.OwnerDB(t)
	sentinels := []error{database.ErrNotFound, database.ErrConflict, database.ErrReference, database.ErrCheck, database.ErrInvalidValue}

	// run executes stmt in a rolled-back transaction with a scratch table
	// and returns the error Postgres gave.
	run := func(t *testing.T, stmt string, args ...any) error {
		t.Helper()
		tx, err := db.Bun.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		_, err = tx.ExecContext(ctx, `CREATE TEMPORARY TABLE parent (id int PRIMARY KEY);
			CREATE TEMPORARY TABLE scratch (id int PRIMARY KEY, name text NOT NULL, n smallint CHECK (n >= 0),
			  parent_id int REFERENCES parent (id));
			INSERT INTO scratch (id, name) VALUES (1, 'one')`)
		require.NoError(t, err)
		if stmt == "select-none" {
			var n int
			return tx.NewSelect().Table("scratch").Column("id").Where("id = 2").Scan(ctx, &n)
		}
		_, err = tx.ExecContext(ctx, stmt, args...)
		return err
	}

	for name, tc := range map[string]struct {
		stmt string
		args []any
		want error
	}{
		"NoRowsIsNotFound":                   {stmt: "select-none", want: database.ErrNotFound},
		"AUniqueViolationIsAConflict":        {stmt: `INSERT INTO scratch (id, name) VALUES (1, 'again')`, want: database.ErrConflict},
		"AMissingParentIsAReference":         {stmt: `INSERT INTO scratch (id, name, parent_id) VALUES (2, 'x', 9)`, want: database.ErrReference},
		"ACheckViolationIsACheck":            {stmt: `INSERT INTO scratch (id, name, n) VALUES (2, 'x', -1)`, want: database.ErrCheck},
		"ANullInANotNullIsACheck":            {stmt: `INSERT INTO scratch (id, name) VALUES (2, NULL)`, want: database.ErrCheck},
		"ANULCharacterIsAnInvalidValue":      {stmt: `INSERT INTO scratch (id, name) VALUES (2, convert_from('\x6100'::bytea, 'UTF8'))`, want: database.ErrInvalidValue},
		"ANULInJSONIsAnInvalidValue":         {stmt: `SELECT '"\u0000"'::jsonb`, want: database.ErrInvalidValue},
		"AnOutOfRangeNumberIsAnInvalidValue": {stmt: `INSERT INTO scratch (id, name, n) VALUES (2, 'x', 99999)`, want: database.ErrInvalidValue},
		"ADivisionByZeroIsAnInvalidValue":    {stmt: `SELECT 1 / 0`, want: database.ErrInvalidValue},
		"ASyntaxErrorIsNoneOfThem":           {stmt: `SELEKT 1`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw := run(t, tc.stmt, tc.args...)
			require.Error(t, raw)
			err := database.Interpret(raw)
			for _, s := range sentinels {
				require.Equal(t, s == tc.want, errors.Is(err, s), "%v is %v? (%v)", err, s, raw)
			}
			again := database.Interpret(err)
			require.Equal(t, err, again, "interpreting twice changes nothing")
		})
	}

	t.Run("NilStaysNil", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, database.Interpret(nil))
	})
	t.Run("TheConstraintIsNamed", func(t *testing.T) {
		t.Parallel()
		err := run(t, `INSERT INTO scratch (id, name) VALUES (1, 'again')`)
		require.True(t, database.IsConstraint(err, "scratch_pkey"))
		require.False(t, database.IsConstraint(err, "other"))
	})
}
