// Package leads owns the people a campaign contacts: creating them
// (normalised, validated, never a suppressed contact), reading them with
// their campaign, sequence and message timeline, listing them with filters
// and free-text search (keyset-paged), changing them one at a time or in
// bulk, and deleting them.
//
// Tables: leads owns leads. It reads campaigns (a lead's campaign must be
// the organisation's), suppressions (through suppressions.Check), and
// sequences and messages for a lead's timeline; it writes none of them.
//
// Rules kept here:
//   - emails trimmed, lower-cased and syntax-checked (contact.Email);
//     phones to E.164 (contact.Phone) read in the lead's country, else
//     the organisation's default_country;
//   - a lead is identified within its campaign (or within "no campaign")
//     by its email, else by its phone number: the same one may be in
//     several campaigns, never twice in one (leads_org_campaign_email_key,
//     leads_org_campaign_phone_key; a duplicate is a 409);
//   - a suppressed address, domain or phone number is refused (422, the
//     error names the suppression's kind);
//   - SkipIfInOtherCampaign refuses an address already in another of the
//     organisation's campaigns (409).
//
// Any member or API key may do everything here: leads are the
// organisation's data.
package leads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// Statuses a lead can be in (the table's CHECK), in the spec's order.
var Statuses = []string{"new", "sequenced", "contacted", "replied", "interested", "not_interested", "bounced", "unsubscribed", "converted"}

