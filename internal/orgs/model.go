package orgs

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Role is a member's role in an organisation.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// AtLeastAdmin reports whether r may manage members, invites, keys and settings.
func (r Role) AtLeastAdmin() bool { return r == RoleOwner || r == RoleAdmin }

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
}

// Settings are the organisation's sending defaults.
type Settings struct {
	Timezone              string   `json:"timezone"`
	DefaultSequenceLength int      `json:"default_sequence_length"`
	SendWindowStart       string   `json:"send_window_start"`
	SendWindowEnd         string   `json:"send_window_end"`
	SendDays              []string `json:"send_days"`
}

// DefaultSettings match the column default in the schema.
func DefaultSettings() Settings {
	return Settings{
		Timezone: "UTC", DefaultSequenceLength: 3, SendWindowStart: "09:00", SendWindowEnd: "17:00",
		SendDays: []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
	}
}

// Organization is a tenant.
type Organization struct {
	bun.BaseModel `bun:"table:organizations"`

	ID                 uuid.UUID       `bun:"id,pk,type:uuid"`
	Name               string          `bun:"name"`
	Slug               string          `bun:"slug"`
	BusinessContext    BusinessContext `bun:"business_context,type:jsonb"`
	Settings           Settings        `bun:"settings,type:jsonb"`
	LLMProvider        *string         `bun:"llm_provider"` // nil: not chosen, the platform default applies
	LLMModel           *string         `bun:"llm_model"`
	LLMAPIKeyEncrypted *string         `bun:"llm_api_key_encrypted"`
	LLMSettings        map[string]any  `bun:"llm_settings,type:jsonb"`
	SubscriptionTier   string          `bun:"subscription_tier"`
	SubscriptionStatus string          `bun:"subscription_status"`
	CreatedAt          time.Time       `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt          time.Time       `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Membership ties a user to an organisation with a role.
type Membership struct {
	bun.BaseModel `bun:"table:memberships"`

	ID        uuid.UUID `bun:"id,pk,type:uuid"`
	OrgID     uuid.UUID `bun:"org_id,type:uuid"`
	UserID    uuid.UUID `bun:"user_id,type:uuid"`
	Role      Role      `bun:"role"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Member is a membership with the person's details, for listing.
type Member struct {
	MembershipID uuid.UUID `bun:"membership_id"`
	UserID       uuid.UUID `bun:"user_id"`
	Email        string    `bun:"email"`
	FullName     string    `bun:"full_name"`
	Role         Role      `bun:"role"`
	JoinedAt     time.Time `bun:"joined_at"`
}

// Invite asks someone to join.
type Invite struct {
	bun.BaseModel `bun:"table:invites"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID      uuid.UUID  `bun:"org_id,type:uuid"`
	Email      string     `bun:"email"`
	Role       Role       `bun:"role"`
	TokenHash  []byte     `bun:"token_hash"`
	InvitedBy  *uuid.UUID `bun:"invited_by,type:uuid"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	AcceptedAt *time.Time `bun:"accepted_at"`
	AcceptedBy *uuid.UUID `bun:"accepted_by,type:uuid"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt  time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
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

// APIKey is an integrator's credential; the secret itself is never stored.
type APIKey struct {
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
