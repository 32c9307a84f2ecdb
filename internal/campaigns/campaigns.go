// Package campaigns owns outreach campaigns: what they send from (source,
// channels, template), how (settings), in whose voice (llm_context, which
// overrides the organisation's business context), their lifecycle and
// their stats. Every method runs in a tenant transaction
// (database.InTenant), so row-level security backs the org scoping written
// in each query.
//
// Tables: campaigns owns campaigns. It reads organizations (the sending
// defaults, through orgs.GetOrganization), and leads, messages and
// sequences for the stats and the activation check; it writes none of them.
//
// Stats are never stored: they are counted from leads and messages when a
// campaign is read (statsQuery), so no second counter can disagree with
// the rows it counts.
//
// Each change (Create, Update, Delete, Transition) is one method with one
// transaction: that is where the events issue writes the change's event,
// in the same transaction. Status changes only in Transition.
package campaigns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Stats are a campaign's counts, derived from its leads and messages.
type Stats struct {
	TotalLeads      int64 // leads in the campaign
	EmailsSent      int64 // email messages that left (sent, delivered, read, replied or bounced)
	WhatsAppSent    int64 // the same for WhatsApp
	SMSSent         int64 // the same for SMS
	RepliesReceived int64 // leads that replied
	PositiveReplies int64 // leads classified interested, or converted
	Bounces         int64 // messages that bounced
	// Approval state: leads not approved, the leads' sequences, and those
	// of them approved.
	LeadsAwaitingApproval int64
	Sequences             int64
	SequencesApproved     int64
}

// Campaign is a campaign as the API shows it.
type Campaign struct {
	ID           uuid.UUID
	Name         string
	Description  *string
	Source       string
	SourceConfig map[string]any
	Channels     []string
	TemplateID   *uuid.UUID
	Settings     Settings
	LLMContext   orgs.BusinessContext
	Status       Status
	Stats        Stats
	StartedAt    *time.Time
	CompletedAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

type campaignRow struct {
	bun.BaseModel `bun:"table:campaigns"`

	ID           uuid.UUID            `bun:"id,pk,type:uuid"`
	OrgID        uuid.UUID            `bun:"org_id,type:uuid"`
	Name         string               `bun:"name"`
	Description  *string              `bun:"description"`
	Source       string               `bun:"source"`
	SourceConfig map[string]any       `bun:"source_config,type:jsonb"`
	Channels     []string             `bun:"channels,array"`
	TemplateID   *uuid.UUID           `bun:"template_id,type:uuid"`
	Settings     Settings             `bun:"settings,type:jsonb"`
	LLMContext   orgs.BusinessContext `bun:"llm_context,type:jsonb"`
	Status       Status               `bun:"status"`
	StartedAt    *time.Time           `bun:"started_at"`
	CompletedAt  *time.Time           `bun:"completed_at"`
	CreatedAt    time.Time            `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt    time.Time            `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r campaignRow) key() uuid.UUID { return r.ID }

func (r campaignRow) view(st Stats) Campaign {
	sc := r.SourceConfig
	if sc == nil {
		sc = map[string]any{}
	}
	return Campaign{
		ID: r.ID, Name: r.Name, Description: r.Description, Source: r.Source, SourceConfig: sc,
		Channels: r.Channels, TemplateID: r.TemplateID, Settings: r.Settings, LLMContext: r.LLMContext,
		Status: r.Status, Stats: st, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// Service implements the rules.
type Service struct {
	db           *database.DB
	onTransition TransitionHook
}

// TransitionHook runs inside a status change's transaction, after the
// status is written: the sending engine schedules on activation and
// reschedules on resume there, so a campaign that cannot send is not
// activated. An error rolls the change back.
type TransitionHook func(ctx context.Context, tx bun.IDB, org, campaign uuid.UUID, from, to Status) error

// NewService builds the service.
func NewService(db *database.DB) *Service { return &Service{db: db} }

// OnTransition sets the hook status changes run (one; nil for none).
func (s *Service) OnTransition(h TransitionHook) { s.onTransition = h }

// Create is a new campaign. Settings keys left out take the organisation's
// defaults (DefaultSettings); Channels empty means email.
type Create struct {
	Name         string
	Description  *string
	Source       string
	SourceConfig map[string]any
	Channels     []string
	TemplateID   *uuid.UUID
	Settings     SettingsPatch
	LLMContext   *orgs.BusinessContext
}

// Create makes a draft campaign. Any member of the organisation (or its
// API key) may: campaigns are the organisation's data.
func (s *Service) Create(ctx context.Context, a access.Actor, c Create) (Campaign, error) {
	row := campaignRow{
		ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, Name: strings.TrimSpace(c.Name), Description: c.Description,
		Source: c.Source, SourceConfig: c.SourceConfig, Channels: c.Channels, TemplateID: c.TemplateID, Status: StatusDraft,
	}
	if row.SourceConfig == nil {
		row.SourceConfig = map[string]any{}
	}
	if len(row.Channels) == 0 {
		row.Channels = []string{"email"}
	}
	if c.LLMContext != nil {
		row.LLMContext = *c.LLMContext
	}
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		org, err := orgs.GetOrganization(ctx, tx, a.OrgID)
		if err != nil {
			return fmt.Errorf("campaigns: create: %w", err)
		}
		row.Settings = c.Settings.Apply(DefaultSettings(org.Settings))
		var fields fault.Fields
		validateRow(row, &fields)
		if err := fields.Err(); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&row).Returning("created_at, updated_at").Exec(ctx); err != nil {
			return writeError("create", row.ID, err)
		}
		return record(ctx, tx, a.OrgID, events.CampaignCreated, row.view(Stats{}))
	})
	if err != nil {
		return Campaign{}, err
	}
	return row.view(Stats{}), nil // a new campaign has no leads or messages yet
}

