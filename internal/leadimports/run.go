package leadimports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/leadimport"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// errCancelled stops Run when the import was cancelled between batches.
var errCancelled = errors.New("leadimports: cancelled")

// errSuperseded stops Run when another run of the same import (a
// duplicate delivery) committed a batch first: its rows_seen is not where
// this run left it, and going on would count rows twice.
var errSuperseded = errors.New("leadimports: another run of the import is ahead")

// stagedCols are the staging table's columns, in the order of a staged row.
var stagedCols = []string{"id", "line", "raw", "email", "phone", "whatsapp", "timezone", "first_name", "last_name", "company", "job_title",
	"linkedin_url", "website", "city", "state", "country", "custom_fields"}

var stagedFields = [...]string{leadimport.FieldFirstName, leadimport.FieldLastName, leadimport.FieldCompany,
	leadimport.FieldJobTitle, leadimport.FieldLinkedInURL, leadimport.FieldWebsite, leadimport.FieldCity,
	leadimport.FieldState, leadimport.FieldCountry}

type rejected struct {
	line                int
	raw, reason, detail string
}

// stagedRow is a row for the staging table, in stagedCols order; an empty
// string is NULL (the reader keeps only non-empty values). Its values are
// boxed into a []any only while COPY encodes it, one row at a time.
type stagedRow struct {
	id                               uuid.UUID
	line                             int
	raw                              string
	email, phone, whatsapp, timezone string
	fields                           [9]string // stagedFields
	custom                           string
}

// copySource streams rows to CopyFrom through one reused []any.
type copySource struct {
	rows []stagedRow
	i    int
	v    []any
}

