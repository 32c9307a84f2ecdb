package templates

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Channels a step can use, in canonical order.
const (
	ChannelEmail    = "email"
	ChannelWhatsApp = "whatsapp"
	ChannelSMS      = "sms"
)

var channelOrder = []string{ChannelEmail, ChannelWhatsApp, ChannelSMS}

// Step is one step of a template. Delays count days from the start of the
// sequence, so they never decrease from one step to the next.
type Step struct {
	Step      int    `json:"step"`
	DelayDays int    `json:"delay_days"`
	Channel   string `json:"channel"`
	Subject   string `json:"subject,omitempty"`
	Body      string `json:"body"`
}

// Template is a sequence template as the API shows it.
type Template struct {
	ID          uuid.UUID
	Name        string
	Description string
	Industry    string
	UseCase     string
	Channels    []string
	Steps       []Step
	IsPublic    bool
	IsSystem    bool
	// IsOwn says the caller's organisation owns it (and may change it).
	IsOwn      bool
	UsageCount int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

type templateRow struct {
	bun.BaseModel `bun:"table:sequence_templates,alias:t"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID       *uuid.UUID `bun:"org_id,type:uuid"`
	Name        string     `bun:"name"`
	Description *string    `bun:"description"`
	Industry    *string    `bun:"industry"`
	UseCase     *string    `bun:"use_case"`
	Steps       []Step     `bun:"steps,type:jsonb"`
	Channels    []string   `bun:"channels,array"`
	IsPublic    bool       `bun:"is_public"`
	IsSystem    bool       `bun:"is_system"`
	UsageCount  int        `bun:"usage_count"`
	CreatedAt   time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt   time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r templateRow) view(org uuid.UUID) Template {
	return Template{
		ID: r.ID, Name: r.Name, Description: deref(r.Description), Industry: deref(r.Industry), UseCase: deref(r.UseCase),
		Channels: r.Channels, Steps: r.Steps, IsPublic: r.IsPublic, IsSystem: r.IsSystem,
		IsOwn: r.OrgID != nil && *r.OrgID == org, UsageCount: r.UsageCount, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullable stores a blank text as NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
