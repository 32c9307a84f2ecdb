package sequences

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sequencelint"
	"github.com/leadpilot/leadpilot/internal/templates"
)

// Blocked is a sequence an approval left unapproved because the content
// lint found errors in it; Findings are all of the lint's findings, errors
// first in step order.
type Blocked struct {
	SequenceID uuid.UUID
	Findings   []sequencelint.Finding
}

// linter lints a campaign's sequences for its leads: the sender's voice
// is the organisation's business context with the campaign's llm_context
// over it (as generation merges them), and each lead's own values fill
// its placeholders.
type linter struct {
	business orgs.BusinessContext
	leads    map[uuid.UUID]templates.Lead
}

// newLinter reads, in tx, what linting rows of campaignID needs.
func newLinter(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, rows []sequenceRow) (*linter, error) {
	o, err := orgs.GetOrganization(ctx, tx, org)
	if err != nil {
		return nil, fmt.Errorf("sequences: lint: %w", err)
	}
	var raw []byte
	if err := tx.NewRaw(`SELECT llm_context FROM campaigns WHERE org_id = ? AND id = ?`, org, campaignID).Scan(ctx, &raw); err != nil {
		return nil, fmt.Errorf("sequences: lint: campaign context: %w", database.Interpret(err))
	}
	var camp orgs.BusinessContext
	if err := json.Unmarshal(raw, &camp); err != nil {
		return nil, fmt.Errorf("sequences: lint: campaign context: %w", err)
	}
	l := &linter{business: mergeBusiness(o.BusinessContext, camp), leads: map[uuid.UUID]templates.Lead{}}
	if len(rows) == 0 {
		return l, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.LeadID
	}
	var leads []struct {
		ID uuid.UUID `bun:"id"`
		templates.LeadRow
	}
	err = tx.NewRaw(`SELECT id, `+templates.LeadColumns+`
		FROM leads WHERE org_id = ? AND id = ANY(?)`, org, pgdialect.Array(ids)).Scan(ctx, &leads)
	if err != nil {
		return nil, fmt.Errorf("sequences: lint: leads: %w", database.Interpret(err))
	}
	for _, r := range leads {
		l.leads[r.ID] = r.Lead()
	}
	return l, nil
}

// lint runs the content lint over r's steps for its lead: the postal
// address is the business context's, the recipient's country the lead's
// (the address rule's severity depends on it).
func (l *linter) lint(r sequenceRow) sequencelint.Report {
	steps := make([]sequencelint.Step, len(r.Steps))
	for i, st := range r.Steps {
		steps[i] = sequencelint.Step{Step: st.Step, DelayDays: st.DelayDays, Channel: string(st.Channel), Subject: st.Subject, Body: st.Body}
	}
	c := sequencelint.Context{Business: l.business}
	if l.business.PostalAddress != nil {
		c.PostalAddress = *l.business.PostalAddress
	}
	if lead, ok := l.leads[r.LeadID]; ok {
		c.Lead = &lead
		c.Country = lead.Country
	}
	return sequencelint.Lint(steps, c)
}

// mergeBusiness is the campaign's context over the organisation's.
func mergeBusiness(org, campaign orgs.BusinessContext) orgs.BusinessContext {
	return org.Over(campaign)
}