func (c *copySource) Next() bool { c.i++; return c.i <= len(c.rows) }
func (c *copySource) Err() error { return nil }
func (c *copySource) Values() ([]any, error) {
	r := &c.rows[c.i-1]
	v := append(c.v[:0], r.id, r.line, r.raw, null(r.email), null(r.phone), null(r.whatsapp), null(r.timezone))
	for _, f := range r.fields {
		v = append(v, null(f))
	}
	c.v = append(v, r.custom)
	return c.v, nil
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type batch struct {
	rows     []stagedRow
	rejected []rejected
	counts   Counts
}

// chunks reads an import's stored file one chunk at a time.
type chunks struct {
	ctx    context.Context
	db     *database.DB
	tenant database.Tenant
	id     uuid.UUID
	seq    int
	buf    *bytes.Reader
	done   bool
}

func (c *chunks) Read(p []byte) (int, error) {
	for c.buf == nil || c.buf.Len() == 0 {
		if c.done {
			return 0, io.EOF
		}
		var data [][]byte
		err := c.db.InTenant(c.ctx, c.tenant, func(ctx context.Context, tx bun.IDB) error {
			return tx.NewSelect().Table("lead_import_files").Column("data").
				Where("import_id = ? AND seq = ?", c.id, c.seq).Scan(ctx, &data)
		})
		if err != nil {
			return 0, fmt.Errorf("leadimports: read file %s chunk %d: %w", c.id, c.seq, database.Interpret(err))
		}
		if len(data) == 0 {
			c.done = true
			continue
		}
		c.seq++
		c.buf = bytes.NewReader(data[0])
	}
	return c.buf.Read(p)
}

// Run imports the stored file of import id of organisation orgID: the
// worker's task. See the package documentation for what a redelivery does.
func (s *Service) Run(ctx context.Context, orgID, id uuid.UUID) error {
	t := database.Tenant{OrgID: orgID}
	var row importRow
	var orgCountry string // the organisation's default_country, read once per run
	err := s.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		var err error
		if row, err = getRow(ctx, tx, orgID, id, true); err != nil {
			return err
		}
		if row.Status != StatusQueued && row.Status != StatusRunning {
			return nil
		}
		org, err := orgs.GetOrganization(ctx, tx, orgID)
		if err != nil {
			return err
		}
		orgCountry = org.Settings.DefaultCountry
		// A URL import not yet downloaded counts this delivery's attempt.
		err = tx.NewRaw(`UPDATE lead_imports SET status = 'running', started_at = coalesce(started_at, now()),
				fetch_attempts = fetch_attempts + CASE WHEN source_url IS NOT NULL AND fetched_at IS NULL THEN 1 ELSE 0 END
			WHERE org_id = ? AND id = ? RETURNING fetch_attempts`, orgID, id).Scan(ctx, &row.FetchAttempts)
		return database.Interpret(err)
	})
	if err != nil {
		return fmt.Errorf("leadimports: run %s: %w", id, err)
	}
	if row.Status != StatusQueued && row.Status != StatusRunning {
		return nil // finished: a redelivery does nothing
	}
	if row.SourceURL != nil && row.FetchedAt == nil {
		if err := s.fetch(ctx, t, row); err != nil {
			var fe *fetchError
			switch {
			case errors.Is(err, errFetchedElsewhere):
				// Another delivery stored the file (or the import was
				// cancelled): read what is stored, or stop at the first
				// flush's status check.
			case errors.As(err, &fe) && fe.transient && row.FetchAttempts < s.maxFetchAttempts:
				// Returned so that asynq retries the task, with backoff.
				return fmt.Errorf("leadimports: run %s: fetch (attempt %d of %d): %w", id, row.FetchAttempts, s.maxFetchAttempts, err)
			case fe != nil && fe.transient:
				return s.fail(ctx, t, id, fmt.Errorf("%w (after %d attempts)", fe, row.FetchAttempts))
			case fe != nil:
				return s.fail(ctx, t, id, fe)
			default:
				return fmt.Errorf("leadimports: run %s: fetch: %w", id, err)
			}
		}
	}
	skip := row.RowsSeen
	// The file is read and classified in a goroutine while the batch
	// before is written: the next batch is built, then waits to be taken
	// (unbuffered: two batches are held at most), while flush runs, so
	// Postgres's work and the Go side's overlap. Batches are flushed in the file's order, one at a time, here, so rows_seen,
	// the redelivery check and the cancel check are as when both ran in
	// turn. Returning (done, cancelled, superseded, a panic) cancels the
	// reading and waits for the goroutine to end.
	rctx, cancel := context.WithCancel(ctx)
	rd, err := leadimport.Open(&chunks{ctx: rctx, db: s.db, tenant: t, id: id}, leadimport.Options{Mapping: row.Mapping})
	if err != nil {
		cancel()
		return s.fail(ctx, t, id, err)
	}
	type ready struct {
		b   *batch
		err error // the reader's: the file cannot be read further
	}
	next := make(chan ready)
	go func() {
		defer close(next)
		err := readBatches(rd, skip, s.batchSize, orgCountry, func(b *batch) bool {
			select {
			case next <- ready{b: b}:
				return true
			case <-rctx.Done():
				return false
			}
		})
		if err != nil {
			select {
			case next <- ready{err: err}:
			case <-rctx.Done():
			}
		}
	}()
	defer func() {
		cancel()
		for range next { // until the goroutine has ended
		}
	}()
	done := skip // rows_seen as this run last committed it
	number := 0
	for r := range next {
		if r.err != nil {
			return s.fail(ctx, t, id, r.err)
		}
		full := r.b.counts.RowsSeen >= s.batchSize
		if err := s.flush(ctx, t, row, r.b, &done); err != nil {
			return s.stop(ctx, t, id, err)
		}
		if full {
			number++
			if s.afterBatch != nil {
				s.afterBatch(number)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		// The reading stopped because ctx ended: the file is not done.
		return fmt.Errorf("leadimports: run %s: %w", id, err)
	}
	err = s.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		var done []importRow
		err := tx.NewRaw(`UPDATE lead_imports SET status = 'completed', finished_at = now() WHERE org_id = ? AND id = ? AND status = 'running' RETURNING *`, orgID, id).Scan(ctx, &done)
		if err != nil || len(done) == 0 {
			return database.Interpret(err)
		}
		return record(ctx, tx, events.ImportCompleted, done[0])
	})
	if err != nil {
		return fmt.Errorf("leadimports: run %s: complete: %w", id, err)
	}
	return nil
}

