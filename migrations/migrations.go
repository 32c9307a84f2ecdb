// Package migrations embeds the ordered SQL migrations that `leadpilot
// migrate` applies with bun's migrator. Files are named
// <timestamp>_<name>.tx.up.sql / .tx.down.sql so each runs in one
// transaction; `--bun:split` separates statement groups. One that builds
// or drops indexes CONCURRENTLY on a large table (which no transaction
// may hold) is <timestamp>_<name>.up.sql / .down.sql: its groups run one
// by one, each its own implicit transaction, and it says how to resume
// after a failure.
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

// Files are the migration files, also hashed by tests to name their template.
//
//go:embed *.sql
var Files embed.FS

// New returns the migration set.
func New() (*migrate.Migrations, error) {
	m := migrate.NewMigrations()
	if err := m.Discover(Files); err != nil {
		return nil, err
	}
	return m, nil
}
