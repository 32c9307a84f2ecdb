package database

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// Bulk loads under row-level security.
//
// Postgres refuses COPY FROM into a table with row-level security enabled
// ("COPY FROM not supported with row-level security"), and every tenant
// table has it. Inserting row by row, or in multi-row VALUES batches, is
// an order of magnitude slower for an import of a hundred thousand leads.
// So a bulk load goes in two steps inside one tenant transaction:
//
//  1. pgx CopyFrom into a temporary staging table, which has no policies
//     (it lives in the session's own temporary schema, invisible to every
//     other session);
//  2. one set-based INSERT … SELECT … FROM staging into the real table,
//     which row-level security checks like any insert: a row for another
//     organisation fails the statement. The same statement deduplicates
//     (ON CONFLICT) and filters (suppressions, say) in one pass.
//
// COPY needs the pgx connection itself, which database/sql only lends out
// through sql.Conn.Raw. InTenantBulk therefore runs its transaction on a
// dedicated connection and gives fn a BulkTx: a bun.Tx for ordinary
// statements plus the copy on the same connection and transaction.

// BulkTx is a tenant transaction that can also COPY. Use it from one
// goroutine at a time, like any transaction.
type BulkTx struct {
	bun.Tx
	conn bun.Conn
}

// InTenantBulk is InTenant for work that bulk-loads: fn runs in a
// transaction whose row-level security context is t, on a connection of
// its own, and can COPY through the BulkTx. The transaction commits when
// fn returns nil and rolls back otherwise.
func (db *DB) InTenantBulk(ctx context.Context, t Tenant, fn func(ctx context.Context, tx BulkTx) error) error {
	if t.OrgID == uuid.Nil {
		return ErrNoTenant
	}
	conn, err := db.Bun.Conn(ctx)
	if err != nil {
		return fmt.Errorf("database: bulk: connection: %w", err)
	}
	defer conn.Close()
	ctx = Detach(ctx) // its own connection and transaction, never a request's
	return conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := setTenant(ctx, tx, t); err != nil {
			return err
		}
		return fn(ctx, BulkTx{Tx: tx, conn: conn})
	})
}

// CopyFrom copies rows into table with the COPY protocol, in the
// transaction, and returns how many were copied. table must not have
// row-level security (Postgres refuses): copy into a staging table, or
// use Load, which does both steps.
func (tx BulkTx) CopyFrom(ctx context.Context, table string, columns []string, rows pgx.CopyFromSource) (int64, error) {
	var n int64
	// Raw lends the driver connection only for the callback, under a lock
	// the bun.Tx also takes, so the two never run at once.
	err := tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx's", dc)
		}
		var err error
		n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, rows)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("database: copy into %s: %w", table, err)
	}
	return n, nil
}

// BulkColumn is one column of a staging table.
type BulkColumn struct {
	// Name is the column name.
	Name string
	// Type is its SQL type, as written in CREATE TABLE ("text", "uuid",
	// "jsonb"). It is trusted SQL from the program, never user input.
	Type string
}

// BulkLoad describes one staged load.
type BulkLoad struct {
	// Staging names the temporary table the rows are copied into. It is
	// created by Load and dropped when Load returns, so one transaction
	// may run several loads, one after another.
	Staging string
	// Columns define the staging table, in the order of each row's values.
	// Leave out what the INSERT fills itself (org_id from
	// app_current_org_id(), defaults), so the input cannot claim it.
	Columns []BulkColumn
	// Rows are the values, one slice per row in Columns order:
	// pgx.CopyFromRows, pgx.CopyFromSlice, or a source that streams.
	Rows pgx.CopyFromSource
	// Insert moves the staged rows into the real table with one
	// statement, INSERT … SELECT … FROM <Staging> [ON CONFLICT …], under
	// the tenant's row-level security. It is run through bun, so its
	// placeholders are "?", filled from Args.
	Insert string
	// Args fill Insert's placeholders.
	Args []any
}

// BulkResult counts a load's rows.
type BulkResult struct {
	// Staged is how many rows were copied into the staging table.
	Staged int64
	// Inserted is how many rows Insert wrote (its rows affected): fewer
	// than Staged when ON CONFLICT or a WHERE left some out.
	Inserted int64
}

// Load runs l: it creates the staging table, copies l.Rows into it and
// runs l.Insert, all in tx. An error leaves the transaction failed, so fn
// should return it; a row that row-level security refuses fails the whole
// Insert (SQLSTATE 42501), it is never silently dropped.
func (tx BulkTx) Load(ctx context.Context, l BulkLoad) (BulkResult, error) {
	var res BulkResult
	if l.Staging == "" || len(l.Columns) == 0 || l.Rows == nil || strings.TrimSpace(l.Insert) == "" {
		return res, errors.New("database: bulk load: staging table, columns, rows and insert are required")
	}
	staging := pgx.Identifier{l.Staging}.Sanitize()
	defs := make([]string, len(l.Columns))
	names := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		defs[i] = pgx.Identifier{c.Name}.Sanitize() + " " + c.Type
		names[i] = c.Name
	}
	// A temporary table hides a table of the same name for the rest of the
	// session (pg_temp comes first in the search path), so an unlucky
	// name would turn the INSERT into the real table into one into the
	// staging table. Refuse any name already in use.
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT to_regclass(?) IS NOT NULL`, staging).Scan(&taken); err != nil {
		return res, fmt.Errorf("database: bulk load: check %s: %w", l.Staging, err)
	}
	if taken {
		return res, fmt.Errorf("database: bulk load: staging table name %q is already taken", l.Staging)
	}
	// ON COMMIT DROP also cleans up after a load whose DROP below never
	// ran because a statement failed.
	create := "CREATE TEMPORARY TABLE " + staging + " (" + strings.Join(defs, ", ") + ") ON COMMIT DROP"
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return res, fmt.Errorf("database: bulk load: create %s: %w", l.Staging, err)
	}
	staged, err := tx.CopyFrom(ctx, l.Staging, names, l.Rows)
	if err != nil {
		return res, fmt.Errorf("database: bulk load: %w", err)
	}
	res.Staged = staged
	r, err := tx.ExecContext(ctx, l.Insert, l.Args...)
	if err != nil {
		return res, fmt.Errorf("database: bulk load: insert from %s: %w", l.Staging, err)
	}
	if res.Inserted, err = r.RowsAffected(); err != nil {
		return res, fmt.Errorf("database: bulk load: insert from %s: %w", l.Staging, err)
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+staging); err != nil {
		return res, fmt.Errorf("database: bulk load: drop %s: %w", l.Staging, err)
	}
	return res, nil
}
