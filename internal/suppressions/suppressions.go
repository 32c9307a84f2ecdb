// Package suppressions is the organisation's suppression list: email
// addresses, whole email domains and phone numbers that LeadPilot must
// never contact, each with a reason and a source. Every send re-checks it
// and every import and lead creation skips what it holds.
//
// Values are stored as internal/contact normalises them, so a check is an
// equality: an address is suppressed when it, or its domain, is listed; a
// phone number (SMS and WhatsApp alike) when it is listed in E.164.
//
// How other domains check (see Check and NotSuppressedSQL):
//
//   - An import's INSERT … SELECT from its staging table adds
//     NotSuppressedSQL("s.email", "s.phone", "s.whatsapp") to its WHERE, so
//     suppressed rows never reach leads, in the same statement; to "say
//     so", it counts the rows that condition left out (or runs Check on
//     them) and reports them as skipped with their reason.
//   - Lead creation, one at a time, calls Check with the normalised contact
//     in its transaction and refuses (or skips) on a hit.
//   - The send worker's re-check may call the SQL function is_suppressed(email,
//     VARIADIC phones) in its claim query.
//
// Who may do what: every member (and API key) may list and add, since
// adding only ever stops contact; removing, which would let LeadPilot write
// to someone who asked it not to, needs an admin.
package suppressions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Reasons an entry can have (the table's CHECK).
var Reasons = []string{"unsubscribe", "bounce", "complaint", "manual", "stop_reply", "classification"}

// DefaultReason is the reason of an entry added without one.
const DefaultReason = "manual"

// Suppression is one entry of the list as the API shows it.
type Suppression struct {
	ID        uuid.UUID
	Kind      contact.Kind
	Value     string
	Reason    string
	Source    *string
	CreatedAt time.Time
}

type row struct {
	bun.BaseModel `bun:"table:suppressions"`

	ID        uuid.UUID `bun:"id,pk,type:uuid"`
	OrgID     uuid.UUID `bun:"org_id,type:uuid"`
	Kind      string    `bun:"kind"`
	Value     string    `bun:"value"`
	Reason    string    `bun:"reason"`
	Source    *string   `bun:"source"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

func (r row) key() uuid.UUID { return r.ID }

func (r row) view() Suppression {
	return Suppression{ID: r.ID, Kind: contact.Kind(r.Kind), Value: r.Value, Reason: r.Reason, Source: r.Source, CreatedAt: r.CreatedAt}
}

// Service manages suppression lists.
type Service struct {
	db *database.DB
}

// NewService returns a Service on db.
func NewService(db *database.DB) *Service { return &Service{db: db} }

// Filter narrows a list. Zero values filter nothing.
type Filter struct {
	Kind   contact.Kind
	Reason string
	// Prefix matches values that start with it, compared in the stored
	// (lower-case) form.
	Prefix string
}

// List pages through the list, newest first.
func (s *Service) List(ctx context.Context, a access.Actor, f Filter, p pagination.Page) ([]Suppression, *string, error) {
	var rows []row
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().Model((*row)(nil)).Where("org_id = ?", a.OrgID)
		if f.Kind != "" {
			q = q.Where("kind = ?", string(f.Kind))
		}
		if f.Reason != "" {
			q = q.Where("reason = ?", f.Reason)
		}
		if f.Prefix != "" {
			q = q.Where("value LIKE ?", likePrefix(strings.ToLower(strings.TrimSpace(f.Prefix))))
		}
		rows, next, err = pagination.Scan(ctx, q, "id", p, row.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("suppressions: list: %w", err)
	}
	out := make([]Suppression, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}

// likePrefix escapes LIKE's wildcards in p and appends one.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

// New is an entry to add.
type New struct {
	// Kind is email, domain or phone; empty guesses it from Value
	// (contact.Guess).
	Kind  contact.Kind
	Value string
	// Reason defaults to DefaultReason.
	Reason string
	// Source says where the entry came from; defaults to "api".
	Source string
	// Region (ISO-2) reads a phone number written without a country code.
	Region string
}

// Add puts an entry on the list, normalised. Adding what is already there
// changes nothing and returns the existing entry with created false: the
// caller wanted the value suppressed, and it is (the API answers 200).
func (s *Service) Add(ctx context.Context, a access.Actor, n New) (Suppression, bool, error) {
	r, err := prepare(a.OrgID, n)
	if err != nil {
		return Suppression{}, false, err
	}
	created := false
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewInsert().Model(&r).On("CONFLICT (org_id, kind, value) DO NOTHING").Returning("created_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("suppressions: add %s %s: %w", r.Kind, r.Value, database.Interpret(err))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			created = true
			return record(ctx, tx, a.OrgID, events.SuppressionCreated, []row{r})
		}
		err = tx.NewSelect().Model(&r).Where("org_id = ? AND kind = ? AND value = ?", a.OrgID, r.Kind, r.Value).Scan(ctx)
		if err != nil {
			return fmt.Errorf("suppressions: add %s %s: read existing: %w", r.Kind, r.Value, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Suppression{}, false, err
	}
	return r.view(), created, nil
}

// AddInTx puts an entry on org's list in tx (the caller's: an unsubscribe,
// a bounce), normalised, with suppression.created when it is new. Adding
// what is there changes nothing. It reports whether it was new.
func AddInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, n New) (bool, error) {
	r, err := prepare(org, n)
	if err != nil {
		return false, err
	}
	res, err := tx.NewInsert().Model(&r).On("CONFLICT (org_id, kind, value) DO NOTHING").Returning("created_at").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("suppressions: add %s %s: %w", r.Kind, r.Value, database.Interpret(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, record(ctx, tx, org, events.SuppressionCreated, []row{r})
	}
	return false, nil
}

// AddManyInTx puts entries on org's list in tx in one statement (the
// caller's transaction: a batch of unsubscribes or bounces), normalised,
// with one suppression.created per entry that is new, in the order of
// ns. Entries already listed, or repeated in ns, change nothing. It
// returns how many were new. An invalid entry fails the whole call
// before anything is written, as AddInTx would for it.
func AddManyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, ns []New) (int, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	type key struct{ kind, value string }
	seen := make(map[key]bool, len(ns))
	var ids []uuid.UUID
	var kinds, values, reasons, sources []string
	for _, n := range ns {
		r, err := prepare(org, n)
		if err != nil {
			return 0, err
		}
		if k := (key{r.Kind, r.Value}); !seen[k] {
			seen[k] = true
			ids, kinds, values, reasons, sources = append(ids, r.ID), append(kinds, r.Kind), append(values, r.Value), append(reasons, r.Reason), append(sources, *r.Source)
		}
	}
	var added []row
	// WITH ORDINALITY keeps the entries' order for their events.
	err := tx.NewRaw(`WITH ins AS (
			INSERT INTO suppressions (id, org_id, kind, value, reason, source)
			SELECT v.id, ?, v.kind, v.value, v.reason, v.source
			FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[]) AS v (id, kind, value, reason, source)
			ON CONFLICT (org_id, kind, value) DO NOTHING
			RETURNING *)
		SELECT ins.* FROM ins JOIN unnest(?::uuid[]) WITH ORDINALITY AS o (id, n) ON o.id = ins.id ORDER BY o.n`,
		org, pgdialect.Array(ids), pgdialect.Array(kinds), pgdialect.Array(values), pgdialect.Array(reasons), pgdialect.Array(sources),
		pgdialect.Array(ids)).Scan(ctx, &added)
	if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
		return 0, fmt.Errorf("suppressions: add %d: %w", len(ids), err)
	}
	if len(added) == 0 {
		return 0, nil
	}
	return len(added), record(ctx, tx, org, events.SuppressionCreated, added)
}

// prepare validates and normalises n into a row with a new id.
func prepare(org uuid.UUID, n New) (row, error) {
	var fields fault.Fields
	kind := n.Kind
	if kind == "" {
		kind = contact.Guess(n.Value)
	} else if !kind.Valid() {
		fields.Add("/kind", "invalid_kind", "must be email, domain or phone")
	}
	reason := n.Reason
	if reason == "" {
		reason = DefaultReason
	} else if !validReason(reason) {
		fields.Add("/reason", "invalid_reason", "must be one of "+strings.Join(Reasons, ", "))
	}
	source := strings.TrimSpace(n.Source)
	if source == "" {
		source = "api"
	} else if len(source) > 200 {
		fields.Add("/source", "too_long", "must be at most 200 bytes")
	}
	value, p, ok := contact.Normalise(kind, n.Value, n.Region)
	if kind.Valid() && !ok {
		fields.Add("/value", p.Code, p.Message)
	}
	if err := fields.Err(); err != nil {
		return row{}, err
	}
	return row{ID: uuid.Must(uuid.NewV7()), OrgID: org, Kind: string(kind), Value: value, Reason: reason, Source: &source}, nil
}

func validReason(r string) bool {
	for _, x := range Reasons {
		if r == x {
			return true
		}
	}
	return false
}

// Remove takes an entry off the list (admins only): LeadPilot may then
// contact the address, domain or number again.
func (s *Service) Remove(ctx context.Context, a access.Actor, id uuid.UUID) error {
	if err := a.RequireAdmin("remove suppressions"); err != nil {
		return err
	}
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var gone []row
		err := tx.NewDelete().Model(&gone).Where("org_id = ? AND id = ?", a.OrgID, id).Returning("*").Scan(ctx)
		if err != nil {
			return fmt.Errorf("suppressions: remove %s: %w", id, database.Interpret(err))
		}
		if len(gone) == 0 {
			return fault.NotFound("suppression")
		}
		return record(ctx, tx, a.OrgID, events.SuppressionDeleted, gone)
	})
}

// record writes one event of type t per entry, with the entry as the API
// returns it, in tx: the transaction of the change.
func record(ctx context.Context, tx bun.IDB, org uuid.UUID, t events.Type, rows []row) error {
	batch := make([]events.New, len(rows))
	for i, r := range rows {
		batch[i] = events.New{Type: t, ObjectID: r.ID, Data: r.view().Resource()}
	}
	if _, err := events.RecordBatch(ctx, tx, org, batch); err != nil {
		return fmt.Errorf("suppressions: %w", err)
	}
	return nil
}

// Contact is one person's normalised contact values, as internal/contact
// returns them; empty fields are not checked.
type Contact struct {
	Email  string
	Phones []string
}

// Hit is a contact found on the list: Index is its position in the slice
// given to Check, Suppression the entry that matched (an address entry
// before a domain entry before a phone entry).
type Hit struct {
	Index       int
	Suppression Suppression
}

// Check looks contacts up in one query, in tx (a tenant transaction: the
// caller's, so it sees what the caller's own statements wrote), and
// returns those that are suppressed, in order. Use it before inserting
// leads one by one, or to tell a user which rows an import skipped and
// why; inside a set-based INSERT … SELECT use NotSuppressedSQL instead.
func Check(ctx context.Context, tx bun.IDB, contacts []Contact) ([]Hit, error) {
	if len(contacts) == 0 {
		return nil, nil
	}
	// The keys each contact could be listed under, computed here so that
	// the query compares columns only: sup.value = k.value is texteq
	// between two columns, which row-level security lets into an index
	// probe of suppressions_org_value_kind_key (see NotSuppressedSQL).
	var idx []int
	var kinds, values []string
	key := func(i int, kind, value string) {
		if value != "" {
			idx, kinds, values = append(idx, i+1), append(kinds, kind), append(values, value)
		}
	}
	for i, c := range contacts {
		email := strings.ToLower(c.Email)
		key(i, "email", email)
		if at := strings.LastIndexByte(email, '@'); at >= 0 {
			key(i, "domain", email[at+1:])
		}
		for _, p := range c.Phones {
			key(i, "phone", p)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	var out []hitRow
	err := tx.NewRaw(`
		SELECT DISTINCT ON (k.i) k.i - 1 AS i, s.id, s.kind, s.value, s.reason, s.source, s.created_at
		  FROM unnest(?::int[], ?::text[], ?::text[]) AS k(i, kind, value)
		  JOIN suppressions s ON s.org_id = app_current_org_id() AND s.kind = k.kind AND s.value = k.value
		 ORDER BY k.i, array_position(ARRAY['email', 'domain', 'phone'], s.kind)`,
		pgIntArray(idx), pgArray(kinds), pgArray(values)).Scan(ctx, &out)
	if err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
		return nil, fmt.Errorf("suppressions: check %d contacts: %w", len(contacts), database.Interpret(err))
	}
	hits := make([]Hit, len(out))
	for i, o := range out {
		hits[i] = Hit{Index: o.I, Suppression: row{ID: o.ID, Kind: o.Kind, Value: o.Value, Reason: o.Reason, Source: o.Source, CreatedAt: o.CreatedAt}.view()}
	}
	return hits, nil
}

// NotSuppressedSQL is a SQL condition that is true when no entry of the
// current organisation's list (app.org_id) suppresses the row: emailExpr
// is an address normalised by contact.Email (or NULL; it is lower-cased
// again, so a leads.email stored with its case still matches), phoneExprs
// E.164 numbers (or NULL). The expressions are written into the SQL as
// given, so they must be the program's own column references ("s.email"),
// never input.
//
// The row's keys (kind, value) are a lateral VALUES list joined to
// suppressions on equality, so each key is one probe of
// suppressions_org_value_kind_key, also under row-level security (the
// service's role). Postgres lets a qual of a table with a policy into an
// index scan only when it cannot leak values (leakproof operators over
// the table's columns): "sup.value = k.value" is texteq between two
// columns, whereas "sup.value = lower(s.email)" calls lower(), which is
// not marked leakproof, so that form (and an OR of such pairs) made the
// planner read the organisation's whole list for every staged row.
func NotSuppressedSQL(emailExpr string, phoneExprs ...string) string {
	var b strings.Builder
	b.WriteString("NOT EXISTS (SELECT 1 FROM (VALUES ('email', lower(" + emailExpr + ")), ('domain', split_part(lower(" + emailExpr + "), '@', 2))")
	for _, p := range phoneExprs {
		b.WriteString(", ('phone', " + p + ")")
	}
	b.WriteString(") AS sup_key (kind, value) JOIN suppressions sup ON sup.org_id = app_current_org_id() AND sup.value = sup_key.value AND sup.kind = sup_key.kind)")
	return b.String()
}

// pgIntArray writes ns as a Postgres integer array literal.
func pgIntArray(ns []int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteByte('}')
	return b.String()
}

// arrayElementEscaper escapes a text array element: built once, as a
// strings.Replacer builds its tables on first use (per call, it was a
// tenth of the send worker's CPU).
var arrayElementEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// pgArray writes ss as a Postgres text array literal.
func pgArray(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(arrayElementEscaper.Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

type hitRow struct {
	I         int       `bun:"i"`
	ID        uuid.UUID `bun:"id"`
	Kind      string    `bun:"kind"`
	Value     string    `bun:"value"`
	Reason    string    `bun:"reason"`
	Source    *string   `bun:"source"`
	CreatedAt time.Time `bun:"created_at"`
}