// readBatches reads rd to its end, classifying every record, and hands
// emit each batch of batchSize data rows, then the last, shorter one
// (perhaps empty). The first skip rows were done by an earlier delivery:
// they are classified only to rebuild the set of identities seen. It
// stops when emit returns false, and returns the reader's error, if any
// (the batch it was filling is then dropped).
func readBatches(rd *leadimport.Reader, skip, batchSize int, orgCountry string, emit func(*batch) bool) error {
	seen := newKeySet()
	var enc rawEncoder
	b := &batch{}
	n := 0
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
		out := classify(rec, seen, orgCountry)
		if n <= skip {
			continue // done by an earlier delivery; only seen is rebuilt
		}
		b.add(rec, out, &enc)
		if b.counts.RowsSeen >= batchSize {
			if !emit(b) {
				return nil
			}
			b = &batch{rows: make([]stagedRow, 0, batchSize)}
		}
	}
	emit(b)
	return nil
}

// keySet is the set of identities (an email, else a phone number) seen in
// a file: 16 bytes per row, whatever the length of the address, where a
// set of the strings themselves held every address of the file.
//
// A key is the first 128 bits of the SHA-256 of the identity. Two distinct
// identities share a key with probability 2^-128 per pair: over a file of
// n rows about n²/2^129, which is 1.5e-27 for a million rows, so a row is
// never taken for a duplicate it is not; and finding a collision on
// purpose is as hard as for SHA-256 truncated to 128 bits (2^64 work), for
// a file that could only harm its own import.
type keySet struct {
	m   map[[16]byte]struct{}
	buf []byte
}

func newKeySet() *keySet { return &keySet{m: map[[16]byte]struct{}{}} }

// add inserts the key of kind and value and reports whether it was new.
func (ks *keySet) add(kind byte, value string) bool {
	ks.buf = append(append(ks.buf[:0], kind, ':'), value...)
	sum := sha256.Sum256(ks.buf)
	k := [16]byte(sum[:16])
	if _, dup := ks.m[k]; dup {
		return false
	}
	ks.m[k] = struct{}{}
	return true
}

// rawEncoder writes rows back as CSV lines, reusing its buffer and writer:
// a csv.Writer per row allocated a 4 KiB buffer for every row.
type rawEncoder struct {
	buf bytes.Buffer
	w   *csv.Writer
}

func (e *rawEncoder) line(fields []string) string {
	if e.w == nil {
		e.w = csv.NewWriter(&e.buf)
	}
	e.buf.Reset()
	_ = e.w.Write(fields)
	e.w.Flush()
	return strings.TrimRight(e.buf.String(), "\n")
}

// stop ends Run after a failed flush: cancelled, or superseded by
// another run that carries on, is not an error.
func (s *Service) stop(ctx context.Context, t database.Tenant, id uuid.UUID, err error) error {
	if errors.Is(err, errCancelled) || errors.Is(err, errSuperseded) {
		return nil
	}
	return fmt.Errorf("leadimports: run %s: %w", id, err)
}

// fail marks the import failed with err's message: the file cannot be
// read further, so retrying would not help.
func (s *Service) fail(ctx context.Context, t database.Tenant, id uuid.UUID, cause error) error {
	err := s.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		var failed []importRow
		err := tx.NewRaw(`UPDATE lead_imports SET status = 'failed', error = ?, finished_at = now() WHERE org_id = ? AND id = ? AND status = 'running' RETURNING *`,
			cause.Error(), t.OrgID, id).Scan(ctx, &failed)
		if err != nil || len(failed) == 0 {
			return database.Interpret(err)
		}
		return record(ctx, tx, events.ImportFailed, failed[0])
	})
	if err != nil {
		return fmt.Errorf("leadimports: run %s: mark failed: %w", id, err)
	}
	return nil
}

// outcome is what classify decided for one record.
type outcome struct {
	reason, detail string // rejected when reason is set
	email, phone   any
	whatsapp       any
	timezone       any
}

