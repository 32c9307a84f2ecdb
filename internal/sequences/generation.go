package sequences

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/orgs"
)

// GenerationStatus is where a generation run is.
type GenerationStatus string

// The run statuses; the last three are final.
const (
	GenerationQueued    GenerationStatus = "queued"
	GenerationRunning   GenerationStatus = "running"
	GenerationCompleted GenerationStatus = "completed"
	GenerationCancelled GenerationStatus = "cancelled"
	GenerationFailed    GenerationStatus = "failed"
)

// Final reports whether the status can no longer change.
func (s GenerationStatus) Final() bool {
	return s == GenerationCompleted || s == GenerationCancelled || s == GenerationFailed
}

// MaxDescriptionLen bounds the free-text description of a generation.
const MaxDescriptionLen = 4000

// Generation is one run: "generate the campaign's sequences", with its
// progress.
type Generation struct {
	ID               uuid.UUID
	CampaignID       uuid.UUID
	Status           GenerationStatus
	Description      *string
	Total            int
	Done             int
	Failed           int
	PromptTokens     int64
	CompletionTokens int64
	LLMProvider      *string
	LLMModel         *string
	// EstimatedCostUSD is nil when the provider's price is not known.
	EstimatedCostUSD *float64
	Error            *string
	CreatedBy        *uuid.UUID
	StartedAt        *time.Time
	FinishedAt       *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// Failures are the leads that failed and why (at most MaxFailuresShown).
	Failures []Failure
}

// Failure is one lead a run could not generate for.
type Failure struct {
	LeadID uuid.UUID `bun:"lead_id"`
	Reason string    `bun:"reason"`
}

// MaxFailuresShown caps Generation.Failures.
const MaxFailuresShown = 100

type generationRow struct {
	bun.BaseModel `bun:"table:sequence_generations"`

	ID               uuid.UUID        `bun:"id,pk,type:uuid"`
	OrgID            uuid.UUID        `bun:"org_id,type:uuid"`
	CampaignID       uuid.UUID        `bun:"campaign_id,type:uuid"`
	Status           GenerationStatus `bun:"status"`
	Description      *string          `bun:"description"`
	Total            int              `bun:"total"`
	Done             int              `bun:"done"`
	Failed           int              `bun:"failed"`
	PromptTokens     int64            `bun:"prompt_tokens"`
	CompletionTokens int64            `bun:"completion_tokens"`
	LLMProvider      *string          `bun:"llm_provider"`
	LLMModel         *string          `bun:"llm_model"`
	Error            *string          `bun:"error"`
	CreatedBy        *uuid.UUID       `bun:"created_by,type:uuid"`
	StartedAt        *time.Time       `bun:"started_at"`
	FinishedAt       *time.Time       `bun:"finished_at"`
	CreatedAt        time.Time        `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt        time.Time        `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r generationRow) view(failures []Failure) Generation {
	g := Generation{
		ID: r.ID, CampaignID: r.CampaignID, Status: r.Status, Description: r.Description, Total: r.Total,
		Done: r.Done, Failed: r.Failed, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		LLMProvider: r.LLMProvider, LLMModel: r.LLMModel, Error: r.Error, CreatedBy: r.CreatedBy,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Failures: failures,
	}
	if g.Failures == nil {
		g.Failures = []Failure{}
	}
	if r.LLMProvider != nil && r.LLMModel != nil {
		g.EstimatedCostUSD = EstimateCost(*r.LLMProvider, *r.LLMModel, r.PromptTokens, r.CompletionTokens)
	}
	return g
}

// ProviderFor returns the organisation's language model, metered (an
// adapter over llmsettings.Service.For).
type ProviderFor func(ctx context.Context, orgID uuid.UUID) (llm.Provider, error)

// Enqueuer queues the run of a generation; *jobs.Enqueuer is one.
type Enqueuer interface {
	EnqueueGeneration(ctx context.Context, orgID, generationID uuid.UUID) error
}

// GeneratorOptions tune the generator; zero values take the defaults.
type GeneratorOptions struct {
	// Concurrency is how many model calls one organisation may have in
	// flight in this process (default 4; GENERATION_CONCURRENCY).
	Concurrency int
	// Backoff is the first wait after a rate limit (default 2s); it doubles
	// per consecutive limit on the same lead, up to MaxBackoff (default 1m).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// UnavailableRetries is how many times a lead is retried when the
	// provider is unavailable before it is marked failed (default 5).
	UnavailableRetries int
	Logger             *slog.Logger
}

// Generator creates, runs, reports and cancels generation runs, and
// previews sequences without saving them.
type Generator struct {
	db        *database.DB
	providers ProviderFor
	enq       Enqueuer
	opts      GeneratorOptions

	mu    sync.Mutex
	slots map[uuid.UUID]chan struct{} // per organisation, Concurrency each
}