// ValidStatus reports whether s is a lead status.
func ValidStatus(s string) bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Lead is a lead as the API shows it.
type Lead struct {
	ID              uuid.UUID
	CampaignID      *uuid.UUID
	Email           *string
	Phone           *string
	WhatsApp        *string
	FirstName       *string
	LastName        *string
	FullName        string
	Company         *string
	JobTitle        *string
	LinkedInURL     *string
	Website         *string
	City            *string
	State           *string
	Country         *string
	Timezone        *string
	CustomFields    map[string]any
	EnrichmentData  map[string]any
	Status          string
	IsApproved      bool
	ApprovedAt      *time.Time
	ApprovedBy      *uuid.UUID // the user who approved; nil for an API key, the policy, or a lead approved on arrival
	Source          *string
	UnsubscribedAt  *time.Time
	RepliedAt       *time.Time
	LastContactedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

type leadRow struct {
	bun.BaseModel `bun:"table:leads"`

	ID              uuid.UUID      `bun:"id,pk,type:uuid"`
	OrgID           uuid.UUID      `bun:"org_id,type:uuid"`
	CampaignID      *uuid.UUID     `bun:"campaign_id,type:uuid"`
	Email           *string        `bun:"email"`
	Phone           *string        `bun:"phone"`
	WhatsApp        *string        `bun:"whatsapp"`
	FirstName       *string        `bun:"first_name"`
	LastName        *string        `bun:"last_name"`
	FullName        string         `bun:"full_name,scanonly"`
	Company         *string        `bun:"company"`
	JobTitle        *string        `bun:"job_title"`
	LinkedInURL     *string        `bun:"linkedin_url"`
	Website         *string        `bun:"website"`
	City            *string        `bun:"city"`
	State           *string        `bun:"state"`
	Country         *string        `bun:"country"`
	Timezone        *string        `bun:"timezone"`
	CustomFields    map[string]any `bun:"custom_fields,type:jsonb"`
	EnrichmentData  map[string]any `bun:"enrichment_data,type:jsonb,nullzero,default:'{}'"`
	Status          string         `bun:"status"`
	IsApproved      bool           `bun:"is_approved"`
	ApprovedAt      *time.Time     `bun:"approved_at"`
	ApprovedBy      *uuid.UUID     `bun:"approved_by,type:uuid"`
	Source          *string        `bun:"source"`
	UnsubscribedAt  *time.Time     `bun:"unsubscribed_at"`
	RepliedAt       *time.Time     `bun:"replied_at"`
	LastContactedAt *time.Time     `bun:"last_contacted_at"`
	CreatedAt       time.Time      `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt       time.Time      `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// leadColumns are leadRow's columns, for RETURNING: the leads table has
// columns that leadRow does not read.
var leadColumns = []string{"id", "org_id", "campaign_id", "email", "phone", "whatsapp", "first_name", "last_name", "full_name", "company", "job_title", "linkedin_url", "website", "city", "state", "country", "timezone", "custom_fields", "enrichment_data", "status", "is_approved", "approved_at", "approved_by", "source", "unsubscribed_at", "replied_at", "last_contacted_at", "created_at", "updated_at"}

// returning lists leadColumns for a RETURNING clause, each qualified by
// prefix ("l." or "").
func returning(prefix string) string {
	out := make([]string, len(leadColumns))
	for i, c := range leadColumns {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

func (r leadRow) key() uuid.UUID { return r.ID }

func (r leadRow) view() Lead {
	cf, ed := r.CustomFields, r.EnrichmentData
	if cf == nil {
		cf = map[string]any{}
	}
	if ed == nil {
		ed = map[string]any{}
	}
	return Lead{
		ID: r.ID, CampaignID: r.CampaignID, Email: r.Email, Phone: r.Phone, WhatsApp: r.WhatsApp,
		FirstName: r.FirstName, LastName: r.LastName, FullName: r.FullName, Company: r.Company, JobTitle: r.JobTitle,
		LinkedInURL: r.LinkedInURL, Website: r.Website, City: r.City, State: r.State, Country: r.Country, Timezone: r.Timezone,
		CustomFields: cf, EnrichmentData: ed, Status: r.Status, IsApproved: r.IsApproved, ApprovedAt: r.ApprovedAt, ApprovedBy: r.ApprovedBy,
		Source: r.Source, UnsubscribedAt: r.UnsubscribedAt, RepliedAt: r.RepliedAt, LastContactedAt: r.LastContactedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// Service implements the rules.
type Service struct {
	db *database.DB
}

// NewService builds the service.
func NewService(db *database.DB) *Service { return &Service{db: db} }

// Fields are a lead's own values as a caller writes them; nil leaves a
// field out (on create: empty; on update: unchanged). An empty string
// clears a field on update.
type Fields struct {
	Email        *string
	Phone        *string
	WhatsApp     *string
	FirstName    *string
	LastName     *string
	Company      *string
	JobTitle     *string
	LinkedInURL  *string
	Website      *string
	City         *string
	State        *string
	Country      *string
	Timezone     *string
	CustomFields map[string]any
	Source       *string
	// Region (ISO-2) reads phone numbers written without a country code
	// when the lead has no country. Empty: the organisation's
	// default_country setting. It is not stored.
	Region string
}

// Create is a new lead.
type Create struct {
	Fields
	CampaignID *uuid.UUID
	// Status defaults to new; IsApproved to ApprovedOnArrival (the
	// campaign's approval mode). An explicit true records the actor as
	// the approver.
	Status     string
	IsApproved *bool
	// SkipIfInOtherCampaign refuses (409 in_other_campaign) an address or
	// phone number already in another campaign of the organisation.
	SkipIfInOtherCampaign bool
}

// Create adds one lead.
func (s *Service) Create(ctx context.Context, a access.Actor, c Create) (Lead, error) {
	r := leadRow{ID: uuid.Must(uuid.NewV7()), OrgID: a.OrgID, CampaignID: c.CampaignID, Status: "new", IsApproved: true, CustomFields: map[string]any{}}
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := c.Fields.withOrgRegion(ctx, tx, a.OrgID); err != nil {
			return err
		}
		return s.create(ctx, tx, a, c, &r)
	})
	if err != nil {
		return Lead{}, err
	}
	return r.view(), nil
}

// withOrgRegion fills in.Region with the organisation's default_country
// when a phone number is given and no region is; it reads the
// organisation only then.
func (in *Fields) withOrgRegion(ctx context.Context, tx bun.IDB, org uuid.UUID) error {
	if in.Region != "" || (in.Phone == nil && in.WhatsApp == nil) {
		return nil
	}
	o, err := orgs.GetOrganization(ctx, tx, org)
	if err != nil {
		return fmt.Errorf("leads: default country: %w", err)
	}
	in.Region = o.Settings.DefaultCountry
	return nil
}

func (s *Service) create(ctx context.Context, tx bun.IDB, a access.Actor, c Create, r *leadRow) error {
	var f fault.Fields
	apply(r, c.Fields, &f)
	if c.Status != "" {
		if !ValidStatus(c.Status) {
			f.Add("/status", "invalid_status", "must be one of "+strings.Join(Statuses, ", "))
		}
		r.Status = c.Status
	}
	if c.IsApproved != nil {
		r.IsApproved = *c.IsApproved
	}
	if r.IsApproved && c.IsApproved != nil {
		now := time.Now()
		r.ApprovedAt = &now
		r.ApprovedBy = userOf(a)
	}
	if r.Email == nil && r.Phone == nil && r.WhatsApp == nil {
		f.Add("/email", "required", "a lead needs an email, a phone or a whatsapp number")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if err := checkCampaign(ctx, tx, a.OrgID, r.CampaignID); err != nil {
		return err
	}
	if c.IsApproved == nil {
		ok, err := ApprovedOnArrival(ctx, tx, a.OrgID, r.CampaignID)
		if err != nil {
			return err
		}
		r.IsApproved = ok
	}
	if err := checkSuppressed(ctx, tx, *r); err != nil {
		return err
	}
	if c.SkipIfInOtherCampaign {
		if err := checkOtherCampaign(ctx, tx, a.OrgID, *r); err != nil {
			return err
		}
	}
	if _, err := tx.NewInsert().Model(r).Returning("full_name, created_at, updated_at").Exec(ctx); err != nil {
		return writeError("create", r.ID, err)
	}
	return record(ctx, tx, a.OrgID, events.LeadCreated, []leadRow{*r})
}

// RecordCreated writes lead.created for the leads ids name, in tx: the
// transaction that inserted them (a bulk insert elsewhere, such as an
// import's). It reads them back to snapshot them as the API returns them.
func RecordCreated(ctx context.Context, tx bun.IDB, org uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []leadRow
	if err := tx.NewSelect().Model(&rows).Where("org_id = ? AND id IN (?)", org, bun.In(ids)).Scan(ctx); err != nil {
		return fmt.Errorf("leads: read created: %w", database.Interpret(err))
	}
	return record(ctx, tx, org, events.LeadCreated, rows)
}

// RecordCampaignDeleted writes lead.deleted for the leads of campaign, in
// tx, just before the campaign's deletion takes them with it (the
// schema's cascade): one per lead only while an enabled webhook endpoint
// subscribes to lead.deleted, as for an import's leads; campaign.deleted
// says the rest.
func RecordCampaignDeleted(ctx context.Context, tx bun.IDB, org, campaign uuid.UUID) error {
	listening, err := events.Subscribed(ctx, tx, org, events.LeadDeleted)
	if err != nil || !listening {
		return err
	}
	var rows []leadRow
	if err := tx.NewSelect().Model(&rows).Where("org_id = ? AND campaign_id = ?", org, campaign).Scan(ctx); err != nil {
		return fmt.Errorf("leads: read the leads of campaign %s: %w", campaign, database.Interpret(err))
	}
	return record(ctx, tx, org, events.LeadDeleted, rows)
}

// record writes one event of type t per row, with the lead as the API
// returns it, in tx: the transaction of the change. A bulk change's events
// follow the leads' order (oldest lead first).
func record(ctx context.Context, tx bun.IDB, org uuid.UUID, t events.Type, rows []leadRow) error {
	slices.SortFunc(rows, func(a, b leadRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	batch := make([]events.New, len(rows))
	for i, r := range rows {
		batch[i] = events.New{Type: t, ObjectID: r.ID, Data: r.view().Resource()}
	}
	if _, err := events.RecordBatch(ctx, tx, org, batch); err != nil {
		return fmt.Errorf("leads: %w", err)
	}
	return nil
}

func userOf(a access.Actor) *uuid.UUID {
	if a.UserID == uuid.Nil {
		return nil
	}
	u := a.UserID
	return &u
}

// apply normalises the fields given into r, adding what is wrong to f.
func apply(r *leadRow, in Fields, f *fault.Fields) {
	text := func(dst **string, v *string, field string, max int) {
		if v == nil {
			return
		}
		t := strings.TrimSpace(*v)
		if t == "" {
			*dst = nil
			return
		}
		if len(t) > max {
			f.Add(field, "too_long", fmt.Sprintf("must be at most %d bytes", max))
		}
		*dst = &t
	}
	text(&r.FirstName, in.FirstName, "/first_name", 200)
	text(&r.LastName, in.LastName, "/last_name", 200)
	text(&r.Company, in.Company, "/company", 300)
	text(&r.JobTitle, in.JobTitle, "/job_title", 300)
	text(&r.LinkedInURL, in.LinkedInURL, "/linkedin_url", 2000)
	text(&r.Website, in.Website, "/website", 2000)
	text(&r.City, in.City, "/city", 200)
	text(&r.State, in.State, "/state", 200)
	text(&r.Source, in.Source, "/source", 200)
	if in.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*in.Country))
		switch {
		case c == "":
			r.Country = nil
		case contact.Region(c, "") != c:
			f.Add("/country", "invalid_country", "must be an ISO 3166-1 alpha-2 code")
		default:
			r.Country = &c
		}
	}
	if in.Timezone != nil {
		tz := strings.TrimSpace(*in.Timezone)
		if tz == "" {
			r.Timezone = nil
		} else if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			f.Add("/timezone", "invalid_timezone", "must be an IANA time zone such as Europe/Berlin")
		} else {
			r.Timezone = &tz
		}
	}
	if in.Email != nil {
		if strings.TrimSpace(*in.Email) == "" {
			r.Email = nil
		} else if e, p, ok := contact.Email(*in.Email); !ok {
			f.Add("/email", p.Code, p.Message)
		} else {
			r.Email = &e
		}
	}
	country := ""
	if r.Country != nil {
		country = *r.Country
	}
	region := contact.Region(country, in.Region)
	phone := func(dst **string, v *string, field string) {
		if v == nil {
			return
		}
		if strings.TrimSpace(*v) == "" {
			*dst = nil
		} else if n, p, ok := contact.Phone(*v, region); !ok {
			f.Add(field, p.Code, p.Message)
		} else {
			*dst = &n
		}
	}
	phone(&r.Phone, in.Phone, "/phone")
	phone(&r.WhatsApp, in.WhatsApp, "/whatsapp")
	if in.CustomFields != nil {
		r.CustomFields = in.CustomFields
	}
}

// ApprovedOnArrival says whether a lead that arrives in campaign (created
// or imported into it) without an explicit is_approved starts approved.
// The campaign's approval mode decides (the spec's autopilot levels):
// under approve_all and approve_list a person approves the lead list, so
// the lead waits; under full_autopilot nothing waits for a person. A lead
// outside any campaign is approved: there is no list to approve yet.
// A campaign that is not the organisation's is the caller's error to
// report; here it reads as no campaign. The mode's default (settings
// without approval_mode) is approve_all, as campaigns.Settings.Approval.
func ApprovedOnArrival(ctx context.Context, tx bun.IDB, org uuid.UUID, campaign *uuid.UUID) (bool, error) {
	if campaign == nil {
		return true, nil
	}
	var mode []string
	if err := tx.NewRaw(`SELECT coalesce(settings->>'approval_mode', 'approve_all') FROM campaigns WHERE org_id = ? AND id = ?`,
		org, *campaign).Scan(ctx, &mode); err != nil {
		return false, fmt.Errorf("leads: approval mode of campaign %s: %w", *campaign, database.Interpret(err))
	}
	return len(mode) == 0 || mode[0] == "full_autopilot", nil
}

// checkCampaign refuses a campaign that is not the organisation's.
func checkCampaign(ctx context.Context, tx bun.IDB, org uuid.UUID, id *uuid.UUID) error {
	if id == nil {
		return nil
	}
	ok, err := tx.NewSelect().Table("campaigns").Where("org_id = ? AND id = ?", org, *id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("leads: check campaign %s: %w", *id, database.Interpret(err))
	}
	if !ok {
		return fault.Invalid(fault.FieldError{Field: "/campaign_id", Code: "not_found", Message: "no such campaign in this organisation"})
	}
	return nil
}

// checkSuppressed refuses a lead whose address, domain or a phone number
// is on the suppression list, naming which.
func checkSuppressed(ctx context.Context, tx bun.IDB, r leadRow) error {
	var c suppressions.Contact
	if r.Email != nil {
		c.Email = *r.Email
	}
	for _, p := range []*string{r.Phone, r.WhatsApp} {
		if p != nil {
			c.Phones = append(c.Phones, *p)
		}
	}
	hits, err := suppressions.Check(ctx, tx, []suppressions.Contact{c})
	if err != nil {
		return fmt.Errorf("leads: %s: %w", r.ID, err)
	}
	if len(hits) == 0 {
		return nil
	}
	s := hits[0].Suppression
	field := "/email"
	if s.Kind == contact.KindPhone {
		field = "/phone"
		if r.Phone == nil || *r.Phone != s.Value {
			field = "/whatsapp"
		}
	}
	return fault.Invalid(fault.FieldError{Field: field, Code: "suppressed_" + string(s.Kind),
		Message: fmt.Sprintf("the %s %s is on the suppression list (%s)", s.Kind, s.Value, s.Reason)})
}

// checkOtherCampaign refuses a lead whose address or phone number is
// already in another campaign of the organisation.
func checkOtherCampaign(ctx context.Context, tx bun.IDB, org uuid.UUID, r leadRow) error {
	q, args := otherCampaignQuery(org, r)
	if q == "" {
		return nil
	}
	var found bool
	if err := tx.NewRaw(q, args...).Scan(ctx, &found); err != nil {
		return fmt.Errorf("leads: %s: check other campaigns: %w", r.ID, database.Interpret(err))
	}
	if found {
		return fault.Conflict("in_other_campaign", "this contact is already a lead in another campaign of the organisation")
	}
	return nil
}

// otherCampaignQuery is checkOtherCampaign's query: one EXISTS per
// contact column the lead has, each a plain equality on the column an
// index leads with after org_id (email: leads_org_campaign_email_key,
// phone: leads_org_phone_idx, whatsapp: leads_org_whatsapp_idx), so that
// each is an index scan even under row-level security (text and uuid
// equality are leakproof; lower() is not, which is why emails are stored
// lower-case). Empty when the lead has no contact to look for.
func otherCampaignQuery(org uuid.UUID, r leadRow) (string, []any) {
	var parts []string
	var args []any
	for _, c := range []struct {
		col string
		v   *string
	}{{"email", r.Email}, {"phone", r.Phone}, {"whatsapp", r.WhatsApp}} {
		if c.v == nil {
			continue
		}
		part := "EXISTS (SELECT 1 FROM leads WHERE org_id = ? AND " + c.col + " = ? AND id <> ? AND campaign_id IS NOT NULL"
		args = append(args, org, *c.v, r.ID)
		if r.CampaignID != nil {
			part += " AND campaign_id <> ?"
			args = append(args, *r.CampaignID)
		}
		parts = append(parts, part+")")
	}
	if len(parts) == 0 {
		return "", nil
	}
	return "SELECT " + strings.Join(parts, " OR "), args
}

// writeError turns a failed insert or update into a fault.
func writeError(op string, id uuid.UUID, err error) error {
	err = database.Interpret(err)
	switch {
	case database.IsConstraint(err, "leads_org_campaign_email_key"):
		return fault.Conflict("duplicate_lead", "a lead with this email is already in the campaign").WithCause(err)
	case database.IsConstraint(err, "leads_org_campaign_phone_key"):
		// A lead without an email is identified by its phone number.
		return fault.Conflict("duplicate_lead", "a lead with this phone number and no email is already in the campaign").WithCause(err)
	case errors.Is(err, database.ErrReference):
		return fault.Invalid(fault.FieldError{Field: "/campaign_id", Code: "not_found", Message: "no such campaign in this organisation"}).WithCause(err)
	case errors.Is(err, database.ErrCheck):
		return fault.Invalid(fault.FieldError{Field: "", Code: "invalid", Message: "a value breaks a rule of the lead"}).WithCause(err)
	}
	return fmt.Errorf("leads: %s %s: %w", op, id, err)
}

func getRow(ctx context.Context, tx bun.IDB, org, id uuid.UUID, lock bool) (leadRow, error) {
	var r leadRow
	q := tx.NewSelect().Model(&r).Where("org_id = ? AND id = ?", org, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return leadRow{}, fault.NotFound("lead")
		}
		return leadRow{}, fmt.Errorf("leads: get %s: %w", id, err)
	}
	return r, nil
}

// Update is a change to one lead; nil fields stay as they are.
type Update struct {
	Fields
	// CampaignID moves the lead; ClearCampaign takes it out of any.
	CampaignID    *uuid.UUID
	ClearCampaign bool
	Status        *string
	IsApproved    *bool
}

// Update changes one lead. A changed address or phone number is checked
// against the suppression list again.
func (s *Service) Update(ctx context.Context, a access.Actor, id uuid.UUID, u Update) (Lead, error) {
	var out Lead
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := getRow(ctx, tx, a.OrgID, id, true)
		if err != nil {
			return err
		}
		before := r
		if err := u.Fields.withOrgRegion(ctx, tx, a.OrgID); err != nil {
			return err
		}
		var f fault.Fields
		apply(&r, u.Fields, &f)
		if u.Status != nil {
			if !ValidStatus(*u.Status) {
				f.Add("/status", "invalid_status", "must be one of "+strings.Join(Statuses, ", "))
			}
			r.Status = *u.Status
		}
		if u.IsApproved != nil && *u.IsApproved != r.IsApproved {
			r.IsApproved = *u.IsApproved
			r.ApprovedAt, r.ApprovedBy = nil, nil
			if r.IsApproved {
				now := time.Now()
				r.ApprovedAt, r.ApprovedBy = &now, userOf(a)
			}
		}
		if u.ClearCampaign {
			r.CampaignID = nil
		} else if u.CampaignID != nil {
			r.CampaignID = u.CampaignID
		}
		if r.Email == nil && r.Phone == nil && r.WhatsApp == nil {
			f.Add("/email", "required", "a lead needs an email, a phone or a whatsapp number")
		}
		if err := f.Err(); err != nil {
			return err
		}
		if u.CampaignID != nil {
			if err := checkCampaign(ctx, tx, a.OrgID, r.CampaignID); err != nil {
				return err
			}
		}
		if !same(before.Email, r.Email) || !same(before.Phone, r.Phone) || !same(before.WhatsApp, r.WhatsApp) {
			if err := checkSuppressed(ctx, tx, r); err != nil {
				return err
			}
		}
		if reflect.DeepEqual(before, r) {
			out = r.view() // nothing changes: no write, no event
			return nil
		}
		if _, err := tx.NewUpdate().Model(&r).ExcludeColumn("id", "org_id", "created_at", "updated_at").
			Where("org_id = ? AND id = ?", a.OrgID, id).Returning("full_name, updated_at").Exec(ctx); err != nil {
			return writeError("update", id, err)
		}
		out = r.view()
		return record(ctx, tx, a.OrgID, events.LeadUpdated, []leadRow{r})
	})
	return out, err
}

