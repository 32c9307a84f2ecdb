// Package leadimports runs lead imports (issue 7): a CSV file uploaded
// through the API is stored with its import row, and a background task
// streams it through leadimport.Open into leads, in batches, counting what
// it inserted, what repeated an earlier row of the file, what the campaign
// already held, what was suppressed and what was invalid.
//
// An import may instead name an https URL (CreateFromURL): the task first
// downloads it, through a client whose dialer refuses private, loopback
// and link-local addresses (fetch.go), and stores it like an upload.
//
// The file is stored in the database (lead_import_files, 1 MiB chunks)
// rather than under DATA_DIR so that `serve` and `worker` may run as
// separate processes on separate machines.
//
// Run is idempotent on redelivery: a finished import (completed, failed,
// cancelled) does nothing; a running one resumes. Every batch commits its
// leads, its rejected rows and its counts in one transaction, and rows_seen
// says how many data rows are done, so a redelivered task skips that many
// rows (re-reading them only to rebuild the set of addresses seen) and
// carries on: no lead is inserted or counted twice. The file is read and
// classified one batch ahead, in a goroutine, while the batch before it is
// written; the batches are still written one at a time, in order, by Run.
package leadimports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimport"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// ChunkBytes is the size of one stored piece of an uploaded file.
const ChunkBytes = 1 << 20

// MaxFileBytes is the largest file an import accepts.
const MaxFileBytes = 256 << 20

// DefaultBatchSize is how many data rows a batch of Run handles. 20,000
// was no faster in .ci/bench-leads (200,000 rows: worker run 34.6 s
// against 33.9 s) and raised the worker's peak RSS from 97 to 134 MB, as
// Run holds two batches (the one written, the next one read).
const DefaultBatchSize = 5000

// Statuses of an import.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Enqueuer starts the background run of an import. Package jobs implements
// it; the payload carries the ids only.
type Enqueuer interface {
	EnqueueLeadImport(ctx context.Context, orgID, importID uuid.UUID) error
}

// Service creates, runs and reads lead imports.
type Service struct {
	db           *database.DB
	enqueuer     Enqueuer
	batchSize    int
	maxFileBytes int64
	// http downloads the files of URL imports; see NewFetchClient.
	http             *http.Client
	fetchTimeout     time.Duration
	maxFetchAttempts int
	// afterBatch, when set (tests), runs after each committed batch.
	afterBatch func(n int)
}

// NewService builds the service. enqueuer may be nil (nothing is
// enqueued: tests run Run themselves). URL imports are downloaded with
// NewFetchClient() (public addresses only), within DefaultFetchTimeout.
func NewService(db *database.DB, enqueuer Enqueuer) *Service {
	return &Service{db: db, enqueuer: enqueuer, batchSize: DefaultBatchSize, maxFileBytes: MaxFileBytes,
		http: NewFetchClient(), fetchTimeout: DefaultFetchTimeout, maxFetchAttempts: DefaultMaxFetchAttempts}
}

// WithHTTPClient returns a copy of s that downloads URL imports with c
// (tests: NewFetchClient with an allow-list and a test server's roots).
func (s *Service) WithHTTPClient(c *http.Client) *Service {
	cp := *s
	if c != nil {
		cp.http = c
	}
	return &cp
}

// WithFetchTimeout returns a copy of s whose downloads of URL imports
// (request, redirects and body) must end within d.
func (s *Service) WithFetchTimeout(d time.Duration) *Service {
	c := *s
	if d > 0 {
		c.fetchTimeout = d
	}
	return &c
}

// WithMaxFileBytes returns a copy of s that refuses files (uploaded or
// downloaded) larger than n bytes instead of MaxFileBytes.
func (s *Service) WithMaxFileBytes(n int64) *Service {
	c := *s
	if n > 0 {
		c.maxFileBytes = n
	}
	return &c
}

// WithBatchSize returns a copy of s whose Run handles n rows per batch.
func (s *Service) WithBatchSize(n int) *Service {
	c := *s
	if n > 0 {
		c.batchSize = n
	}
	return &c
}

// WithAfterBatch returns a copy of s that calls fn(batch number, from 1)
// after each committed batch of Run; for tests of cancellation.
func (s *Service) WithAfterBatch(fn func(n int)) *Service {
	c := *s
	c.afterBatch = fn
	return &c
}

