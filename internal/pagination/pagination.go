// Package pagination implements the keyset pagination every list endpoint
// uses. Ids are UUIDv7 (time-ordered), so "newest first" is "id
// descending", and a page continues strictly below the last id seen.
package pagination

import (
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

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
