package templates

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// The list is ordered by usage then name, not by id, so its cursor carries
// the whole sort key of the last row (pagination.Page only knows ids).
const cursorPrefix = "tpl1:"

type cursor struct {
	Usage int       `json:"u"`
	Name  string    `json:"n"`
	ID    uuid.UUID `json:"i"`
}

// Page is one page request of List.
type Page struct {
	Limit int
	after *cursor
}

// ParsePage reads limit and cursor query parameters with the same limits
// and errors as pagination.Parse.
func ParsePage(limit *int, c *string) (Page, error) {
	base, err := pagination.Parse(limit, nil)
	if err != nil {
		return Page{}, err
	}
	p := Page{Limit: base.Limit}
	if c != nil && *c != "" {
		after, err := decodeCursor(*c)
		if err != nil {
			return Page{}, fault.BadRequest("invalid_cursor", "cursor is not one this API returned")
		}
		p.after = &after
	}
	return p, nil
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // a struct of plain fields always marshals
	return base64.RawURLEncoding.EncodeToString(append([]byte(cursorPrefix), b...))
}

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return cursor{}, fault.BadRequest("invalid_cursor", "bad cursor")
	}
	var c cursor
	if err := json.Unmarshal([]byte(rest), &c); err != nil {
		return cursor{}, err
	}
	if c.ID == uuid.Nil {
		return cursor{}, fault.BadRequest("invalid_cursor", "bad cursor")
	}
	return c, nil
}
