package database

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/leadpilot/leadpilot/migrations"
)

// Migrator applies the embedded migrations with bun. It must run as the
// schema owner (MIGRATE_DATABASE_URL), not as the RLS-bound app role.
type Migrator struct {
	m *migrate.Migrator
}

// NewMigrator prepares a migrator on db.
func NewMigrator(db *bun.DB) (*Migrator, error) {
	ms, err := migrations.New()
	if err != nil {
		return nil, fmt.Errorf("migrate: load: %w", err)
	}
	// Mark applied only after success: a failed migration must run again.
	return &Migrator{m: migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true))}, nil
}

// Up applies every pending migration under bun's lock and returns the
// names applied.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	if err := m.m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("migrate: lock (another migration running? `leadpilot migrate unlock` clears a stale lock): %w", err)
	}
	defer m.m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort; reported by `migrate status`
	group, err := m.m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: up: %w", err)
	}
	return names(group.Migrations), nil
}

// Down rolls back the last applied group.
func (m *Migrator) Down(ctx context.Context) ([]string, error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	if err := m.m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer m.m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	group, err := m.m.Rollback(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: down: %w", err)
	}
	return names(group.Migrations), nil
}

// Unlock clears a lock left by a migration that died.
func (m *Migrator) Unlock(ctx context.Context) error {
	if err := m.m.Init(ctx); err != nil {
		return err
	}
	return m.m.Unlock(ctx)
}

// Status lists applied and pending migrations.
func (m *Migrator) Status(ctx context.Context) (applied, pending []string, err error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, nil, fmt.Errorf("migrate: init: %w", err)
	}
	ms, err := m.m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: status: %w", err)
	}
	return names(ms.Applied()), names(ms.Unapplied()), nil
}

func names(ms migrate.MigrationSlice) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// SchemaCurrent reports an error naming the pending migrations when the
// database is behind the binary. It reads through the app's own connection:
// the first migration grants the app role SELECT on bun_migrations.
func SchemaCurrent(ctx context.Context, db *bun.DB) error {
	ms, err := migrations.New()
	if err != nil {
		return err
	}
	var applied []string
	if err := db.NewSelect().Table("bun_migrations").Column("name").Scan(ctx, &applied); err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return fmt.Errorf("database schema is not initialised: run `leadpilot migrate up` (or `make migrate`)")
		}
		return fmt.Errorf("database: read schema version: %w", err)
	}
	have := make(map[string]bool, len(applied))
	for _, a := range applied {
		have[a] = true
	}
	var pending []string
	for _, m := range ms.Sorted() {
		if !have[m.Name] {
			pending = append(pending, m.Name)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("database schema is behind this binary (pending: %s): run `leadpilot migrate up` (or `make migrate`)", strings.Join(pending, ", "))
	}
	return nil
}