// NewGenerator builds a generator. enq may be nil in a process that only
// runs generations (the worker).
func NewGenerator(db *database.DB, providers ProviderFor, enq Enqueuer, opts GeneratorOptions) *Generator {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.UnavailableRetries <= 0 {
		opts.UnavailableRetries = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Generator{db: db, providers: providers, enq: enq, opts: opts, slots: map[uuid.UUID]chan struct{}{}}
}

// slot returns the organisation's semaphore: every run of the org in this
// process shares it, so two campaigns generating at once still keep to
// Concurrency calls.
func (g *Generator) slot(org uuid.UUID) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slots[org]
	if !ok {
		s = make(chan struct{}, g.opts.Concurrency)
		g.slots[org] = s
	}
	return s
}

// Start creates a run for every approved lead of the campaign that has no
// sequence yet and queues it. A campaign without a template needs a
// description of what to write. One unfinished run per campaign (409
// generation_running); none while every lead left is awaiting approval
// (409 leads_awaiting_approval). The template's usage_count goes up with the
// campaign's first run only. A run with nothing to do completes at once.
func (g *Generator) Start(ctx context.Context, a access.Actor, campaignID uuid.UUID, description *string) (Generation, error) {
	if description != nil {
		d := strings.TrimSpace(*description)
		description = &d
		if d == "" {
			description = nil
		} else if len([]rune(d)) > MaxDescriptionLen {
			return Generation{}, fault.Invalid(fault.FieldError{Field: "description", Code: "too_long", Message: fmt.Sprintf("at most %d characters", MaxDescriptionLen)})
		}
	}
	var row generationRow
	err := g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var c struct {
			TemplateID *uuid.UUID `bun:"template_id,type:uuid"`
			Status     string     `bun:"status"`
		}
		// The campaign's lock serialises two starts of the same campaign.
		if err := tx.NewSelect().Table("campaigns").Column("template_id", "status").
			Where("org_id = ? AND id = ?", a.OrgID, campaignID).For("UPDATE").Scan(ctx, &c); err != nil {
			if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
				return fault.NotFound("campaign")
			}
			return fmt.Errorf("sequences: start on campaign %s: %w", campaignID, err)
		}
		if c.Status == "archived" {
			return fault.Conflict("campaign_archived", "an archived campaign cannot change any more")
		}
		if c.TemplateID == nil && description == nil {
			return fault.Invalid(fault.FieldError{Field: "description", Code: "required", Message: "the campaign has no template: describe what to write"})
		}
		var earlier int
		if err := tx.NewSelect().Table("sequence_generations").ColumnExpr("count(*)").
			Where("org_id = ? AND campaign_id = ?", a.OrgID, campaignID).Scan(ctx, &earlier); err != nil {
			return fmt.Errorf("sequences: earlier runs of %s: %w", campaignID, database.Interpret(err))
		}
		row = generationRow{ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, CampaignID: campaignID, Status: GenerationQueued, Description: description}
		if a.UserID != uuid.Nil {
			row.CreatedBy = &a.UserID
		}
		if _, err := tx.NewInsert().Model(&row).Returning("*").Exec(ctx); err != nil {
			err = database.Interpret(err)
			if errors.Is(err, database.ErrConflict) {
				return fault.Conflict("generation_running", "the campaign already has a generation queued or running; cancel it or wait")
			}
			return fmt.Errorf("sequences: start on campaign %s: %w", campaignID, err)
		}
		res, err := tx.NewRaw(`
			INSERT INTO sequence_generation_items (org_id, generation_id, lead_id)
			SELECT l.org_id, ?, l.id FROM leads l
			WHERE l.org_id = ? AND l.campaign_id = ? AND l.is_approved
			  AND NOT EXISTS (SELECT 1 FROM sequences s WHERE s.org_id = l.org_id AND s.lead_id = l.id)`,
			row.ID, a.OrgID, campaignID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("sequences: items of run %s: %w", row.ID, database.Interpret(err))
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			// Nothing to write for only because the list is not approved
			// yet: say so rather than complete an empty run.
			var waiting int
			if err := tx.NewRaw(`SELECT count(*) FROM leads WHERE org_id = ? AND campaign_id = ? AND NOT is_approved`,
				a.OrgID, campaignID).Scan(ctx, &waiting); err != nil {
				return fmt.Errorf("sequences: leads awaiting approval in %s: %w", campaignID, database.Interpret(err))
			}
			if waiting > 0 {
				return fault.Conflict("leads_awaiting_approval", fmt.Sprintf(
					"no approved lead of this campaign lacks a sequence, and %d await approval: approve them first (POST /v1/leads/bulk with action approve)", waiting))
			}
		}
		row.Total = int(n)
		q := tx.NewUpdate().Model(&row).Column("total").WherePK()
		if n == 0 {
			now := time.Now()
			row.Status, row.StartedAt, row.FinishedAt = GenerationCompleted, &now, &now
			q = q.Column("status", "started_at", "finished_at")
		}
		if _, err := q.Returning("*").Exec(ctx); err != nil {
			return fmt.Errorf("sequences: run %s: %w", row.ID, database.Interpret(err))
		}
		if earlier == 0 && c.TemplateID != nil {
			// Counting is best kept to the first run: a second run only
			// fills leads added since, it is not another use.
			var ok bool
			if err := tx.NewRaw("SELECT template_count_use(?)", *c.TemplateID).Scan(ctx, &ok); err != nil {
				return fmt.Errorf("sequences: count use of template %s: %w", *c.TemplateID, database.Interpret(err))
			}
		}
		if row.Status.Final() {
			return recordGeneration(ctx, tx, a.OrgID, row.view(nil))
		}
		return nil
	})
	if err != nil {
		return Generation{}, err
	}
	if row.Status == GenerationQueued {
		if g.enq == nil {
			return Generation{}, errors.New("sequences: start: no enqueuer")
		}
		if err := g.enq.EnqueueGeneration(ctx, a.OrgID, row.ID); err != nil {
			// Not left queued for ever: a queued run blocks the next start.
			_ = g.finish(context.WithoutCancel(ctx), a.OrgID, row.ID, GenerationFailed, "could not be queued: "+err.Error())
			return Generation{}, fmt.Errorf("sequences: enqueue run %s: %w", row.ID, err)
		}
	}
	return row.view(nil), nil
}