// record writes the campaign's event in tx, the change's transaction,
// with the campaign as the API returns it.
func record(ctx context.Context, tx bun.IDB, org uuid.UUID, t events.Type, c Campaign) error {
	if _, err := events.Record(ctx, tx, org, events.New{Type: t, ObjectID: c.ID, Data: c.Resource()}); err != nil {
		return fmt.Errorf("campaigns: %w", err)
	}
	return nil
}

// validateRow checks what the schema alone cannot.
func validateRow(r campaignRow, f *fault.Fields) {
	if r.Name == "" {
		f.Add("/name", "required", "must not be blank")
	}
	seen := map[string]bool{}
	for i, ch := range r.Channels {
		if seen[ch] {
			f.Add(fmt.Sprintf("/channels/%d", i), "duplicate", fmt.Sprintf("%q is repeated", ch))
		}
		seen[ch] = true
	}
	ValidateSettings(r.Settings, "/settings", f)
}

// writeError turns a failed insert or update into a fault: the template
// trigger (sequence_template_visible) and the template foreign key answer
// "not found" alike for a template that does not exist and one this
// organisation may not use.
func writeError(op string, id uuid.UUID, err error) error {
	err = database.Interpret(err)
	if errors.Is(err, database.ErrReference) {
		return fault.Invalid(fault.FieldError{Field: "/template_id", Code: "not_found",
			Message: "no such template, or not one this organisation may use"}).WithCause(err)
	}
	return fmt.Errorf("campaigns: %s %s: %w", op, id, err)
}

// Get returns one campaign with its stats.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Campaign, error) {
	var out Campaign
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, false)
		if err != nil {
			return err
		}
		out, err = withStats(ctx, tx, a.OrgID, row)
		return err
	})
	return out, err
}

func getRow(ctx context.Context, tx bun.IDB, orgID, id uuid.UUID, lock bool) (campaignRow, error) {
	var row campaignRow
	q := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return campaignRow{}, fault.NotFound("campaign")
		}
		return campaignRow{}, fmt.Errorf("campaigns: get %s: %w", id, err)
	}
	return row, nil
}

func withStats(ctx context.Context, tx bun.IDB, orgID uuid.UUID, row campaignRow) (Campaign, error) {
	st, err := statsFor(ctx, tx, orgID, []uuid.UUID{row.ID})
	if err != nil {
		return Campaign{}, err
	}
	return row.view(st[row.ID]), nil
}

// List pages through campaigns, newest first, optionally only those in
// status.
func (s *Service) List(ctx context.Context, a access.Actor, status *Status, p pagination.Page) ([]Campaign, *string, error) {
	var out []Campaign
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model((*campaignRow)(nil)).Where("org_id = ?", a.OrgID)
		if status != nil {
			q = q.Where("status = ?", *status)
		}
		rows, n, err := pagination.Scan(ctx, q, "id", p, campaignRow.key)
		if err != nil {
			return err
		}
		next = n
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		st, err := statsFor(ctx, tx, a.OrgID, ids)
		if err != nil {
			return err
		}
		out = make([]Campaign, len(rows))
		for i, r := range rows {
			out[i] = r.view(st[r.ID])
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("campaigns: list: %w", err)
	}
	return out, next, nil
}

