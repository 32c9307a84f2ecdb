// Package orgs owns organisations and who may act in them: settings and
// business context, members and their roles, invites, and API keys. Every
// method runs in a tenant transaction (database.InTenant), so row-level
// security backs the org scoping written in each query.
//
// Tables: orgs owns organizations (all but the llm_* columns, which
// llmsettings owns), memberships, invites and api_keys. Other packages
// read and write them only through the exported functions taking a
// bun.IDB (CreateOrganization, AddMember, MemberRole, UserMemberships,
// LookupInvite, MarkInviteAccepted, LookupAPIKey, GetAPIKey, TouchAPIKey),
// which return views without hashes. orgs reads users (auth's) for names,
// addresses and verification, and ends a removed member's sessions with
// the database function auth_end_member_sessions; it never writes users.
package orgs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/contact"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/mailer"
)

// Service implements the rules.
type Service struct {
	db        *database.DB
	inviteTTL time.Duration
	publicURL string
	mail      mailer.Mailer
	expose    bool
	now       func() time.Time
}

// NewService builds the service. publicURL is where invite links point;
// invites are mailed with m. exposeInviteTokens puts the invite token and
// link in CreateInvite's result too: for development only, since the token
// must reach only the invitee's mailbox for accepting to prove they own
// the address.
func NewService(db *database.DB, inviteTTL time.Duration, publicURL string, m mailer.Mailer, exposeInviteTokens bool) *Service {
	return &Service{db: db, inviteTTL: inviteTTL, publicURL: strings.TrimRight(publicURL, "/"), mail: m, expose: exposeInviteTokens, now: time.Now}
}

// Get returns the actor's organisation.
func (s *Service) Get(ctx context.Context, a access.Actor) (Organization, error) {
	var org Organization
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		org, err = GetOrganization(ctx, tx, a.OrgID)
		return err
	})
	return org, err
}

// GetOrganization reads one organisation (visible only in its own tenant).
func GetOrganization(ctx context.Context, db bun.IDB, id uuid.UUID) (Organization, error) {
	var org organizationRow
	if err := db.NewSelect().Model(&org).Where("id = ?", id).Scan(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return Organization{}, fault.NotFound("organization")
		}
		return Organization{}, fmt.Errorf("orgs: get %s: %w", id, err)
	}
	return org.view(), nil
}

// Update is a partial change: nil fields stay as they are; in
// BusinessContext and Settings, each key sent replaces the stored one.
type Update struct {
	Name            *string
	BusinessContext *BusinessContext
	Settings        *SettingsPatch
}

// SettingsPatch holds the settings keys sent.
type SettingsPatch struct {
	Timezone              *string
	DefaultSequenceLength *int
	SendWindowStart       *string
	SendWindowEnd         *string
	SendDays              *[]string
	// DefaultCountry "" clears the setting.
	DefaultCountry *string
}

// Update applies u after checking the actor's role and the settings rules.
func (s *Service) Update(ctx context.Context, a access.Actor, u Update) (Organization, error) {
	if err := a.RequireAdmin("change organisation settings"); err != nil {
		return Organization{}, err
	}
	var org organizationRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := tx.NewSelect().Model(&org).Where("id = ?", a.OrgID).For("UPDATE").Scan(ctx); err != nil {
			return fmt.Errorf("orgs: lock %s: %w", a.OrgID, database.Interpret(err))
		}
		if u.Name != nil {
			org.Name = strings.TrimSpace(*u.Name)
		}
		if u.BusinessContext != nil {
			org.BusinessContext = mergeBusinessContext(org.BusinessContext, *u.BusinessContext)
		}
		if u.Settings != nil {
			org.Settings = mergeSettings(org.Settings, *u.Settings)
		}
		var fields fault.Fields
		if u.Name != nil && org.Name == "" {
			fields.Add("/name", "required", "must not be blank")
		}
		if u.Settings != nil {
			ValidateSettings(org.Settings, "/settings", &fields)
		}
		if err := fields.Err(); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model(&org).Column("name", "business_context", "settings").
			Where("id = ?", a.OrgID).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("orgs: update %s: %w", a.OrgID, database.Interpret(err))
		}
		return nil
	})
	if err != nil {
		return Organization{}, err
	}
	return org.view(), nil
}

func mergeBusinessContext(cur, p BusinessContext) BusinessContext {
	set := func(dst **string, src *string) {
		if src != nil {
			v := strings.TrimSpace(*src)
			*dst = &v
		}
	}
	set(&cur.CompanyName, p.CompanyName)
	set(&cur.Industry, p.Industry)
	set(&cur.TargetAudience, p.TargetAudience)
	set(&cur.ValueProposition, p.ValueProposition)
	set(&cur.Tone, p.Tone)
	set(&cur.CTA, p.CTA)
	set(&cur.SenderName, p.SenderName)
	set(&cur.SenderTitle, p.SenderTitle)
	set(&cur.PostalAddress, p.PostalAddress)
	if p.KeyPainPoints != nil {
		cur.KeyPainPoints = p.KeyPainPoints
	}
	if p.CaseStudies != nil {
		cur.CaseStudies = p.CaseStudies
	}
	return cur
}