// recordGeneration writes generation.completed for a run that reached
// its final status, in tx; when the campaign then has leads or sequences
// awaiting approval it also writes approval.needed and tells the owners
// and admins (an approval_needed notification, refreshed, not repeated).
func recordGeneration(ctx context.Context, tx bun.IDB, org uuid.UUID, gen Generation) error {
	if _, err := events.Record(ctx, tx, org, events.New{Type: events.GenerationCompleted, ObjectID: gen.ID, Data: gen.Resource()}); err != nil {
		return fmt.Errorf("sequences: record %s: %w", events.GenerationCompleted, err)
	}
	w, err := refreshApproval(ctx, tx, org, gen.CampaignID)
	if err != nil || w.Leads+w.Sequences == 0 {
		return err
	}
	if _, err := events.Record(ctx, tx, org, events.New{Type: events.ApprovalNeeded, ObjectID: gen.CampaignID, Data: w.Resource()}); err != nil {
		return fmt.Errorf("sequences: record %s: %w", events.ApprovalNeeded, err)
	}
	return nil
}

// finish moves an unfinished run to a final status and writes
// generation.completed; a run already final stays as it is.
func (g *Generator) finish(ctx context.Context, org, id uuid.UUID, st GenerationStatus, reason string) error {
	return g.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var row generationRow
		q := tx.NewUpdate().Model(&row).Set("status = ?", st).Set("finished_at = now()").
			Where("org_id = ? AND id = ? AND status IN ('queued', 'running')", org, id)
		if reason != "" {
			q = q.Set("error = ?", reason)
		}
		res, err := q.Returning("*").Exec(ctx)
		if err != nil {
			return fmt.Errorf("sequences: finish run %s: %w", id, database.Interpret(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		fs, err := failures(ctx, tx, org, id)
		if err != nil {
			return err
		}
		return recordGeneration(ctx, tx, org, row.view(fs))
	})
}

func failures(ctx context.Context, tx bun.IDB, org, id uuid.UUID) ([]Failure, error) {
	var fs []Failure
	err := tx.NewSelect().Table("sequence_generation_items").Column("lead_id", "reason").
		Where("org_id = ? AND generation_id = ? AND status = 'failed'", org, id).
		OrderExpr("finished_at, lead_id").Limit(MaxFailuresShown).Scan(ctx, &fs)
	if err != nil {
		return nil, fmt.Errorf("sequences: failures of run %s: %w", id, database.Interpret(err))
	}
	return fs, nil
}

// Latest returns the campaign's most recent run with its failures.
func (g *Generator) Latest(ctx context.Context, a access.Actor, campaignID uuid.UUID) (Generation, error) {
	var out Generation
	err := g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := campaignExists(ctx, tx, a.OrgID, campaignID); err != nil {
			return err
		}
		var row generationRow
		if err := tx.NewSelect().Model(&row).Where("org_id = ? AND campaign_id = ?", a.OrgID, campaignID).
			Order("id DESC").Limit(1).Scan(ctx); err != nil {
			if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
				return fault.NotFound("generation")
			}
			return fmt.Errorf("sequences: latest run of %s: %w", campaignID, err)
		}
		fs, err := failures(ctx, tx, a.OrgID, row.ID)
		out = row.view(fs)
		return err
	})
	return out, err
}

