// Package templates is the sequence template catalogue: the system
// templates every organisation sees (seeded from package seeds), public
// ones other organisations share, and an organisation's own. It lists,
// reads, writes, clones and previews them; every text in them is parsed
// with internal/placeholder, the one placeholder grammar.
//
// Visibility is enforced twice, like everywhere: queries name the caller's
// organisation, and the sequence_templates RLS policies let the app role
// read system, public and own rows and write only its own. A template the
// caller can see but not change answers not found to a write.
package templates

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Service runs template operations for an actor.
type Service struct {
	db *database.DB
}

// NewService returns a Service on db.
func NewService(db *database.DB) *Service { return &Service{db: db} }

// visible is the catalogue an organisation sees (the templates_select
// policy says the same).
const visible = "(t.org_id IS NULL OR t.is_public OR t.org_id = ?)"

// Filter narrows a list; empty fields match everything.
type Filter struct {
	Industry string
	UseCase  string
	Channel  string
}

// List pages through the templates the organisation sees, most used
// first, then by name.
func (s *Service) List(ctx context.Context, a access.Actor, f Filter, p Page) ([]Template, *string, error) {
	var rows []templateRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model(&rows).Where(visible, a.OrgID)
		if f.Industry != "" {
			q = q.Where("t.industry = ?", f.Industry)
		}
		if f.UseCase != "" {
			q = q.Where("t.use_case = ?", f.UseCase)
		}
		if f.Channel != "" {
			q = q.Where("? = ANY (t.channels)", f.Channel)
		}
		if c := p.after; c != nil {
			q = q.Where("(t.usage_count < ? OR (t.usage_count = ? AND (t.name, t.id) > (?, ?)))", c.Usage, c.Usage, c.Name, c.ID)
		}
		err := q.OrderExpr("t.usage_count DESC, t.name, t.id").Limit(int64(p.Limit + 1)).Scan(ctx)
		return database.Interpret(err)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("templates: list: %w", err)
	}
	rows, next := pagination.TrimKeyed(p.Limit, rows, func(last templateRow) string {
		return encodeCursor(cursor{Usage: last.UsageCount, Name: last.Name, ID: last.ID})
	})
	out := make([]Template, len(rows))
	for i, r := range rows {
		out[i] = r.view(a.OrgID)
	}
	return out, next, nil
}

// Get reads one template the organisation sees.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Template, error) {
	var t templateRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		t, err = get(ctx, tx, a.OrgID, id)
		return err
	})
	if err != nil {
		return Template{}, err
	}
	return t.view(a.OrgID), nil
}

func get(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (templateRow, error) {
	var t templateRow
	err := tx.NewSelect().Model(&t).Where("t.id = ?", id).Where(visible, org).Scan(ctx)
	if err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return templateRow{}, fault.NotFound("template")
		}
		return templateRow{}, fmt.Errorf("templates: get %s: %w", id, err)
	}
	return t, nil
}

// Create adds a template owned by the organisation.
func (s *Service) Create(ctx context.Context, a access.Actor, in Input) (Template, error) {
	v, err := Validate(in)
	if err != nil {
		return Template{}, err
	}
	r := v.row(uuid.Must(uuid.NewV7()), &a.OrgID)
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := insert(ctx, tx, &r); err != nil {
			return err
		}
		return record(ctx, tx, a.OrgID, events.TemplateCreated, r)
	})
	if err != nil {
		return Template{}, err
	}
	return r.view(a.OrgID), nil
}

func insert(ctx context.Context, tx bun.IDB, r *templateRow) error {
	_, err := tx.NewInsert().Model(r).
		Column("id", "org_id", "name", "description", "industry", "use_case", "steps", "channels", "is_public", "is_system").
		Returning("usage_count, created_at, updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("templates: create: %w", database.Interpret(err))
	}
	return nil
}

// Update is a partial change: nil fields stay as they are. Steps, when
// sent, replace all steps.
type Update struct {
	Name        *string
	Description *string
	Industry    *string
	UseCase     *string
	IsPublic    *bool
	Steps       *[]StepInput
}

// Update changes one of the organisation's own templates; a system
// template or another organisation's answers not found.
func (s *Service) Update(ctx context.Context, a access.Actor, id uuid.UUID, u Update) (Template, error) {
	var r templateRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		err := tx.NewSelect().Model(&r).Where("t.id = ? AND t.org_id = ?", id, a.OrgID).For("UPDATE").Scan(ctx)
		if err != nil {
			err = database.Interpret(err)
			if errors.Is(err, database.ErrNotFound) {
				return fault.NotFound("template")
			}
			return fmt.Errorf("templates: update %s: %w", id, err)
		}
		in := r.input()
		apply(&in.Name, u.Name)
		apply(&in.Description, u.Description)
		apply(&in.Industry, u.Industry)
		apply(&in.UseCase, u.UseCase)
		apply(&in.IsPublic, u.IsPublic)
		apply(&in.Steps, u.Steps)
		v, err := Validate(in)
		if err != nil {
			return err
		}
		next := v.row(r.ID, r.OrgID)
		_, err = tx.NewUpdate().Model(&next).
			Column("name", "description", "industry", "use_case", "steps", "channels", "is_public").
			Where("id = ? AND org_id = ?", id, a.OrgID).
			Returning("usage_count, is_system, created_at, updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("templates: update %s: %w", id, database.Interpret(err))
		}
		r = next
		return record(ctx, tx, a.OrgID, events.TemplateUpdated, r)
	})
	if err != nil {
		return Template{}, err
	}
	return r.view(a.OrgID), nil
}

