// Package seeds holds the platform's own data: the system sequence
// templates every organisation can start from (from the product spec's
// template library). `leadpilot seed` applies them idempotently.
package seeds

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

//go:embed templates.json
var templatesJSON []byte

// Step is one template step.
type Step struct {
	Step      int    `json:"step"`
	DelayDays int    `json:"delay_days"`
	Channel   string `json:"channel"`
	Subject   string `json:"subject,omitempty"`
	Body      string `json:"body"`
}

// Template is a system sequence template with a fixed id, so seeding again
// updates it in place.
type Template struct {
	bun.BaseModel `bun:"table:sequence_templates"`

	ID          uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	Name        string    `bun:"name" json:"name"`
	Description string    `bun:"description" json:"description"`
	Industry    string    `bun:"industry" json:"industry"`
	UseCase     string    `bun:"use_case" json:"use_case"`
	Steps       []Step    `bun:"steps,type:jsonb" json:"steps"`
	Channels    []string  `bun:"channels,array" json:"channels"`
	IsPublic    bool      `bun:"is_public" json:"-"`
	IsSystem    bool      `bun:"is_system" json:"-"`
}

// Templates returns the embedded system templates.
func Templates() ([]Template, error) {
	var ts []Template
	if err := json.Unmarshal(templatesJSON, &ts); err != nil {
		return nil, fmt.Errorf("seeds: templates.json: %w", err)
	}
	for i := range ts {
		ts[i].IsPublic, ts[i].IsSystem = true, true
	}
	return ts, nil
}

// Apply upserts the system templates. It must run as the schema owner:
// row-level security keeps the app role from writing rows without an org.
func Apply(ctx context.Context, db bun.IDB) (int, error) {
	ts, err := Templates()
	if err != nil {
		return 0, err
	}
	_, err = db.NewInsert().Model(&ts).
		On("CONFLICT (id) DO UPDATE").
		Set("name = EXCLUDED.name, description = EXCLUDED.description, industry = EXCLUDED.industry").
		Set("use_case = EXCLUDED.use_case, steps = EXCLUDED.steps, channels = EXCLUDED.channels").
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("seeds: upsert templates: %w", err)
	}
	return len(ts), nil
}
