package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// Column names one encrypted column for [Rotate]. Table must be spelled the
// way the application spells it when it calls [AAD] (unqualified, e.g.
// "email_accounts"), because the same string is both the identifier queried
// and part of every row's additional data.
type Column struct {
	Table    string
	IDColumn string
	Column   string
}

// AAD builds the additional data for a value stored in table.column of the
// row with the given id: "table.column:id". Every reader, writer and [Rotate]
// must use it so they agree byte for byte; binding the location means a
// ciphertext copied to another row or column fails to decrypt.
func AAD(table, column, id string) []byte {
	return []byte(table + "." + column + ":" + id)
}

// rotationRow is one candidate row; the id is read as text so any key type
// (uuid, bigint) produces the same string the application used in AAD.
type rotationRow struct {
	ID    string `bun:"id"`
	Value string `bun:"value"`
}

// Rotate re-encrypts, under k's current key, every non-NULL value in cols
// that is not already sealed with it, batch rows at a time, and returns how
// many rows it changed. Each row is updated only if it still holds the value
// that was read, so it is safe to run while the application writes; a row
// changed underneath it is picked up by a later batch or left alone if it is
// now current. It can be re-run at any time and stops as soon as a query
// finds nothing left to do.
//
// Rotate is cross-tenant maintenance: db must be a connection that sees every
// tenant's rows, i.e. the table owner or migration role, not the
// application's row-level-security role. Under RLS the query would quietly
// see one org (or none) and report success with other orgs still on the old
// key, which would then be unreadable once that key is dropped.
//
// A value that cannot be decrypted stops the sweep with an error naming the
// table, column and id (wrapping [ErrDecrypt], [ErrUnknownKey] or
// [ErrMalformed]) rather than selecting it forever.
func Rotate(ctx context.Context, db bun.IDB, k *Keyring, cols []Column, batch int) (int, error) {
	if k == nil {
		return 0, errors.New("secrets: rotate: nil keyring")
	}
	if batch <= 0 {
		return 0, fmt.Errorf("secrets: rotate: batch must be positive, got %d", batch)
	}
	total := 0
	for _, col := range cols {
		n, err := rotateColumn(ctx, db, k, col, batch)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// selectStale and updateValue are the two statements of the sweep. Values
// go through placeholders; identifiers through bun.Ident. ORDER BY keeps
// batches and error reports deterministic.
const (
	selectStale = `SELECT ?::text AS id, ? AS value FROM ?
WHERE ? IS NOT NULL AND ? NOT LIKE ? ESCAPE '!'
ORDER BY ? LIMIT ?`
	updateValue = `UPDATE ? SET ? = ? WHERE ? = ? AND ? = ?`
)

func rotateColumn(ctx context.Context, db bun.IDB, k *Keyring, col Column, batch int) (int, error) {
	if col.Table == "" || col.IDColumn == "" || col.Column == "" {
		return 0, fmt.Errorf("secrets: rotate: column %+v: table, id column and column are required", col)
	}
	where := col.Table + "." + col.Column
	table, id, value := bun.Ident(col.Table), bun.Ident(col.IDColumn), bun.Ident(col.Column)
	current := likePrefix(version + "." + k.CurrentKeyID() + ".")

	changed := 0
	for {
		var rows []rotationRow
		err := db.NewRaw(selectStale, id, value, table, value, value, current, id, batch).Scan(ctx, &rows)
		if err != nil {
			return changed, fmt.Errorf("secrets: rotate %s: select: %w", where, err)
		}
		if len(rows) == 0 {
			return changed, nil
		}
		progress := 0
		for _, row := range rows {
			fresh, ok, err := k.Reencrypt(row.Value, AAD(col.Table, col.Column, row.ID))
			if err != nil {
				return changed, fmt.Errorf("secrets: rotate %s id %s: %w", where, row.ID, err)
			}
			if !ok {
				// The select excludes current values, so this only happens if
				// the LIKE prefix and KeyID disagree; skipping it would loop.
				return changed, fmt.Errorf("secrets: rotate %s id %s: selected a value already on the current key", where, row.ID)
			}
			res, err := db.NewRaw(updateValue, table, value, fresh, id, row.ID, value, row.Value).Exec(ctx)
			if err != nil {
				return changed, fmt.Errorf("secrets: rotate %s id %s: update: %w", where, row.ID, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return changed, fmt.Errorf("secrets: rotate %s id %s: rows affected: %w", where, row.ID, err)
			}
			progress += int(n)
		}
		changed += progress
		if progress == 0 {
			// Every conditional update missed: the same rows would come back
			// next time. Stop rather than spin; a re-run resumes safely.
			return changed, fmt.Errorf("secrets: rotate %s: no row in batch could be updated (first id %s); rows changed concurrently, re-run", where, rows[0].ID)
		}
	}
}

// likePrefix turns a literal prefix into a LIKE pattern matching it. '_' is
// legal in key ids and is a LIKE wildcard: unescaped, current key "k_a"
// would also match "kxa" and leave those rows unrotated. '!' is the escape
// character so the pattern holds no backslashes, whose meaning depends on
// standard_conforming_strings.
func likePrefix(prefix string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(prefix) + "%"
}