// classify decides a record's fate and remembers its identity in seen.
// orgCountry is the organisation's default_country: the region a phone
// number without a country code is read in when the row has no country.
//
// A lead is identified within its campaign by its email when it has one,
// else by its phone number (leads_org_campaign_email_key and
// leads_org_campaign_phone_key): a row repeating an earlier row's identity
// is a duplicate in the file. Rows with neither (a name, a LinkedIn URL,
// a WhatsApp number only) have no identity and are never duplicates.
func classify(rec leadimport.Record, seen *keySet, orgCountry string) outcome {
	for _, p := range rec.Problems {
		if rejects(p.Code) {
			return outcome{reason: p.Code, detail: p.Message}
		}
	}
	var o outcome
	region := contact.Region(rec.Fields[leadimport.FieldCountry], orgCountry)
	if v, ok := rec.Fields[leadimport.FieldPhone]; ok {
		n, p, ok := contact.Phone(v, region)
		if !ok {
			return outcome{reason: p.Code, detail: p.Message}
		}
		o.phone = n
	}
	if v, ok := rec.Fields[leadimport.FieldWhatsApp]; ok {
		n, p, ok := contact.Phone(v, region)
		if !ok {
			return outcome{reason: "invalid_whatsapp", detail: "the WhatsApp number " + p.Message}
		}
		o.whatsapp = n
	}
	if v, ok := rec.Fields[leadimport.FieldTimezone]; ok {
		// The rule of leads.Create: an IANA zone, and "Local" is the
		// server's, not the lead's. A row with a zone that is not one is
		// refused like one with a bad phone number, rather than imported
		// without it.
		if _, err := time.LoadLocation(v); err != nil || strings.EqualFold(v, "local") {
			return outcome{reason: "invalid_timezone", detail: "must be an IANA time zone such as Europe/Berlin"}
		}
		o.timezone = v
	}
	var kind byte
	var key, what string
	if e, ok := rec.Fields[leadimport.FieldEmail]; ok {
		// contact.Email made it trimmed, NFKC and lower-case (the reader).
		kind, key, what = 'e', strings.ToLower(e), "address"
		o.email = e
	} else if o.phone != nil {
		kind, key, what = 'p', o.phone.(string), "phone number (and no email)"
	}
	if kind != 0 && !seen.add(kind, key) {
		return outcome{reason: "duplicate_in_file", detail: "repeats the " + what + " of an earlier row"}
	}
	return o
}

// rejects reports whether a reader's problem rejects its row: no contact,
// or an address contact.Email refused. The others are warnings about a
// value the reader repaired: invalid_utf8 (the value was read as
// Windows-1252), nul_character, value_too_long and the column count ones.
func rejects(code string) bool {
	switch code {
	case "no_contact", "invalid_email":
		return true
	case "mixed_script":
		// contact.Email refusing the address, as the API does: the reader
		// then leaves the value as written, which is not the canonical
		// lower-case form leads.email holds (its CHECK).
		return true
	}
	return false
}