func mergeSettings(cur Settings, p SettingsPatch) Settings {
	if p.Timezone != nil {
		cur.Timezone = *p.Timezone
	}
	if p.DefaultSequenceLength != nil {
		cur.DefaultSequenceLength = *p.DefaultSequenceLength
	}
	if p.SendWindowStart != nil {
		cur.SendWindowStart = *p.SendWindowStart
	}
	if p.SendWindowEnd != nil {
		cur.SendWindowEnd = *p.SendWindowEnd
	}
	if p.SendDays != nil {
		cur.SendDays = *p.SendDays
	}
	if p.DefaultCountry != nil {
		cur.DefaultCountry = strings.ToUpper(strings.TrimSpace(*p.DefaultCountry))
	}
	return cur
}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

var weekdays = map[string]bool{
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true,
	"friday": true, "saturday": true, "sunday": true,
}

// ValidateSettings checks the rules the schema alone cannot: a real IANA
// zone, a window that opens before it closes, weekdays without repeats,
// and a default country that is one (an ISO 3166-1 alpha-2 code with a
// telephone numbering plan, since reading phone numbers is what it is for).
// base is the JSON pointer of the settings object in the request.
func ValidateSettings(st Settings, base string, f *fault.Fields) {
	sc := Schedule{Timezone: st.Timezone, SendWindowStart: st.SendWindowStart, SendWindowEnd: st.SendWindowEnd, SendDays: st.SendDays}
	validateTimezone(sc, base, f)
	if st.DefaultSequenceLength < 1 || st.DefaultSequenceLength > 10 {
		f.Add(base+"/default_sequence_length", "out_of_range", "must be between 1 and 10")
	}
	validateWindowAndDays(sc, base, f)
	if c := st.DefaultCountry; c != "" && contact.Region(c, "") != c {
		f.Add(base+"/default_country", "invalid_country", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code such as GB", c))
	}
}

// Schedule is when sending may happen: the part of the organisation's
// settings that a campaign's settings repeat (and default from).
type Schedule struct {
	Timezone        string
	SendWindowStart string
	SendWindowEnd   string
	SendDays        []string
}

// ValidateSchedule is the one rule for a sending schedule, wherever it is
// set (organisation defaults, a campaign's settings): a real IANA zone, a
// window that opens before it closes (HH:MM), and at least one weekday,
// none repeated. base is the JSON pointer of the object holding the
// timezone, send_window_start, send_window_end and send_days keys.
func ValidateSchedule(st Schedule, base string, f *fault.Fields) {
	validateTimezone(st, base, f)
	validateWindowAndDays(st, base, f)
}

func validateTimezone(st Schedule, base string, f *fault.Fields) {
	if st.Timezone == "" || strings.EqualFold(st.Timezone, "local") {
		f.Add(base+"/timezone", "invalid_timezone", "must be an IANA time zone such as Europe/Berlin")
	} else if _, err := time.LoadLocation(st.Timezone); err != nil {
		f.Add(base+"/timezone", "invalid_timezone", fmt.Sprintf("%q is not an IANA time zone", st.Timezone))
	}
}

func validateWindowAndDays(st Schedule, base string, f *fault.Fields) {
	okStart, okEnd := clockRE.MatchString(st.SendWindowStart), clockRE.MatchString(st.SendWindowEnd)
	if !okStart {
		f.Add(base+"/send_window_start", "invalid_time", "must be HH:MM (24-hour)")
	}
	if !okEnd {
		f.Add(base+"/send_window_end", "invalid_time", "must be HH:MM (24-hour)")
	}
	if okStart && okEnd && st.SendWindowStart >= st.SendWindowEnd {
		f.Add(base+"/send_window_end", "window_order", "must be later than send_window_start")
	}
	if len(st.SendDays) == 0 {
		f.Add(base+"/send_days", "required", "must name at least one weekday")
	}
	seen := map[string]bool{}
	for i, d := range st.SendDays {
		switch {
		case !weekdays[d]:
			f.Add(fmt.Sprintf("%s/send_days/%d", base, i), "invalid_weekday", fmt.Sprintf("%q is not a weekday", d))
		case seen[d]:
			f.Add(fmt.Sprintf("%s/send_days/%d", base, i), "duplicate", fmt.Sprintf("%q is repeated", d))
		}
		seen[d] = true
	}
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify makes the base of an organisation's slug from its name.
func Slugify(name string) string {
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	if s == "" {
		s = "org"
	}
	return s
}

// CreateOrganization inserts a new organisation in the tenant transaction
// opened for its (pre-generated) id, finding a free slug: the name's slug,
// or that slug with a random suffix when taken. Each try runs in a
// savepoint so a taken slug does not abort the transaction.
func CreateOrganization(ctx context.Context, tx bun.IDB, id uuid.UUID, name string) (Organization, error) {
	org := organizationRow{
		ID: id, Name: strings.TrimSpace(name), Settings: DefaultSettings(),
		SubscriptionTier: "free", SubscriptionStatus: "active",
	}
	base := Slugify(name)
	for attempt := 0; attempt < 5; attempt++ {
		org.Slug = base
		if attempt > 0 {
			org.Slug = base + "-" + strings.ToLower(uuid.NewString()[:6])
		}
		err := tx.RunInTx(ctx, nil, func(ctx context.Context, sp bun.Tx) error {
			_, err := sp.NewInsert().Model(&org).Returning("created_at, updated_at").Exec(ctx)
			return err
		})
		if err == nil {
			return org.view(), nil
		}
		if !database.IsConstraint(err, "organizations_slug_key") {
			return Organization{}, fmt.Errorf("orgs: create %q: %w", name, database.Interpret(err))
		}
	}
	return Organization{}, fmt.Errorf("orgs: create %q: no free slug after 5 tries", name)
}

// AddMember inserts a membership.
func AddMember(ctx context.Context, db bun.IDB, orgID, userID uuid.UUID, role access.Role) (Membership, error) {
	m := membershipRow{ID: uuid.Must(uuid.NewV7()), OrgID: orgID, UserID: userID, Role: role}
	if _, err := db.NewInsert().Model(&m).Returning("created_at, updated_at").Exec(ctx); err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrConflict) {
			return Membership{}, fault.Conflict("already_member", "this person is already a member of the organisation")
		}
		return Membership{}, fmt.Errorf("orgs: add member %s to %s: %w", userID, orgID, err)
	}
	if err := recordMember(ctx, db, orgID, userID, events.MemberAdded); err != nil {
		return Membership{}, err
	}
	return m.view(), nil
}