// Cancel stops the campaign's unfinished run: no new lead starts (calls in
// flight finish and are saved); the leads not reached stay without a
// sequence, for a later run. 409 when nothing runs.
func (g *Generator) Cancel(ctx context.Context, a access.Actor, campaignID uuid.UUID) (Generation, error) {
	var id uuid.UUID
	err := g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := campaignExists(ctx, tx, a.OrgID, campaignID); err != nil {
			return err
		}
		err := tx.NewSelect().Table("sequence_generations").Column("id").
			Where("org_id = ? AND campaign_id = ? AND status IN ('queued', 'running')", a.OrgID, campaignID).Scan(ctx, &id)
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return fault.Conflict("no_generation_running", "the campaign has no generation queued or running")
		}
		return err
	})
	if err != nil {
		return Generation{}, err
	}
	if err := g.finish(ctx, a.OrgID, id, GenerationCancelled, ""); err != nil {
		return Generation{}, err
	}
	return g.Latest(ctx, a, campaignID)
}

// plan is what every lead's request of a run shares.
type plan struct {
	base       llm.SequenceRequest
	templateID *uuid.UUID
}

// loadPlan reads the campaign, its template (or the system templates as
// the built-in provider's candidates) and the organisation's business
// context merged with the campaign's (the campaign wins on each field it
// sets).
func loadPlan(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, description *string) (plan, error) {
	var c struct {
		Channels   []string             `bun:"channels,array"`
		TemplateID *uuid.UUID           `bun:"template_id,type:uuid"`
		Length     int                  `bun:"length"`
		LLMContext orgs.BusinessContext `bun:"llm_context,type:jsonb"`
		OrgContext orgs.BusinessContext `bun:"org_context,type:jsonb"`
	}
	err := tx.NewRaw(`
		SELECT c.channels, c.template_id, (c.settings->>'sequence_length')::int AS length, c.llm_context,
		       o.business_context AS org_context
		FROM campaigns c JOIN organizations o ON o.id = c.org_id
		WHERE c.org_id = ? AND c.id = ?`, org, campaignID).Scan(ctx, &c)
	if err != nil {
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return plan{}, fault.NotFound("campaign")
		}
		return plan{}, fmt.Errorf("sequences: campaign %s: %w", campaignID, err)
	}
	p := plan{templateID: c.TemplateID}
	p.base.Length = c.Length
	for _, ch := range c.Channels {
		p.base.Channels = append(p.base.Channels, llm.Channel(ch))
	}
	p.base.Business = mergeContext(c.OrgContext, c.LLMContext)
	if description != nil {
		p.base.Brief = *description
	}
	var ts []templateRow
	q := tx.NewSelect().Model(&ts)
	if c.TemplateID != nil {
		q = q.Where("id = ?", *c.TemplateID)
	} else {
		q = q.Where("is_system").Order("name").Limit(50)
	}
	if err := q.Scan(ctx); err != nil {
		return plan{}, fmt.Errorf("sequences: templates for %s: %w", campaignID, database.Interpret(err))
	}
	if c.TemplateID != nil {
		if len(ts) == 0 {
			return plan{}, fault.Conflict("template_gone", "the campaign's template is no longer visible")
		}
		t := ts[0].template()
		p.base.Template = &t
	} else {
		for _, t := range ts {
			p.base.Candidates = append(p.base.Candidates, t.template())
		}
	}
	return p, nil
}

type templateRow struct {
	bun.BaseModel `bun:"table:sequence_templates"`

	ID       uuid.UUID          `bun:"id,pk,type:uuid"`
	Name     string             `bun:"name"`
	Industry *string            `bun:"industry"`
	UseCase  *string            `bun:"use_case"`
	Channels []string           `bun:"channels,array"`
	Steps    []llm.TemplateStep `bun:"steps,type:jsonb"`
}

func (t templateRow) template() llm.Template {
	out := llm.Template{Name: t.Name, Steps: t.Steps}
	if t.Industry != nil {
		out.Industry = *t.Industry
	}
	if t.UseCase != nil {
		out.UseCase = *t.UseCase
	}
	for _, c := range t.Channels {
		out.Channels = append(out.Channels, llm.Channel(c))
	}
	return out
}

func mergeContext(org, campaign orgs.BusinessContext) llm.BusinessContext {
	s := func(c, o *string) string {
		if c != nil && strings.TrimSpace(*c) != "" {
			return *c
		}
		if o != nil {
			return *o
		}
		return ""
	}
	l := func(c, o []string) []string {
		if len(c) > 0 {
			return c
		}
		return o
	}
	return llm.BusinessContext{
		CompanyName: s(campaign.CompanyName, org.CompanyName), Industry: s(campaign.Industry, org.Industry),
		TargetAudience: s(campaign.TargetAudience, org.TargetAudience), ValueProposition: s(campaign.ValueProposition, org.ValueProposition),
		Tone: s(campaign.Tone, org.Tone), KeyPainPoints: l(campaign.KeyPainPoints, org.KeyPainPoints),
		CaseStudies: l(campaign.CaseStudies, org.CaseStudies), CTA: s(campaign.CTA, org.CTA),
		SenderName: s(campaign.SenderName, org.SenderName), SenderTitle: s(campaign.SenderTitle, org.SenderTitle),
	}
}