// Update is a partial change: nil fields stay as they are; in Settings,
// each key sent replaces the stored one; LLMContext, when sent, replaces
// the whole override.
type Update struct {
	Name          *string
	Description   *string
	Source        *string
	SourceConfig  *map[string]any
	Channels      *[]string
	TemplateID    *uuid.UUID
	ClearTemplate bool // template_id: null was sent
	Settings      *SettingsPatch
	LLMContext    *orgs.BusinessContext
}

func (u Update) onlyNaming() bool {
	return u.Source == nil && u.SourceConfig == nil && u.Channels == nil && u.TemplateID == nil &&
		!u.ClearTemplate && u.Settings == nil && u.LLMContext == nil
}

// Update applies u. A draft or paused campaign may change in every way;
// an active or completed one only its name and description (pause an
// active one to change how it sends); an archived one not at all.
func (s *Service) Update(ctx context.Context, a access.Actor, id uuid.UUID, u Update) (Campaign, error) {
	var out Campaign
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		switch row.Status {
		case StatusArchived:
			return fault.Conflict("campaign_archived", "an archived campaign cannot change")
		case StatusActive, StatusCompleted:
			if !u.onlyNaming() {
				return fault.Conflict("campaign_not_editable",
					fmt.Sprintf("a %s campaign may change only its name and description; pause it first to change how it sends", row.Status))
			}
		}
		cols := []string{}
		if u.Name != nil {
			row.Name = strings.TrimSpace(*u.Name)
			cols = append(cols, "name")
		}
		if u.Description != nil {
			row.Description = u.Description
			cols = append(cols, "description")
		}
		if u.Source != nil {
			row.Source = *u.Source
			cols = append(cols, "source")
		}
		if u.SourceConfig != nil {
			row.SourceConfig = *u.SourceConfig
			if row.SourceConfig == nil {
				row.SourceConfig = map[string]any{}
			}
			cols = append(cols, "source_config")
		}
		if u.Channels != nil {
			row.Channels = *u.Channels
			cols = append(cols, "channels")
		}
		if u.TemplateID != nil || u.ClearTemplate {
			row.TemplateID = u.TemplateID
			cols = append(cols, "template_id")
		}
		if u.Settings != nil {
			row.Settings = u.Settings.Apply(row.Settings)
			cols = append(cols, "settings")
		}
		if u.LLMContext != nil {
			row.LLMContext = *u.LLMContext
			cols = append(cols, "llm_context")
		}
		var fields fault.Fields
		validateRow(row, &fields)
		if err := fields.Err(); err != nil {
			return err
		}
		if len(cols) > 0 {
			_, err := tx.NewUpdate().Model(&row).Column(cols...).Where("org_id = ? AND id = ?", a.OrgID, id).
				Returning("updated_at").Exec(ctx)
			if err != nil {
				return writeError("update", id, err)
			}
		}
		out, err = withStats(ctx, tx, a.OrgID, row)
		if err != nil || len(cols) == 0 {
			return err
		}
		return record(ctx, tx, a.OrgID, events.CampaignUpdated, out)
	})
	return out, err
}

// Delete removes a campaign and, by the schema's cascades, its leads,
// sequences and messages. An active campaign is refused: pause it first,
// so nothing is deleted while it is being sent.
func (s *Service) Delete(ctx context.Context, a access.Actor, id uuid.UUID) error {
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		if row.Status == StatusActive {
			return fault.Conflict("campaign_active", "an active campaign cannot be deleted; pause it first")
		}
		was, err := withStats(ctx, tx, a.OrgID, row)
		if err != nil {
			return err
		}
		if err := leads.RecordCampaignDeleted(ctx, tx, a.OrgID, id); err != nil {
			return err
		}
		if err := record(ctx, tx, a.OrgID, events.CampaignDeleted, was); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*campaignRow)(nil)).Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx); err != nil {
			return fmt.Errorf("campaigns: delete %s: %w", id, database.Interpret(err))
		}
		return nil
	})
}