func apply[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (r templateRow) input() Input {
	in := Input{Name: r.Name, Description: deref(r.Description), Industry: deref(r.Industry), UseCase: deref(r.UseCase), IsPublic: r.IsPublic}
	for _, s := range r.Steps {
		in.Steps = append(in.Steps, StepInput{DelayDays: s.DelayDays, Channel: s.Channel, Subject: s.Subject, Body: s.Body})
	}
	return in
}

// Delete removes one of the organisation's own templates; campaigns and
// sequences made from it keep their copies (their template_id becomes
// NULL). A system template or another organisation's answers not found.
func (s *Service) Delete(ctx context.Context, a access.Actor, id uuid.UUID) error {
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var gone []templateRow
		err := tx.NewDelete().Model(&gone).Where("id = ? AND org_id = ?", id, a.OrgID).Returning("*").Scan(ctx)
		if err != nil {
			return fmt.Errorf("templates: delete %s: %w", id, database.Interpret(err))
		}
		if len(gone) == 0 {
			return fault.NotFound("template")
		}
		return record(ctx, tx, a.OrgID, events.TemplateDeleted, gone[0])
	})
}

// Clone copies a template the organisation sees (a system one, typically)
// into a new private template of its own, named name or, when name is
// empty, like the source; the source's usage count goes up by one.
func (s *Service) Clone(ctx context.Context, a access.Actor, id uuid.UUID, name string) (Template, error) {
	var r templateRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		src, err := get(ctx, tx, a.OrgID, id)
		if err != nil {
			return err
		}
		in := src.input()
		in.IsPublic = false
		if name != "" {
			in.Name = name
		}
		v, err := Validate(in)
		if err != nil {
			return err
		}
		r = v.row(uuid.Must(uuid.NewV7()), &a.OrgID)
		if err := insert(ctx, tx, &r); err != nil {
			return err
		}
		if err := record(ctx, tx, a.OrgID, events.TemplateCreated, r); err != nil {
			return err
		}
		return countUse(ctx, tx, id)
	})
	if err != nil {
		return Template{}, err
	}
	return r.view(a.OrgID), nil
}

// record writes the template's event in tx, the change's transaction, with
// the template as the API returns it to its organisation.
func record(ctx context.Context, tx bun.IDB, org uuid.UUID, t events.Type, r templateRow) error {
	if _, err := events.Record(ctx, tx, org, events.New{Type: t, ObjectID: r.ID, Data: r.view(org).Resource()}); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	return nil
}

// countUse adds one to a visible template's usage_count through the
// owner-run template_count_use function: the app role cannot write a
// system or another organisation's row itself.
func countUse(ctx context.Context, tx bun.IDB, id uuid.UUID) error {
	var ok bool
	if err := tx.NewRaw("SELECT template_count_use(?)", id).Scan(ctx, &ok); err != nil {
		return fmt.Errorf("templates: count use of %s: %w", id, database.Interpret(err))
	}
	if !ok {
		return fault.NotFound("template")
	}
	return nil
}

// Preview is a template rendered for one lead.
type Preview struct {
	TemplateID uuid.UUID
	Steps      []Step
	// Unresolved names the placeholders that had neither a value nor a
	// fallback, once each, in order of first appearance.
	Unresolved []string
	// Sample says the lead was SampleLead, because none was given.
	Sample bool
}

// Preview renders a template the organisation sees for lead (SampleLead
// when nil), with the organisation's business context as the sender.
func (s *Service) Preview(ctx context.Context, a access.Actor, id uuid.UUID, lead *Lead) (Preview, error) {
	var (
		t   templateRow
		org orgs.Organization
	)
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if t, err = get(ctx, tx, a.OrgID, id); err != nil {
			return err
		}
		org, err = orgs.GetOrganization(ctx, tx, a.OrgID)
		return err
	})
	if err != nil {
		return Preview{}, err
	}
	p := Preview{TemplateID: t.ID, Sample: lead == nil}
	l := SampleLead()
	if lead != nil {
		l = *lead
	}
	p.Steps, p.Unresolved = RenderSteps(t.Steps, Values(l, org.BusinessContext))
	return p, nil
}