// Counts say what happened to the rows of an import so far.
type Counts struct {
	RowsSeen         int `bun:"rows_seen"`
	Inserted         int `bun:"inserted"`
	DuplicatesInFile int `bun:"duplicates_in_file"`
	AlreadyPresent   int `bun:"already_present"`
	Invalid          int `bun:"invalid"`
	Suppressed       int `bun:"suppressed"`
	// InOtherCampaign counts rows skipped because the contact is a lead of
	// another campaign of the organisation (SkipIfInOtherCampaign).
	InOtherCampaign int `bun:"in_other_campaign"`
}

// Import is the view of one import.
type Import struct {
	ID         uuid.UUID
	CampaignID *uuid.UUID
	// SkipIfInOtherCampaign is the option of that name.
	SkipIfInOtherCampaign bool
	Status                string
	Mapping               map[string]string
	FileName              string
	FileBytes             int64
	// SourceURL is the https URL the file is downloaded from ("" for an
	// upload); a Google Sheets link is stored as its CSV export URL.
	SourceURL  string
	Counts     Counts
	Error      string
	CreatedBy  *uuid.UUID
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

type importRow struct {
	bun.BaseModel `bun:"table:lead_imports"`

	ID         uuid.UUID         `bun:"id,pk"`
	OrgID      uuid.UUID         `bun:"org_id"`
	CampaignID *uuid.UUID        `bun:"campaign_id"`
	Status     string            `bun:"status"`
	Mapping    map[string]string `bun:"mapping,type:jsonb"`
	Options    map[string]any    `bun:"options,type:jsonb"`
	FileName   *string           `bun:"file_name"`
	FileBytes  int64             `bun:"file_bytes"`
	// SourceURL, FetchedAt and FetchAttempts belong to URL imports: the
	// file is downloaded by Run (fetch.go), once.
	SourceURL     *string    `bun:"source_url"`
	FetchedAt     *time.Time `bun:"fetched_at"`
	FetchAttempts int        `bun:"fetch_attempts"`
	Counts
	Error      *string    `bun:"error"`
	CreatedBy  *uuid.UUID `bun:"created_by"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,default:now()"`
	StartedAt  *time.Time `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

func (r importRow) key() uuid.UUID { return r.ID }

func (r importRow) skipInOtherCampaign() bool {
	b, _ := r.Options[optSkipInOtherCampaign].(bool)
	return b
}

func (r importRow) view() Import {
	v := Import{ID: r.ID, CampaignID: r.CampaignID, Status: r.Status, Mapping: r.Mapping, FileBytes: r.FileBytes,
		Counts: r.Counts, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if v.Mapping == nil {
		v.Mapping = map[string]string{}
	}
	v.SkipIfInOtherCampaign = r.skipInOtherCampaign()
	if r.FileName != nil {
		v.FileName = *r.FileName
	}
	if r.Error != nil {
		v.Error = *r.Error
	}
	if r.SourceURL != nil {
		v.SourceURL = *r.SourceURL
	}
	return v
}

// Create stores the file read from body and a queued import of it into
// campaignID (nil: no campaign) in one transaction, and enqueues its run
// once that transaction has committed. Any member or API key may. mapping overrides the automatic
// header mapping (see leadimport.Options.Mapping).
func (s *Service) Create(ctx context.Context, a access.Actor, campaignID *uuid.UUID, mapping map[string]string, fileName string, body io.Reader, opts ...Option) (Import, error) {
	mapping, err := validMapping(mapping)
	if err != nil {
		return Import{}, err
	}
	// Refuse what is not a CSV lead file now, not in the worker.
	head, err := readHead(body)
	if err != nil {
		return Import{}, fmt.Errorf("leadimports: create: read: %w", err)
	}
	if len(head) == 0 {
		return Import{}, fault.BadRequest("empty_file", "the file is empty")
	}
	if err := checkHead(head, mapping); err != nil {
		// The same answers as the preview's.
		if errors.Is(err, leadimport.ErrNotCSV) {
			return Import{}, fault.Invalid(fault.FieldError{Field: "/file", Code: "not_csv", Message: err.Error()})
		}
		return Import{}, fault.Invalid(fault.FieldError{Field: "/file", Code: "unreadable", Message: err.Error()})
	}
	row := newRow(a, campaignID, mapping, fileName, opts...)
	r := io.MultiReader(bytes.NewReader(head), body)
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := insertRow(ctx, tx, &row); err != nil {
			return err
		}
		total, err := storeFile(ctx, tx, a.OrgID, row.ID, r, s.maxFileBytes)
		if errors.Is(err, errFileTooLarge) {
			return fault.BadRequest("file_too_large", tooLargeText(s.maxFileBytes))
		}
		if err != nil {
			return fmt.Errorf("leadimports: create %s: %w", row.ID, err)
		}
		row.FileBytes = total
		if _, err := tx.NewUpdate().Model(&row).Column("file_bytes").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("leadimports: create %s: %w", row.ID, database.Interpret(err))
		}
		return record(ctx, tx, events.ImportCreated, row)
	})
	if err != nil {
		return Import{}, err
	}
	s.enqueueAfterCommit(ctx, a.OrgID, row.ID)
	return row.view(), nil
}

// validMapping checks the mapping overrides (nil: none).
func validMapping(mapping map[string]string) (map[string]string, error) {
	var f fault.Fields
	for h, field := range mapping {
		if field != "skip" && !strings.HasPrefix(field, leadimport.CustomPrefix) && !leadimport.ValidField(field) {
			f.Add("/mapping/"+h, "invalid_field", "is not a lead field, custom.<key> or skip")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if mapping == nil {
		mapping = map[string]string{}
	}
	return mapping, nil
}

// headBytes is how much of a file is checked before it is stored.
const headBytes = 64 << 10

// readHead reads up to headBytes of r; a shorter file is not an error.
func readHead(r io.Reader) ([]byte, error) {
	head := make([]byte, headBytes)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// checkHead says whether the first bytes of a file open as a CSV lead
// file; the error wraps leadimport.ErrNotCSV when they do not.
func checkHead(head []byte, mapping map[string]string) error {
	_, err := leadimport.Open(bytes.NewReader(head), leadimport.Options{Mapping: mapping})
	return err
}

// newRow is a queued import of actor a.
// Option is a choice made when an import is created, kept in its options.
type Option func(map[string]any)

// optSkipInOtherCampaign is the options key of SkipIfInOtherCampaign.
const optSkipInOtherCampaign = "skip_if_in_other_campaign"

// SkipIfInOtherCampaign makes the import skip (and count, and list among
// the rejected rows) a contact whose address or phone number is already a
// lead in another campaign of the organisation, as lead creation's option
// of the same name refuses one.
func SkipIfInOtherCampaign(skip bool) Option {
	return func(o map[string]any) {
		if skip {
			o[optSkipInOtherCampaign] = true
		}
	}
}

func newRow(a access.Actor, campaignID *uuid.UUID, mapping map[string]string, fileName string, opts ...Option) importRow {
	row := importRow{ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, CampaignID: campaignID, Status: StatusQueued,
		Mapping: mapping, Options: map[string]any{}}
	for _, o := range opts {
		o(row.Options)
	}
	if fileName != "" {
		row.FileName = &fileName
	}
	if a.UserID != uuid.Nil {
		row.CreatedBy = &a.UserID
	}
	return row
}

// insertRow inserts row; a campaign of another organisation (or none) is
// not found.
func insertRow(ctx context.Context, tx bun.IDB, row *importRow) error {
	if _, err := tx.NewInsert().Model(row).Returning("created_at").Exec(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrReference) {
			return fault.NotFound("campaign")
		}
		return fmt.Errorf("leadimports: create %s: %w", row.ID, err)
	}
	return nil
}

// record writes the import's event in tx, the change's transaction, with
// the import as the API returns it.
func record(ctx context.Context, tx bun.IDB, t events.Type, row importRow) error {
	if _, err := events.Record(ctx, tx, row.OrgID, events.New{Type: t, ObjectID: row.ID, Data: row.view().Resource()}); err != nil {
		return fmt.Errorf("leadimports: %w", err)
	}
	return nil
}

// errFileTooLarge is storeFile's answer to a file past its limit.
var errFileTooLarge = errors.New("leadimports: the file is too large")

// storeFile writes what r yields into lead_import_files for import id of
// orgID, in ChunkBytes pieces, and returns the byte count. Past max bytes
// it stops with errFileTooLarge. Uploads (Create) and downloads (Run's
// fetch) are stored by this one loop.
func storeFile(ctx context.Context, tx bun.IDB, orgID, id uuid.UUID, r io.Reader, max int64) (int64, error) {
	buf := make([]byte, ChunkBytes)
	var total int64
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			total += int64(n)
			if total > max {
				return total, errFileTooLarge
			}
			if _, err := tx.NewRaw(`INSERT INTO lead_import_files (org_id, import_id, seq, data) VALUES (?, ?, ?, ?)`,
				orgID, id, seq, buf[:n]).Exec(ctx); err != nil {
				return total, fmt.Errorf("store chunk %d: %w", seq, database.Interpret(err))
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("read: %w", rerr)
		}
	}
}

// tooLargeText says a file is larger than max bytes, in MiB when whole.
func tooLargeText(max int64) string {
	if max >= 1<<20 && max%(1<<20) == 0 {
		return fmt.Sprintf("the file is larger than %d MiB", max>>20)
	}
	return fmt.Sprintf("the file is larger than %d bytes", max)
}

// enqueueAfterCommit enqueues the run of import id once the caller's
// transaction has committed.
func (s *Service) enqueueAfterCommit(ctx context.Context, orgID, id uuid.UUID) {
	if s.enqueuer == nil {
		return
	}
	database.AfterCommit(ctx, func(ctx context.Context) {
		// A lost enqueue leaves the import queued until the import sweep
		// (jobs.TypeRowRunSweep) enqueues it again, a minute on; the
		// error is not the caller's, so it is logged.
		if err := s.enqueuer.EnqueueLeadImport(database.Detach(ctx), orgID, id); err != nil {
			slog.ErrorContext(ctx, "leadimports: enqueue failed; the import stays queued until the sweep enqueues it", "import_id", id, "org_id", orgID, "err", err)
		}
	})
}

func getRow(ctx context.Context, tx bun.IDB, orgID, id uuid.UUID, lock bool) (importRow, error) {
	var row importRow
	q := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return importRow{}, fault.NotFound("import")
		}
		return importRow{}, fmt.Errorf("leadimports: get %s: %w", id, err)
	}
	return row, nil
}

// Get returns one import with its progress.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Import, error) {
	var out Import
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, false)
		out = row.view()
		return err
	})
	return out, err
}

// List returns a page of the organisation's imports, newest first.
func (s *Service) List(ctx context.Context, a access.Actor, p pagination.Page) ([]Import, *string, error) {
	var out []Import
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model((*importRow)(nil)).Where("org_id = ?", a.OrgID)
		rows, n, err := pagination.Scan(ctx, q, "id", p, importRow.key)
		if err != nil {
			return fmt.Errorf("leadimports: list: %w", err)
		}
		next = n
		out = make([]Import, len(rows))
		for i, r := range rows {
			out[i] = r.view()
		}
		return nil
	})
	return out, next, err
}

// Cancel stops a queued or running import: the run stops before its next
// batch, keeping the leads of the batches already done. Cancelling a
// finished import is a conflict; cancelling a cancelled one changes nothing.
func (s *Service) Cancel(ctx context.Context, a access.Actor, id uuid.UUID) (Import, error) {
	var out Import
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		switch row.Status {
		case StatusCancelled:
		case StatusQueued, StatusRunning:
			if err := tx.NewRaw(`UPDATE lead_imports SET status = 'cancelled', finished_at = now() WHERE org_id = ? AND id = ? RETURNING *`,
				a.OrgID, id).Scan(ctx, &row); err != nil {
				return fmt.Errorf("leadimports: cancel %s: %w", id, database.Interpret(err))
			}
			if err := record(ctx, tx, events.ImportCancelled, row); err != nil {
				return err
			}
		default:
			return fault.Conflict("import_finished", "the import is "+row.Status+"; only a queued or running import can be cancelled")
		}
		out = row.view()
		return nil
	})
	return out, err
}

// Errors writes the rejected rows of an import as CSV (line, reason,
// message, row) to w, in line order. A row that starts like a formula is
// prefixed with a quote.
func (s *Service) Errors(ctx context.Context, a access.Actor, id uuid.UUID, w io.Writer) error {
	type rej struct {
		Line    int    `bun:"line"`
		Raw     string `bun:"raw"`
		Reason  string `bun:"reason"`
		Message string `bun:"message"`
	}
	var rows []rej
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if _, err := getRow(ctx, tx, a.OrgID, id, false); err != nil {
			return err
		}
		if err := tx.NewSelect().Table("lead_import_rows_rejected").Column("line", "raw", "reason", "message").
			Where("org_id = ? AND import_id = ?", a.OrgID, id).Order("line").Scan(ctx, &rows); err != nil {
			return fmt.Errorf("leadimports: errors %s: %w", id, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "reason", "message", "row"})
	for _, r := range rows {
		_ = cw.Write([]string{fmt.Sprint(r.Line), r.Reason, r.Message, leadimport.SafeCell(r.Raw)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("leadimports: errors %s: write: %w", id, err)
	}
	return nil
}

// jsonText marshals v for a jsonb column staged as text.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