// leadRow is what a request needs of a lead.
type leadRow struct {
	ID           uuid.UUID      `bun:"id,type:uuid"`
	FirstName    *string        `bun:"first_name"`
	LastName     *string        `bun:"last_name"`
	Email        *string        `bun:"email"`
	Company      *string        `bun:"company"`
	JobTitle     *string        `bun:"job_title"`
	Website      *string        `bun:"website"`
	City         *string        `bun:"city"`
	Country      *string        `bun:"country"`
	CustomFields map[string]any `bun:"custom_fields,type:jsonb"`
}

const leadColumns = "l.id, l.first_name, l.last_name, l.email, l.company, l.job_title, l.website, l.city, l.country, l.custom_fields"

func (l leadRow) lead() llm.Lead {
	v := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out := llm.Lead{
		FirstName: v(l.FirstName), LastName: v(l.LastName), Email: v(l.Email), Company: v(l.Company),
		JobTitle: v(l.JobTitle), Website: v(l.Website), City: v(l.City), Country: v(l.Country),
	}
	if len(l.CustomFields) > 0 {
		out.Custom = make(map[string]string, len(l.CustomFields))
		for k, x := range l.CustomFields {
			if x != nil {
				out.Custom[k] = fmt.Sprint(x)
			}
		}
	}
	return out
}

// errFatal marks a provider failure that every lead would meet (a bad
// key, no quota): the run fails with it instead of failing each lead.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// call asks the provider for one lead's sequence, waiting out rate limits
// (they slow the run, never fail it) and retrying an unavailable provider
// a few times. It returns the result, or a reason the lead failed, or an
// error that stops the run (errFatal, or the context's).
func (g *Generator) call(ctx context.Context, org uuid.UUID, p llm.Provider, req llm.SequenceRequest) (llm.SequenceResult, string, error) {
	wait := g.opts.Backoff
	unavailable := 0
	slot := g.slot(org)
	for {
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			return llm.SequenceResult{}, "", ctx.Err()
		}
		res, err := p.GenerateSequence(ctx, req)
		<-slot
		if err == nil {
			return res, "", nil
		}
		if ctx.Err() != nil {
			return llm.SequenceResult{}, "", ctx.Err()
		}
		switch {
		case errors.Is(err, llm.ErrRateLimited):
		case errors.Is(err, llm.ErrUnavailable) && unavailable < g.opts.UnavailableRetries:
			unavailable++
		case errors.Is(err, llm.ErrInvalidKey), errors.Is(err, llm.ErrQuota), errors.Is(err, llm.ErrNotConfigured), errors.Is(err, llm.ErrModelNotFound):
			return llm.SequenceResult{}, "", errFatal{err}
		default:
			return res, err.Error(), nil
		}
		g.opts.Logger.InfoContext(ctx, "generation backs off", "org_id", org, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return llm.SequenceResult{}, "", ctx.Err()
		}
		wait = min(2*wait, g.opts.MaxBackoff)
	}
}

