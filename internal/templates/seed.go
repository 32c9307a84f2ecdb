package templates

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/seeds"
)

// Seed upserts the system templates from package seeds by their fixed ids:
// running it again updates them in place and never duplicates them, and
// keeps their usage counts. It must run as the schema owner: row-level
// security keeps the app role from writing rows without an org. A seed
// that fails Validate is refused, so the catalogue only holds templates
// the API would accept.
func Seed(ctx context.Context, db bun.IDB) (int, error) {
	ts, err := seeds.Templates()
	if err != nil {
		return 0, err
	}
	rows := make([]templateRow, len(ts))
	for i, t := range ts {
		in := Input{Name: t.Name, Description: t.Description, Industry: t.Industry, UseCase: t.UseCase}
		for _, s := range t.Steps {
			in.Steps = append(in.Steps, StepInput{DelayDays: s.DelayDays, Channel: s.Channel, Subject: s.Subject, Body: s.Body})
		}
		clean, err := Validate(in)
		if err != nil {
			return 0, fmt.Errorf("templates: seed %q: %w", t.Name, err)
		}
		rows[i] = clean.row(t.ID, nil)
		rows[i].IsPublic, rows[i].IsSystem = true, true
	}
	_, err = db.NewInsert().Model(&rows).
		Column("id", "org_id", "name", "description", "industry", "use_case", "steps", "channels", "is_public", "is_system").
		On("CONFLICT (id) DO UPDATE").
		Set("name = EXCLUDED.name, description = EXCLUDED.description, industry = EXCLUDED.industry").
		Set("use_case = EXCLUDED.use_case, steps = EXCLUDED.steps, channels = EXCLUDED.channels").
		Set("is_public = EXCLUDED.is_public").
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("templates: seed: %w", database.Interpret(err))
	}
	return len(rows), nil
}
