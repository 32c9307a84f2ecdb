package orgs

import (
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
)

// BusinessContext is what the AI writes on behalf of.
type BusinessContext struct {
	CompanyName      *string  `json:"company_name,omitempty"`
	Industry         *string  `json:"industry,omitempty"`
	TargetAudience   *string  `json:"target_audience,omitempty"`
	ValueProposition *string  `json:"value_proposition,omitempty"`
	Tone             *string  `json:"tone,omitempty"`
	KeyPainPoints    []string `json:"key_pain_points,omitempty"`
	CaseStudies      []string `json:"case_studies,omitempty"`
	CTA              *string  `json:"cta,omitempty"`
	SenderName       *string  `json:"sender_name,omitempty"`
	SenderTitle      *string  `json:"sender_title,omitempty"`
	// PostalAddress is the sender's postal address, which the law wants
	// in every commercial email (CAN-SPAM, CASL): the content lint checks
	// it, the sending engine puts it in the footer.
	PostalAddress *string `json:"postal_address,omitempty"`
}

// Settings are the organisation's sending defaults.
type Settings struct {
	Timezone              string   `json:"timezone"`
	DefaultSequenceLength int      `json:"default_sequence_length"`
	SendWindowStart       string   `json:"send_window_start"`
	SendWindowEnd         string   `json:"send_window_end"`
	SendDays              []string `json:"send_days"`
	// DefaultCountry (ISO 3166-1 alpha-2, upper-case; "" when unset) is
	// where a lead's phone number written without a country code is read
	// when the lead has no country of its own (contact.Region).
	DefaultCountry string `json:"default_country,omitempty"`
}

// DefaultSettings match the column default in the schema.
func DefaultSettings() Settings {
	return Settings{
		Timezone: "UTC", DefaultSequenceLength: 3, SendWindowStart: "09:00", SendWindowEnd: "17:00",
		SendDays: []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
	}
}

// The rows below are how the tables look to bun; they never leave this
// package. What the rest of the program sees are the views at the end of
// the file, which carry no hashes (api_keys.key_hash, invites.token_hash)
// and none of the llm_* columns (llmsettings owns them).