// Run works through a run's pending leads, Concurrency at a time for the
// organisation, until none is left, the run is cancelled or ctx ends. It
// is what the worker's task calls, and it is idempotent: a final run does
// nothing; an interrupted one resumes with the leads still pending.
//
// Leads go in batches (batchSizer: about a second of model time each), in
// lead order. A batch's sequences and its items' "done" commit together,
// and the insert does nothing on a lead that has a sequence, so no lead
// gets two. One batch is saved while the next is generated. A stopped
// context still saves the answers it got; a worker killed outright loses
// the answers not yet committed (at most two batches), and those leads
// are asked again: paid twice, saved once.
func (g *Generator) Run(ctx context.Context, org, id uuid.UUID) error {
	tenant := database.Tenant{OrgID: org}
	var row generationRow
	var pl plan
	err := g.db.InTenant(ctx, tenant, func(ctx context.Context, tx bun.IDB) error {
		// Locked: a Cancel committing meanwhile must not be overwritten
		// with "running".
		if err := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", org, id).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("sequences: run %s: %w", id, database.Interpret(err))
		}
		if row.Status.Final() {
			return nil
		}
		var err error
		if pl, err = loadPlan(ctx, tx, org, row.CampaignID, row.Description); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(&row).Set("status = 'running'").Set("started_at = coalesce(started_at, now())").
			WherePK().Exec(ctx)
		return database.Interpret(err)
	})
	if errors.Is(err, database.ErrNotFound) {
		return nil // deleted with its campaign
	}
	if fe, ok := fault.As(err); ok {
		return g.finish(ctx, org, id, GenerationFailed, fe.Detail)
	}
	if err != nil || row.Status.Final() {
		return err
	}
	provider, err := g.providers(ctx, org)
	if err != nil {
		return g.finish(ctx, org, id, GenerationFailed, "the language model could not be set up: "+err.Error())
	}

	// saving is the batch being saved, if any; wait returns its error.
	var saving chan error
	wait := func() error {
		if saving == nil {
			return nil
		}
		err := <-saving
		saving = nil
		return err
	}
	defer func() { _ = wait() }()
	sizer := newBatchSizer(g.opts.Concurrency)
	after := uuid.Nil // leads up to here are generated (or being saved)
	for {
		status, leads, err := g.next(ctx, org, id, after, sizer.size)
		if errors.Is(err, database.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if status.Final() {
			return nil
		}
		if len(leads) == 0 {
			if err := wait(); err != nil {
				return err
			}
			if after != uuid.Nil {
				after = uuid.Nil // once more from the start: what is still pending?
				continue
			}
			return g.finish(ctx, org, id, GenerationCompleted, "")
		}
		started := time.Now()
		got, stop := g.generate(ctx, org, pl, provider, leads)
		sizer.observe(len(leads), time.Since(started))
		if err := wait(); err != nil {
			return err
		}
		// Saving must not be cut short by the stop: the tokens are spent
		// and the answers are good.
		saving = make(chan error, 1)
		go func(ch chan<- error) { ch <- g.save(context.WithoutCancel(ctx), org, id, pl, got) }(saving)
		after = leads[len(leads)-1].ID
		if stop != nil {
			if err := wait(); err != nil {
				return err
			}
			var fatal errFatal
			if errors.As(stop, &fatal) {
				return g.finish(ctx, org, id, GenerationFailed, fatal.Error())
			}
			return stop
		}
	}
}

// next returns the run's status and up to limit of its pending leads
// after the lead id after, in lead order.
func (g *Generator) next(ctx context.Context, org, id, after uuid.UUID, limit int) (GenerationStatus, []leadRow, error) {
	var status GenerationStatus
	var leads []leadRow
	err := g.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		if err := tx.NewSelect().Table("sequence_generations").Column("status").
			Where("org_id = ? AND id = ?", org, id).Scan(ctx, &status); err != nil {
			return database.Interpret(err)
		}
		return tx.NewRaw(`SELECT `+leadColumns+` FROM sequence_generation_items i
			JOIN leads l ON l.org_id = i.org_id AND l.id = i.lead_id
			WHERE i.org_id = ? AND i.generation_id = ? AND i.status = 'pending' AND i.lead_id > ?
			ORDER BY i.lead_id LIMIT ?`, org, id, after, limit).Scan(ctx, &leads)
	})
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		err = fmt.Errorf("sequences: run %s: next batch: %w", id, database.Interpret(err))
	}
	return status, leads, err
}

// batchSizer picks how many leads the next batch takes. A batch costs a
// few fixed round trips (fetch, one saving transaction) besides its calls,
// and a killed worker pays its calls twice; so a batch aims at about
// batchTarget of wall time: 4×Concurrency to start (enough to keep every
// slot busy), doubled while batches finish in under half the target (a
// fast model, the built-in provider: the fixed cost would dominate),
// halved when one takes over twice the target (rate limits, a slow
// model), within [4×Concurrency, maxBatch].
type batchSizer struct {
	size, min int
}

const (
	batchTarget = time.Second
	maxBatch    = 1000 // events.RecordBatch writes a thousand per statement
)

func newBatchSizer(concurrency int) *batchSizer {
	n := min(4*concurrency, maxBatch)
	return &batchSizer{size: n, min: n}
}

func (b *batchSizer) observe(leads int, took time.Duration) {
	switch {
	case leads < b.size: // the last, short batch says nothing
	case took < batchTarget/2:
		b.size = min(2*b.size, maxBatch)
	case took > 2*batchTarget:
		b.size = max(b.size/2, b.min)
	}
}

// outcome is one lead's answer: a result, or the reason it failed.
type outcome struct {
	leadID uuid.UUID
	res    llm.SequenceResult
	reason string
}

// generate asks for leads' sequences, at most Concurrency calls at once
// for the organisation. It returns the answers it got, even when the run
// stops midway (they are paid for), and the first error that stops the
// run.
func (g *Generator) generate(ctx context.Context, org uuid.UUID, pl plan, p llm.Provider, leads []leadRow) ([]outcome, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []outcome
	)
	work := make(chan leadRow)
	for range min(g.opts.Concurrency, len(leads)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range work {
				req := pl.base
				req.Lead = l.lead()
				res, reason, err := g.call(cctx, org, p, req)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				got = append(got, outcome{leadID: l.ID, res: res, reason: reason})
				mu.Unlock()
			}
		}()
	}
	for _, l := range leads {
		if cctx.Err() != nil {
			break
		}
		work <- l
	}
	close(work)
	wg.Wait()
	return got, context.Cause(cctx)
}