// Transition moves a campaign through its lifecycle. It is the one place a
// campaign's status changes, and writes campaign.status_changed in the same
// transaction, so an event exists if and only if its change does. Activating and resuming check what sending will need
// (checkActivation).
func (s *Service) Transition(ctx context.Context, a access.Actor, id uuid.UUID, action Action) (Campaign, error) {
	var out Campaign
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		row, err := getRow(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		from := row.Status
		to, err := Next(row.Status, action)
		if err != nil {
			return err
		}
		if to == StatusActive {
			if err := checkActivation(ctx, tx, row); err != nil {
				return err
			}
		}
		q := tx.NewUpdate().Model(&row).Set("status = ?", to).Where("org_id = ? AND id = ?", a.OrgID, id)
		switch to {
		case StatusActive:
			// A person resuming clears the guard's reason for pausing.
			q = q.Set("started_at = COALESCE(started_at, now())").Set("settings = settings - 'pause_reason'")
		case StatusCompleted:
			q = q.Set("completed_at = now()")
		}
		if _, err := q.Returning("status, started_at, completed_at, updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("campaigns: %s %s: %w", action, id, database.Interpret(err))
		}
		if s.onTransition != nil {
			if err := s.onTransition(ctx, tx, a.OrgID, id, from, to); err != nil {
				return err
			}
		}
		out, err = withStats(ctx, tx, a.OrgID, row)
		if err != nil {
			return err
		}
		return record(ctx, tx, a.OrgID, events.CampaignStatusChanged, out)
	})
	return out, err
}

// checkActivation is what a campaign needs before it may send: at least
// one channel, somewhere its steps come from (a template, or sequences
// already generated for its leads), and valid settings. Problems come back
// as one 422 whose field pointers name the campaign's fields.
//
// The sending issue extends this function, and only this one: an email
// channel will need an active, connected email account
// (campaigns.email_account_id), WhatsApp and SMS a messaging account.
func checkActivation(ctx context.Context, tx bun.IDB, r campaignRow) error {
	var fields fault.Fields
	if len(r.Channels) == 0 {
		fields.Add("/channels", "required", "name at least one channel to send on")
	}
	if r.TemplateID == nil {
		has, err := tx.NewSelect().Table("sequences").Where("org_id = ? AND campaign_id = ?", r.OrgID, r.ID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("campaigns: check sequences %s: %w", r.ID, database.Interpret(err))
		}
		if !has {
			fields.Add("/template_id", "steps_required", "choose a template, or generate sequences for the leads, before activating")
		}
	}
	ValidateSettings(r.Settings, "/settings", &fields)
	return fields.Err()
}

// Complete marks an active campaign completed, in tx (the sending
// engine's, when its last message has gone out), with campaign.completed
// and campaign.status_changed. It reports whether it changed anything.
func Complete(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (bool, error) {
	return systemTransition(ctx, tx, org, id, StatusActive, StatusCompleted, events.CampaignCompleted, "")
}

// PauseFor pauses an active campaign for the machine's reason (the
// deliverability guard), in tx, with campaign.paused (its data carries
// the reason as pause_reason) and campaign.status_changed.
func PauseFor(ctx context.Context, tx bun.IDB, org, id uuid.UUID, reason string) (bool, error) {
	return systemTransition(ctx, tx, org, id, StatusActive, StatusPaused, events.CampaignPaused, reason)
}

// systemTransition moves campaign id from one status to another with no
// actor, recording what and why.
func systemTransition(ctx context.Context, tx bun.IDB, org, id uuid.UUID, from, to Status, t events.Type, reason string) (bool, error) {
	var row campaignRow
	q := tx.NewUpdate().Model(&row).Set("status = ?", to).Where("org_id = ? AND id = ? AND status = ?", org, id, from)
	if to == StatusCompleted {
		q = q.Set("completed_at = now()")
	}
	if reason != "" {
		q = q.Set("settings = jsonb_set(settings, '{pause_reason}', to_jsonb(?::text))", reason)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("campaigns: %s %s: %w", to, id, database.Interpret(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if row, err = getRow(ctx, tx, org, id, false); err != nil {
		return false, err
	}
	c, err := withStats(ctx, tx, org, row)
	if err != nil {
		return false, err
	}
	if err := record(ctx, tx, org, t, c); err != nil {
		return false, err
	}
	return true, record(ctx, tx, org, events.CampaignStatusChanged, c)
}