// recordMember writes a member event in tx, the change's transaction, with
// the member as the API returns it (read back, so it carries the user's
// email and name).
func recordMember(ctx context.Context, tx bun.IDB, orgID, userID uuid.UUID, t events.Type) error {
	m, err := getMember(ctx, tx, orgID, userID)
	if err != nil {
		return err
	}
	return recordMemberView(ctx, tx, orgID, m, t)
}

func recordMemberView(ctx context.Context, tx bun.IDB, orgID uuid.UUID, m Member, t events.Type) error {
	if _, err := events.Record(ctx, tx, orgID, events.New{Type: t, ObjectID: m.UserID, Data: m.Resource()}); err != nil {
		return fmt.Errorf("orgs: %w", err)
	}
	return nil
}

// MemberRole returns a user's role in the tenant's organisation.
func MemberRole(ctx context.Context, db bun.IDB, orgID, userID uuid.UUID) (access.Role, error) {
	var role access.Role
	err := db.NewSelect().Model((*membershipRow)(nil)).Column("role").
		Where("org_id = ? AND user_id = ?", orgID, userID).Scan(ctx, &role)
	if err != nil {
		err = database.Interpret(err)
		if errors.Is(err, database.ErrNotFound) {
			return "", fault.Unauthorized("not_a_member", "you are not a member of this organisation")
		}
		return "", fmt.Errorf("orgs: member role: %w", err)
	}
	return role, nil
}

// UserMemberships lists the organisations userID belongs to, oldest
// membership first, across tenants: it reads through the database function
// auth_memberships, so it works before a tenant is chosen (sign-in) and
// shows only organisation ids and roles.
func UserMemberships(ctx context.Context, db bun.IDB, userID uuid.UUID) ([]Membership, error) {
	var rows []struct {
		OrgID     uuid.UUID   `bun:"org_id"`
		Role      access.Role `bun:"role"`
		CreatedAt time.Time   `bun:"created_at"`
	}
	if err := db.NewRaw(`SELECT org_id, role, created_at FROM auth_memberships(?)`, userID).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("orgs: memberships of %s: %w", userID, database.Interpret(err))
	}
	out := make([]Membership, len(rows))
	for i, r := range rows {
		out[i] = Membership{OrgID: r.OrgID, UserID: userID, Role: r.Role, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// Location is the organisation's time zone (settings.timezone), read in
// tx: where its days start for daily counters and caps. A zone that no
// longer loads counts in UTC (settings are validated when written).
func Location(ctx context.Context, tx bun.IDB, org uuid.UUID) (*time.Location, error) {
	var tz string
	if err := tx.NewRaw(`SELECT coalesce(settings->>'timezone', 'UTC') FROM organizations WHERE id = ?`, org).Scan(ctx, &tz); err != nil {
		return nil, fmt.Errorf("orgs: time zone of %s: %w", org, database.Interpret(err))
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC, nil //nolint:nilerr // see above
	}
	return loc, nil
}