// save records a batch's outcomes in one transaction: each pending item
// becomes done or failed, each done lead gets its sequence (unless it has
// one: ON CONFLICT DO NOTHING) with its sequence.generated event, and the
// run's counters and tokens move by what this call claimed. An item
// another worker already closed is left alone, with its tokens: the
// counters count each lead once.
func (g *Generator) save(ctx context.Context, org, id uuid.UUID, pl plan, got []outcome) error {
	if len(got) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(got))
	statuses := make([]string, len(got))
	reasons := make([]*string, len(got))
	for i, o := range got {
		ids[i], statuses[i] = o.leadID, "done"
		if o.reason != "" {
			statuses[i], reasons[i] = "failed", &got[i].reason
		}
	}
	return g.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var campaignID uuid.UUID
		if err := tx.NewSelect().Table("sequence_generations").Column("campaign_id").
			Where("org_id = ? AND id = ?", org, id).Scan(ctx, &campaignID); err != nil {
			return fmt.Errorf("sequences: campaign of run %s: %w", id, database.Interpret(err))
		}
		var claimed []uuid.UUID
		if err := tx.NewRaw(`
			UPDATE sequence_generation_items i SET status = v.status, reason = v.reason, finished_at = now()
			FROM unnest(?::uuid[], ?::text[], ?::text[]) AS v(lead_id, status, reason)
			WHERE i.org_id = ? AND i.generation_id = ? AND i.lead_id = v.lead_id AND i.status = 'pending'
			RETURNING i.lead_id`,
			pgdialect.Array(ids), pgdialect.Array(statuses), pgdialect.Array(reasons), org, id).Scan(ctx, &claimed); err != nil {
			return fmt.Errorf("sequences: items of run %s: %w", id, database.Interpret(err))
		}
		mine := unique(claimed)
		var done, failed int
		var prompt, completion int64
		var provider, model string
		var rows []sequenceRow
		for _, o := range got {
			if !mine[o.leadID] {
				continue
			}
			prompt += int64(o.res.Usage.PromptTokens)
			completion += int64(o.res.Usage.CompletionTokens)
			if o.res.Provider != "" {
				provider, model = o.res.Provider, o.res.Model
			}
			if o.reason != "" {
				failed++
				continue
			}
			done++
			rows = append(rows, sequenceRow{
				ID: uuid.Must(uuid.NewV7()), OrgID: org, CampaignID: campaignID, LeadID: o.leadID, TemplateID: pl.templateID,
				Steps: o.res.Steps, LLMProvider: &o.res.Provider, LLMModel: &o.res.Model,
				LLMPromptTokens: &o.res.Usage.PromptTokens, LLMCompletionTokens: &o.res.Usage.CompletionTokens,
			})
		}
		if len(mine) == 0 {
			return nil
		}
		q := tx.NewUpdate().Table("sequence_generations").
			Set("done = done + ?", done).Set("failed = failed + ?", failed).
			Set("prompt_tokens = prompt_tokens + ?", prompt).Set("completion_tokens = completion_tokens + ?", completion).
			Where("org_id = ? AND id = ?", org, id)
		if provider != "" {
			q = q.Set("llm_provider = ?", provider).Set("llm_model = ?", model)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("sequences: progress of run %s: %w", id, database.Interpret(err))
		}
		if len(rows) == 0 {
			return nil
		}
		var inserted []sequenceRow
		if err := tx.NewInsert().Model(&rows).ExcludeColumn("current_step").On("CONFLICT (org_id, lead_id) DO NOTHING").Returning("*").Scan(ctx, &inserted); err != nil {
			return fmt.Errorf("sequences: save %d sequences of run %s: %w", len(rows), id, database.Interpret(err))
		}
		evs := make([]events.New, len(inserted))
		for i, r := range inserted {
			evs[i] = events.New{Type: events.SequenceGenerated, ObjectID: r.ID, Data: r.view().Resource()}
		}
		if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
			return fmt.Errorf("sequences: record %s: %w", events.SequenceGenerated, err)
		}
		return autoApprove(ctx, tx, org, campaignID, inserted)
	})
}