type organizationRow struct {
	bun.BaseModel `bun:"table:organizations"`

	ID                 uuid.UUID       `bun:"id,pk,type:uuid"`
	Name               string          `bun:"name"`
	Slug               string          `bun:"slug"`
	BusinessContext    BusinessContext `bun:"business_context,type:jsonb"`
	Settings           Settings        `bun:"settings,type:jsonb"`
	SubscriptionTier   string          `bun:"subscription_tier"`
	SubscriptionStatus string          `bun:"subscription_status"`
	CreatedAt          time.Time       `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt          time.Time       `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r organizationRow) view() Organization {
	return Organization{
		ID: r.ID, Name: r.Name, Slug: r.Slug, BusinessContext: r.BusinessContext, Settings: r.Settings,
		SubscriptionTier: r.SubscriptionTier, SubscriptionStatus: r.SubscriptionStatus,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

type membershipRow struct {
	bun.BaseModel `bun:"table:memberships"`

	ID        uuid.UUID   `bun:"id,pk,type:uuid"`
	OrgID     uuid.UUID   `bun:"org_id,type:uuid"`
	UserID    uuid.UUID   `bun:"user_id,type:uuid"`
	Role      access.Role `bun:"role"`
	CreatedAt time.Time   `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time   `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r membershipRow) view() Membership {
	return Membership{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Role: r.Role, CreatedAt: r.CreatedAt}
}

type inviteRow struct {
	bun.BaseModel `bun:"table:invites"`

	ID         uuid.UUID   `bun:"id,pk,type:uuid"`
	OrgID      uuid.UUID   `bun:"org_id,type:uuid"`
	Email      string      `bun:"email"`
	Role       access.Role `bun:"role"`
	TokenHash  []byte      `bun:"token_hash"`
	InvitedBy  *uuid.UUID  `bun:"invited_by,type:uuid"`
	ExpiresAt  time.Time   `bun:"expires_at"`
	AcceptedAt *time.Time  `bun:"accepted_at"`
	AcceptedBy *uuid.UUID  `bun:"accepted_by,type:uuid"`
	RevokedAt  *time.Time  `bun:"revoked_at"`
	CreatedAt  time.Time   `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt  time.Time   `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r inviteRow) key() uuid.UUID { return r.ID }

func (r inviteRow) view() Invite {
	return Invite{
		ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: r.Role, InvitedBy: r.InvitedBy, ExpiresAt: r.ExpiresAt,
		AcceptedAt: r.AcceptedAt, AcceptedBy: r.AcceptedBy, RevokedAt: r.RevokedAt, CreatedAt: r.CreatedAt,
	}
}

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID      uuid.UUID  `bun:"org_id,type:uuid"`
	Name       string     `bun:"name"`
	Prefix     string     `bun:"prefix"`
	KeyHash    []byte     `bun:"key_hash"`
	CreatedBy  *uuid.UUID `bun:"created_by,type:uuid"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt  time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r apiKeyRow) key() uuid.UUID { return r.ID }

func (r apiKeyRow) view() APIKey {
	return APIKey{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, Prefix: r.Prefix, CreatedBy: r.CreatedBy,
		LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, CreatedAt: r.CreatedAt,
	}
}

// Organization is a tenant as the API shows it.
type Organization struct {
	ID                 uuid.UUID
	Name               string
	Slug               string
	BusinessContext    BusinessContext
	Settings           Settings
	SubscriptionTier   string
	SubscriptionStatus string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Membership ties a user to an organisation with a role.
type Membership struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Role      access.Role
	CreatedAt time.Time
}

// Member is a membership with the person's details, for listing.
type Member struct {
	MembershipID uuid.UUID   `bun:"membership_id"`
	UserID       uuid.UUID   `bun:"user_id"`
	Email        string      `bun:"email"`
	FullName     string      `bun:"full_name"`
	Role         access.Role `bun:"role"`
	JoinedAt     time.Time   `bun:"joined_at"`
}

func (m Member) key() uuid.UUID { return m.MembershipID }

// Invite asks someone to join; its token is never kept, only its hash,
// which stays in this package.
type Invite struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Email      string
	Role       access.Role
	InvitedBy  *uuid.UUID
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	AcceptedBy *uuid.UUID
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// Status derives the invite's state at now.
func (i Invite) Status(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return "accepted"
	case i.RevokedAt != nil:
		return "revoked"
	case !now.Before(i.ExpiresAt):
		return "expired"
	default:
		return "pending"
	}
}

// APIKey is an integrator's credential as the API shows it: the secret
// is shown once at creation, and its hash never leaves this package.
type APIKey struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Name       string
	Prefix     string
	CreatedBy  *uuid.UUID
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// views maps rows to their views.
func views[R, V any](rows []R, view func(R) V) []V {
	out := make([]V, len(rows))
	for i, r := range rows {
		out[i] = view(r)
	}
	return out
}

// Over is bc with campaign's fields over it: a field the campaign sets
// (not blank) wins. A campaign's llm_context overrides its
// organisation's business context this way, for generation, the content
// lint and sending alike.
func (bc BusinessContext) Over(campaign BusinessContext) BusinessContext {
	s := func(c, o *string) *string {
		if c != nil && strings.TrimSpace(*c) != "" {
			return c
		}
		return o
	}
	l := func(c, o []string) []string {
		if len(c) > 0 {
			return c
		}
		return o
	}
	return BusinessContext{
		CompanyName: s(campaign.CompanyName, bc.CompanyName), Industry: s(campaign.Industry, bc.Industry),
		TargetAudience: s(campaign.TargetAudience, bc.TargetAudience), ValueProposition: s(campaign.ValueProposition, bc.ValueProposition),
		Tone: s(campaign.Tone, bc.Tone), KeyPainPoints: l(campaign.KeyPainPoints, bc.KeyPainPoints),
		CaseStudies: l(campaign.CaseStudies, bc.CaseStudies), CTA: s(campaign.CTA, bc.CTA),
		SenderName: s(campaign.SenderName, bc.SenderName), SenderTitle: s(campaign.SenderTitle, bc.SenderTitle),
		PostalAddress: s(campaign.PostalAddress, bc.PostalAddress),
	}
}
