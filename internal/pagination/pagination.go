// Package pagination implements the keyset pagination every list endpoint
// uses. Ids are UUIDv7 (time-ordered), so "newest first" is "id
// descending", and a page continues strictly below the last id seen.
//
// A list is three steps: the handler parses the query (Parse), the store
// builds its scoped query and runs it for the page (Scan), the handler
// maps the rows and returns the cursor:
//
//	q := tx.NewSelect().Model((*leadRow)(nil)).Where("org_id = ?", a.OrgID)
//	rows, next, err := pagination.Scan(ctx, q, "id", p, leadRow.key)
package pagination

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// Limits on page size.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

const cursorPrefix = "v1:"

// Page asks for Limit rows with ids below Before (uuid.Nil: from the newest).
type Page struct {
	Limit  int
	Before uuid.UUID
}

// Parse turns the optional limit and cursor query values into a Page.
func Parse(limit *int, cursor *string) (Page, error) {
	p := Page{Limit: DefaultLimit}
	if limit != nil {
		if *limit < 1 || *limit > MaxLimit {
			return Page{}, fault.Invalid(fault.FieldError{Field: "/limit", Code: "out_of_range", Message: "must be between 1 and 100"})
		}
		p.Limit = *limit
	}
	if cursor != nil && *cursor != "" {
		id, err := decode(*cursor)
		if err != nil {
			return Page{}, fault.BadRequest("invalid_cursor", "cursor is not one this API returned")
		}
		p.Before = id
	}
	return p, nil
}

// Fetch is how many rows to read: one more than asked, to know whether a
// next page exists without a COUNT.
func (p Page) Fetch() int { return p.Limit + 1 }

// Trim cuts rows read with Fetch to the page and returns the cursor of the
// next page (nil on the last page). id extracts a row's id.
func Trim[T any](p Page, rows []T, id func(T) uuid.UUID) ([]T, *string) {
	if len(rows) <= p.Limit {
		return rows, nil
	}
	rows = rows[:p.Limit]
	c := Encode(id(rows[len(rows)-1]))
	return rows, &c
}

// TrimKeyed is Trim for a list ordered by more than its id (a keyed
// list): rows were read with limit+1, and cursor gives the next page's
// cursor from the page's last row.
func TrimKeyed[T any](limit int, rows []T, cursor func(T) string) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	c := cursor(rows[len(rows)-1])
	return rows, &c
}

// Apply restricts q to page p: rows whose idCol is below p.Before (all
// rows on the first page), newest first, and one more row than the page
// holds so Trim can tell whether another page follows. idCol is the
// UUIDv7 key column as the query names it ("id", or "m.id" in a join); it
// is written into the SQL, so it must be a constant, never input. Like
// every bun builder method, Apply changes q and returns it.
func Apply(q *bun.SelectQuery, idCol string, p Page) *bun.SelectQuery {
	if p.Before != uuid.Nil {
		q = q.Where("? < ?", bun.Safe(idCol), p.Before)
	}
	return q.OrderExpr("? DESC", bun.Safe(idCol)).Limit(int64(p.Fetch()))
}

// Scan runs q for page p (Apply), scans the rows into T and trims them to
// the page (Trim): the page's rows and the next page's cursor (nil on the
// last page). id extracts a row's key, the value of idCol. Database errors
// come back interpreted (database.Interpret).
func Scan[T any](ctx context.Context, q *bun.SelectQuery, idCol string, p Page, id func(T) uuid.UUID) ([]T, *string, error) {
	rows := make([]T, 0, p.Fetch())
	if err := Apply(q, idCol, p).Scan(ctx, &rows); err != nil {
		return nil, nil, fmt.Errorf("pagination: scan page: %w", database.Interpret(err))
	}
	rows, next := Trim(p, rows, id)
	return rows, next, nil
}

// Encode makes the opaque cursor for rows below id.
func Encode(id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id.String()))
}

func decode(s string) (uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return uuid.Nil, err
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return uuid.Nil, fault.BadRequest("invalid_cursor", "bad cursor")
	}
	return uuid.Parse(rest)
}

// Lists ordered by something before the id (notifications: unread first;
// inbox threads: latest activity) continue after a (key, id) position.
// Their cursors are made here too, so every cursor of the API is opaque,
// versioned by its list's prefix, and refused with the same 400 when it is
// not one the API returned.

// EncodeKeyed is the opaque cursor of position (key, id) in the list whose
// cursors start with prefix. key must not contain ':'.
func EncodeKeyed(prefix, key string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + key + ":" + id.String()))
}

// ParseKeyed turns the optional limit and cursor query values of a keyed
// list into the page size and, when a cursor is given, its position: the
// key as EncodeKeyed was given it and the id. decodeKey checks and
// converts the key; a cursor of another list, or whose key decodeKey
// refuses, is a 400 invalid_cursor.
func ParseKeyed[K any](limit *int, cursor *string, prefix string, decodeKey func(string) (K, bool)) (int, *K, uuid.UUID, error) {
	p, err := Parse(limit, nil)
	if err != nil || cursor == nil || *cursor == "" {
		return p.Limit, nil, uuid.Nil, err
	}
	bad := fault.BadRequest("invalid_cursor", "cursor is not one this API returned")
	b, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err != nil {
		return 0, nil, uuid.Nil, bad
	}
	rest, ok := strings.CutPrefix(string(b), prefix)
	if !ok {
		return 0, nil, uuid.Nil, bad
	}
	keyText, idText, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, uuid.Nil, bad
	}
	key, ok := decodeKey(keyText)
	id, err := uuid.Parse(idText)
	if !ok || err != nil {
		return 0, nil, uuid.Nil, bad
	}
	return p.Limit, &key, id, nil
}
