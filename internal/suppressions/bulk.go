package suppressions

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// MaxBulkErrors is how many invalid rows a bulk add describes; the rest
// are only counted.
const MaxBulkErrors = 100

// BulkOptions apply to every row of a bulk add.
type BulkOptions struct {
	// Reason for rows whose reason cell is empty (DefaultReason if empty).
	Reason string
	// Source of every row; defaults to "csv".
	Source string
	// Region reads phone numbers without a country code.
	Region string
}

// RowError says why one CSV line was not added.
type RowError struct {
	Line    int // 1-based line of the CSV (a header counts)
	Value   string
	Code    string
	Message string
}

// BulkResult counts what a bulk add did with every data row.
type BulkResult struct {
	Added          int
	AlreadyPresent int // on the list before
	Duplicates     int // repeats of an earlier row of the same file
	Invalid        int
	Errors         []RowError // the first MaxBulkErrors invalid rows
}

// staged is one valid, normalised row of a bulk add.
type staged struct{ kind, value, reason string }

// BulkAdd adds every row of a CSV to the list in one set-based statement.
//
// The CSV is UTF-8 (a byte-order mark is ignored), comma-separated, with
// columns value[,reason]. A first row whose first cell is "value",
// "kind", "reason", "email", "domain" or "phone" is a header: it may name a "reason" and a
// "kind" column in any order, and a value column named after a kind gives
// its values that kind; otherwise each value's kind is guessed (see
// contact.Guess). Other columns are ignored. Rows that
// do not normalise are counted and described (the first MaxBulkErrors);
// the others go in together, and what was already listed is left as it
// was. A CSV that cannot be parsed at all (an unterminated quote) is
// refused whole, naming the line.
func (s *Service) BulkAdd(ctx context.Context, a access.Actor, body io.Reader, o BulkOptions) (BulkResult, error) {
	var res BulkResult
	if o.Reason == "" {
		o.Reason = DefaultReason
	} else if !validReason(o.Reason) {
		return res, fault.Invalid(fault.FieldError{Field: "reason", Code: "invalid_reason", Message: "must be one of " + strings.Join(Reasons, ", ")})
	}
	if o.Source = strings.TrimSpace(o.Source); o.Source == "" {
		o.Source = "csv"
	} else if len(o.Source) > 200 {
		return res, fault.Invalid(fault.FieldError{Field: "source", Code: "too_long", Message: "must be at most 200 bytes"})
	}
	rows, err := parse(body, o, &res)
	if err != nil {
		return res, err
	}
	if len(rows) == 0 {
		return res, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
	}
	err = s.db.InTenantBulk(ctx, a.Tenant(), func(ctx context.Context, tx database.BulkTx) error {
		src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return []any{ids[i], rows[i].kind, rows[i].value, rows[i].reason}, nil
		})
		r, err := tx.Load(ctx, database.BulkLoad{
			Staging: "suppressions_staging",
			Columns: []database.BulkColumn{{Name: "id", Type: "uuid"}, {Name: "kind", Type: "text"}, {Name: "value", Type: "text"}, {Name: "reason", Type: "text"}},
			Rows:    src,
			Insert: `INSERT INTO suppressions (id, org_id, kind, value, reason, source)
				SELECT id, app_current_org_id(), kind, value, reason, ? FROM suppressions_staging
				ON CONFLICT (org_id, kind, value) DO NOTHING`,
			Args: []any{o.Source},
		})
		if err != nil {
			return fmt.Errorf("suppressions: bulk add: %w", database.Interpret(err))
		}
		res.Added = int(r.Inserted)
		res.AlreadyPresent = int(r.Staged - r.Inserted)
		if r.Inserted == 0 {
			return nil
		}
		// The new entries are those that kept the ids given them here.
		var added []row
		if err := tx.NewSelect().Model(&added).Where("org_id = ? AND id IN (?)", a.OrgID, bun.In(ids)).OrderExpr("id").Scan(ctx); err != nil {
			return fmt.Errorf("suppressions: bulk add: read back: %w", database.Interpret(err))
		}
		return record(ctx, tx, a.OrgID, events.SuppressionCreated, added)
	})
	if err != nil {
		return BulkResult{}, err
	}
	return res, nil
}

// parse reads the CSV into distinct valid rows, counting the rest in res.
func parse(body io.Reader, o BulkOptions, res *BulkResult) ([]staged, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("suppressions: bulk add: read: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fault.BadRequest("invalid_utf8", "the CSV is not valid UTF-8")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	col := map[string]int{"value": 0, "reason": 1, "kind": -1}
	var headerKind contact.Kind // set by a header naming the value column "email", "domain" or "phone"
	seen := map[staged]bool{}
	var out []staged
	invalid := func(line int, value, code, msg string) {
		res.Invalid++
		if len(res.Errors) < MaxBulkErrors {
			res.Errors = append(res.Errors, RowError{Line: line, Value: truncate(value, 200), Code: code, Message: msg})
		}
	}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, fault.Invalid(fault.FieldError{Field: "line " + strconv.Itoa(line), Code: "invalid_csv", Message: "the CSV cannot be read from this line on: " + err.Error()})
		}
		line, _ := r.FieldPos(0)
		if first && isHeader(rec[0]) {
			col = map[string]int{"value": -1, "reason": -1, "kind": -1}
			for i, h := range rec {
				h = strings.ToLower(strings.TrimSpace(h))
				if k := contact.Kind(h); k.Valid() && col["value"] < 0 {
					col["value"], headerKind = i, k // an "email" column holds addresses
					continue
				}
				if _, ok := col[h]; ok {
					col[h] = i
				}
			}
			continue
		}
		cell := func(name string) string {
			if i := col[name]; i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		value := cell("value")
		if value == "" {
			if len(rec) > 1 {
				invalid(line, "", "required", "the value is empty")
			}
			continue // a line of blanks
		}
		kind := contact.Kind(strings.ToLower(cell("kind")))
		if kind == "" && headerKind != "" {
			kind = headerKind
		} else if kind == "" {
			kind = contact.Guess(value)
		} else if !kind.Valid() {
			invalid(line, value, "invalid_kind", "kind must be email, domain or phone")
			continue
		}
		reason := cell("reason")
		if reason == "" {
			reason = o.Reason
		} else if reason = strings.ToLower(reason); !validReason(reason) {
			invalid(line, value, "invalid_reason", "reason must be one of "+strings.Join(Reasons, ", "))
			continue
		}
		norm, p, ok := contact.Normalise(kind, value, o.Region)
		if !ok {
			invalid(line, value, p.Code, p.Message)
			continue
		}
		k := staged{kind: string(kind), value: norm}
		if seen[k] {
			res.Duplicates++
			continue
		}
		seen[k] = true
		k.reason = reason
		out = append(out, k)
	}
	return out, nil
}

// isHeader reports whether a first cell names a column rather than holds
// a value: "value", "kind", "reason", or a kind ("email", "domain",
// "phone"); none of them is a valid value.
func isHeader(cell string) bool {
	c := strings.ToLower(strings.TrimSpace(cell))
	return c == "value" || c == "kind" || c == "reason" || contact.Kind(c).Valid()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