func (b *batch) add(rec leadimport.Record, o outcome, enc *rawEncoder) {
	b.counts.RowsSeen++
	raw := enc.line(rec.Raw)
	if o.reason != "" {
		if o.reason == "duplicate_in_file" {
			b.counts.DuplicatesInFile++
		} else {
			b.counts.Invalid++
		}
		b.rejected = append(b.rejected, rejected{line: rec.Line, raw: raw, reason: o.reason, detail: o.detail})
		return
	}
	r := stagedRow{id: uuid.Must(uuid.NewV7()), line: rec.Line, raw: raw,
		email: str(o.email), phone: str(o.phone), whatsapp: str(o.whatsapp), timezone: str(o.timezone)}
	for i, f := range stagedFields {
		r.fields[i] = rec.Fields[f]
	}
	var custom map[string]string
	for k, s := range rec.Fields {
		if key, ok := strings.CutPrefix(k, leadimport.CustomPrefix); ok {
			if custom == nil {
				custom = map[string]string{}
			}
			custom[key] = s
		}
	}
	r.custom = "{}"
	if custom != nil {
		r.custom = jsonText(custom)
	}
	b.rows = append(b.rows, r)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// flush writes a batch in one transaction: the leads, the rejected rows
// and the counts, unless the import was cancelled meanwhile or another run
// has committed past *done; *done advances when the batch commits.
func (s *Service) flush(ctx context.Context, t database.Tenant, row importRow, b *batch, done *int) error {
	defer func() { *b = batch{} }()
	if b.counts.RowsSeen == 0 {
		return nil
	}
	rows := b.counts.RowsSeen
	err := s.db.InTenantBulk(ctx, t, func(ctx context.Context, tx database.BulkTx) error {
		var status string
		var seen int
		if err := tx.NewRaw(`SELECT status, rows_seen FROM lead_imports WHERE org_id = ? AND id = ? FOR UPDATE`, t.OrgID, row.ID).Scan(ctx, &status, &seen); err != nil {
			return fmt.Errorf("status: %w", database.Interpret(err))
		}
		if status != StatusRunning {
			return errCancelled
		}
		if seen != *done {
			return errSuperseded
		}
		c := b.counts
		if len(b.rows) > 0 {
			defs := make([]string, len(stagedCols))
			for i, col := range stagedCols {
				typ := "text"
				switch col {
				case "id":
					typ = "uuid"
				case "line":
					typ = "integer"
				}
				defs[i] = col + " " + typ
			}
			if _, err := tx.ExecContext(ctx, `CREATE TEMPORARY TABLE lead_import_staged (`+strings.Join(defs, ", ")+`) ON COMMIT DROP`); err != nil {
				return fmt.Errorf("staging: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, "lead_import_staged", stagedCols, &copySource{rows: b.rows, v: make([]any, 0, len(stagedCols))}); err != nil {
				return err
			}
			// Suppressed rows go from the staging table to the rejected
			// rows, so the list is checked once per staged row, and not at
			// all when the organisation has none (the check is then pure
			// cost: a few index probes per row).
			var listed bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE org_id = app_current_org_id())`).Scan(&listed); err != nil {
				return fmt.Errorf("suppressions: %w", database.Interpret(err))
			}
			if listed {
				sup := suppressions.NotSuppressedSQL("s.email", "s.phone", "s.whatsapp")
				r, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM lead_import_staged s WHERE NOT (`+sup+`) RETURNING s.line, s.raw)
					INSERT INTO lead_import_rows_rejected (org_id, import_id, line, raw, reason, message)
					SELECT app_current_org_id(), ?, line, raw, 'suppressed', 'the address, its domain or the phone number is on the suppression list'
					FROM gone ON CONFLICT DO NOTHING`, row.ID)
				if err != nil {
					return fmt.Errorf("suppressed: %w", database.Interpret(err))
				}
				n, _ := r.RowsAffected()
				c.Suppressed += int(n)
			}
			if row.skipInOtherCampaign() {
				// Contacts already in another campaign go from the staging
				// table to the rejected rows. One EXISTS per identifier,
				// each an equality an index of leads answers
				// (leads_org_campaign_email_key, leads_org_phone_idx,
				// leads_org_whatsapp_idx) under row-level security.
				other := func(col, expr string) string {
					return `EXISTS (SELECT 1 FROM leads o WHERE o.org_id = app_current_org_id() AND o.` + col + ` = ` + expr + `
						AND o.campaign_id IS NOT NULL AND o.campaign_id IS DISTINCT FROM ?::uuid)`
				}
				elsewhere := other("email", "s.email") + " OR " + other("phone", "s.phone") + " OR " + other("whatsapp", "s.whatsapp")
				r, err := tx.ExecContext(ctx, `WITH gone AS (DELETE FROM lead_import_staged s WHERE `+elsewhere+` RETURNING s.line, s.raw)
					INSERT INTO lead_import_rows_rejected (org_id, import_id, line, raw, reason, message)
					SELECT app_current_org_id(), ?, line, raw, 'in_other_campaign', 'the contact is already a lead in another campaign of the organisation'
					FROM gone ON CONFLICT DO NOTHING`,
					row.CampaignID, row.CampaignID, row.CampaignID, row.ID)
				if err != nil {
					return fmt.Errorf("in other campaigns: %w", database.Interpret(err))
				}
				n, _ := r.RowsAffected()
				c.InOtherCampaign += int(n)
			}
			// A lead already in the campaign conflicts on its email key
			// (leads_org_campaign_email_key) or, without an email, on its
			// phone key (leads_org_campaign_phone_key). ON CONFLICT takes
			// one arbiter when it names one, so it names none: the other
			// unique indexes are on id, fresh from uuid.NewV7 here.
			// Each new lead gets its own lead.created only while an endpoint
			// listens for it; import.completed summarises the import
			// always. Otherwise a million-row import would write a million
			// events nobody reads (see the events catalogue).
			perLead, err := events.Subscribed(ctx, tx, t.OrgID, events.LeadCreated)
			if err != nil {
				return err
			}
			// Imported leads start approved or awaiting approval as the
			// campaign's approval mode says (leads.ApprovedOnArrival).
			approved, err := leads.ApprovedOnArrival(ctx, tx, t.OrgID, row.CampaignID)
			if err != nil {
				return err
			}
			insert := `INSERT INTO leads (id, org_id, campaign_id, email, phone, whatsapp, timezone, first_name,
					last_name, company, job_title, linkedin_url, website, city, state, country, custom_fields, source, is_approved)
				SELECT s.id, app_current_org_id(), ?::uuid, s.email, s.phone, s.whatsapp, s.timezone, s.first_name,
					s.last_name, s.company, s.job_title, s.linkedin_url, s.website, s.city, s.state, s.country, s.custom_fields::jsonb, 'csv_import', ?
				FROM lead_import_staged s
				ON CONFLICT DO NOTHING`
			var n int64
			if perLead {
				var ids []uuid.UUID
				if err := tx.NewRaw(insert+` RETURNING id`, row.CampaignID, approved).Scan(ctx, &ids); err != nil {
					return fmt.Errorf("insert leads: %w", database.Interpret(err))
				}
				if err := leads.RecordCreated(ctx, tx, t.OrgID, ids); err != nil {
					return err
				}
				n = int64(len(ids))
			} else {
				r, err := tx.ExecContext(ctx, insert, row.CampaignID, approved)
				if err != nil {
					return fmt.Errorf("insert leads: %w", database.Interpret(err))
				}
				n, _ = r.RowsAffected()
			}
			c.Inserted += int(n)
			c.AlreadyPresent += len(b.rows) - int(n) - c.Suppressed - c.InOtherCampaign
		}
		if len(b.rejected) > 0 {
			// One COPY and one INSERT … SELECT, not a statement per row.
			rj := b.rejected
			_, err := tx.Load(ctx, database.BulkLoad{
				Staging: "lead_import_rejected_staged",
				Columns: []database.BulkColumn{{Name: "line", Type: "integer"}, {Name: "raw", Type: "text"},
					{Name: "reason", Type: "text"}, {Name: "message", Type: "text"}},
				Rows: pgx.CopyFromSlice(len(rj), func(i int) ([]any, error) {
					return []any{rj[i].line, rj[i].raw, rj[i].reason, rj[i].detail}, nil
				}),
				Insert: `INSERT INTO lead_import_rows_rejected (org_id, import_id, line, raw, reason, message)
					SELECT app_current_org_id(), ?, line, raw, reason, message FROM lead_import_rejected_staged ON CONFLICT DO NOTHING`,
				Args: []any{row.ID},
			})
			if err != nil {
				return fmt.Errorf("rejected rows: %w", database.Interpret(err))
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE lead_imports SET rows_seen = rows_seen + ?, inserted = inserted + ?,
			duplicates_in_file = duplicates_in_file + ?, already_present = already_present + ?, invalid = invalid + ?,
			suppressed = suppressed + ?, in_other_campaign = in_other_campaign + ? WHERE org_id = ? AND id = ?`,
			c.RowsSeen, c.Inserted, c.DuplicatesInFile, c.AlreadyPresent, c.Invalid, c.Suppressed, c.InOtherCampaign, t.OrgID, row.ID)
		if err != nil {
			return fmt.Errorf("counts: %w", database.Interpret(err))
		}
		return nil
	})
	if err == nil {
		*done += rows
	}
	return err
}