func same(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Delete removes one lead (its sequence and messages go with it).
func (s *Service) Delete(ctx context.Context, a access.Actor, id uuid.UUID) error {
	return s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var gone []leadRow
		err := tx.NewDelete().Model(&gone).Where("org_id = ? AND id = ?", a.OrgID, id).Returning(returning("")).Scan(ctx)
		if err != nil {
			return fmt.Errorf("leads: delete %s: %w", id, database.Interpret(err))
		}
		if len(gone) == 0 {
			return fault.NotFound("lead")
		}
		return record(ctx, tx, a.OrgID, events.LeadDeleted, gone)
	})
}

// MarkUnsubscribed records that lead unsubscribed, in tx: unsubscribed_at
// and status unsubscribed, with lead.unsubscribed. It reports whether the
// lead changed (false: already unsubscribed, or no such lead) and returns
// the lead's email (nil without one).
func MarkUnsubscribed(ctx context.Context, tx bun.IDB, org, lead uuid.UUID) (bool, *string, error) {
	var rows []leadRow
	if err := tx.NewRaw(`UPDATE leads SET unsubscribed_at = now(), status = 'unsubscribed', updated_at = now()
		WHERE org_id = ? AND id = ? AND unsubscribed_at IS NULL RETURNING `+strings.Join(leadColumns, ", "), org, lead).Scan(ctx, &rows); err != nil &&
		!errors.Is(database.Interpret(err), database.ErrNotFound) {
		return false, nil, fmt.Errorf("leads: unsubscribe %s: %w", lead, database.Interpret(err))
	}
	if len(rows) == 0 {
		return false, nil, nil
	}
	return true, rows[0].Email, record(ctx, tx, org, events.LeadUnsubscribed, rows)
}

// MarkReplied records that lead replied, in tx: replied_at and status
// replied (unless the lead is further on: interested, converted, …), with
// lead.updated. It reports whether the lead changed.
func MarkReplied(ctx context.Context, tx bun.IDB, org, lead uuid.UUID) (bool, error) {
	var rows []leadRow
	if err := tx.NewRaw(`UPDATE leads SET replied_at = coalesce(replied_at, now()),
		status = CASE WHEN status IN ('new', 'sequenced', 'contacted') THEN 'replied' ELSE status END, updated_at = now()
		WHERE org_id = ? AND id = ? AND replied_at IS NULL RETURNING `+strings.Join(leadColumns, ", "), org, lead).Scan(ctx, &rows); err != nil &&
		!errors.Is(database.Interpret(err), database.ErrNotFound) {
		return false, fmt.Errorf("leads: replied %s: %w", lead, database.Interpret(err))
	}
	if len(rows) == 0 {
		return false, nil
	}
	return true, record(ctx, tx, org, events.LeadUpdated, rows)
}