// autoApprove approves, in tx, the newly generated rows of a campaign
// whose approval mode leaves content to the machine (approve_list,
// full_autopilot): each that passes the content lint is approved now, by
// no one (approved_by NULL), with its sequence.approved; one the lint
// blocks waits for a person, as under approve_all.
func autoApprove(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, rows []sequenceRow) error {
	if len(rows) == 0 {
		return nil
	}
	var mode string
	if err := tx.NewRaw(`SELECT coalesce(settings->>'approval_mode', '') FROM campaigns WHERE org_id = ? AND id = ?`, org, campaignID).
		Scan(ctx, &mode); err != nil {
		return fmt.Errorf("sequences: approval mode of campaign %s: %w", campaignID, database.Interpret(err))
	}
	if mode != campaigns.ApproveList && mode != campaigns.FullAutopilot {
		return nil
	}
	lint, err := newLinter(ctx, tx, org, campaignID, rows)
	if err != nil {
		return err
	}
	var fit []uuid.UUID
	for _, r := range rows {
		if !lint.lint(r).Blocking() {
			fit = append(fit, r.ID)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	var approved []sequenceRow
	if err := tx.NewRaw(`UPDATE sequences_with_progress SET is_approved = true, approved_at = now(), approved_by = NULL, updated_at = now()
		WHERE org_id = ? AND id = ANY(?) AND NOT is_approved RETURNING *`, org, pgdialect.Array(fit)).Scan(ctx, &approved); err != nil {
		return fmt.Errorf("sequences: approve by policy: %w", database.Interpret(err))
	}
	slices.SortFunc(approved, func(a, b sequenceRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	evs := make([]events.New, len(approved))
	for i, r := range approved {
		evs[i] = events.New{Type: events.SequenceApproved, ObjectID: r.ID, Data: r.view().Resource()}
	}
	if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
		return fmt.Errorf("sequences: record %s: %w", events.SequenceApproved, err)
	}
	return nil
}

// Preview is one lead's generated steps, not saved.
type Preview struct {
	// LeadID is nil for the sample lead.
	LeadID *uuid.UUID
	Steps  []llm.Step
	Meta   llm.Meta
}

// MaxPreviewLeads caps a preview.
const MaxPreviewLeads = 5

// SampleLead is who a preview writes to when the campaign has no approved
// lead and none is named.
var SampleLead = llm.Lead{FirstName: "Alex", LastName: "Morgan", Company: "Northwind Traders", JobTitle: "Head of Operations", Website: "northwind.example", City: "Lisbon", Country: "PT"}

// Preview generates for the named leads (1..MaxPreviewLeads, of the
// organisation), or for the campaign's first approved lead, or for
// SampleLead, with the run's request, and saves nothing but the usage
// (the calls are metered as any). A lead whose output fails validation
// fails the preview with the violations (422).
func (g *Generator) Preview(ctx context.Context, a access.Actor, campaignID uuid.UUID, leadIDs []uuid.UUID, description *string) ([]Preview, error) {
	if len(leadIDs) > MaxPreviewLeads {
		return nil, fault.Invalid(fault.FieldError{Field: "lead_ids", Code: "too_many", Message: fmt.Sprintf("at most %d leads", MaxPreviewLeads)})
	}
	var pl plan
	var leads []leadRow
	err := g.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if pl, err = loadPlan(ctx, tx, a.OrgID, campaignID, description); err != nil {
			return err
		}
		q := `SELECT ` + leadColumns + ` FROM leads l WHERE l.org_id = ? AND `
		if len(leadIDs) > 0 {
			err = tx.NewRaw(q+`l.id = ANY(?) ORDER BY l.id`, a.OrgID, pgdialect.Array(leadIDs)).Scan(ctx, &leads)
			if err == nil && len(leads) != len(leadIDs) {
				return fault.NotFound("lead")
			}
		} else {
			err = tx.NewRaw(q+`l.campaign_id = ? AND l.is_approved ORDER BY l.id LIMIT 1`, a.OrgID, campaignID).Scan(ctx, &leads)
		}
		return database.Interpret(err)
	})
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		return nil, err
	}
	if pl.base.Template == nil && pl.base.Brief == "" {
		return nil, fault.Invalid(fault.FieldError{Field: "description", Code: "required", Message: "the campaign has no template: describe what to write"})
	}
	p, err := g.providers(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	if len(leads) == 0 {
		req := pl.base
		req.Lead = SampleLead
		res, err := p.GenerateSequence(ctx, req)
		if err != nil {
			return nil, err
		}
		return []Preview{{Steps: res.Steps, Meta: res.Meta}}, nil
	}
	out := make([]Preview, len(leads))
	for i, l := range leads {
		req := pl.base
		req.Lead = l.lead()
		res, err := p.GenerateSequence(ctx, req)
		if err != nil {
			return nil, err
		}
		out[i] = Preview{LeadID: &l.ID, Steps: res.Steps, Meta: res.Meta}
	}
	return out, nil
}

// ProvidersFrom adapts the organisation's LLM settings (metered calls) to
// ProviderFor.
func ProvidersFrom(s *llmsettings.Service) ProviderFor {
	return func(ctx context.Context, orgID uuid.UUID) (llm.Provider, error) {
		p, _, err := s.For(ctx, orgID)
		return p, err
	}
}
