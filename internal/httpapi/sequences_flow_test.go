package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// TestFromTemplateToReadyToSend is the sequences issue's whole flow from
// the API alone, through the generated client: a campaign with a
// template, leads imported from a CSV, a preview, a generation run, the
// content lint holding approval back until the organisation names its
// sender, approval, and the campaign counted as fully approved and
// activated. The worker's parts (the import, the generation run) are the
// real task handlers, called as asynq would.
func TestFromTemplateToReadyToSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	imports := leadimports.NewService(testkit.DB(t), nil)
	b := setup(t, func(d *httpapi.Deps) { d.LeadImports = imports })
	o := b.signup(t, "Flow Co")
	auth := bearer(o.AccessToken)
	org := o.Organization.ID

	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Intro", Steps: []api.TemplateStepInput{
		{Channel: api.TemplateChannelEmail, Subject: ptr("Quick idea for {{company}}"), Body: "Hi {{first_name|there}}, invoices in a minute. Reply STOP to opt out."},
		{Channel: api.TemplateChannelEmail, DelayDays: 3, Subject: ptr("Following up"), Body: "Any thoughts? Reply STOP to opt out."},
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Spring", Source: api.CampaignSourceCsv,
		TemplateID: &tpl.JSON201.ID, Settings: &api.CampaignSettingsInput{SequenceLength: ptr(2)}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID

	// Leads from a CSV, by the import worker.
	imp, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, &api.CreateLeadImportParams{CampaignID: &campID}, "text/csv",
		strings.NewReader("email,first_name,company\nana@example.com,Ana,Globex\nben@example.com,Ben,Initech\ncy@example.com,Cy,Umbrella\n"), auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, imp.StatusCode(), string(imp.Body))
	require.NoError(t, imports.Run(ctx, org, imp.JSON202.ID))

	stats := func() api.CampaignStats {
		t.Helper()
		c, err := b.client.GetCampaignWithResponse(ctx, campID, auth)
		require.NoError(t, err)
		return c.JSON200.Stats
	}
	// The campaign is approve_all (the default): the list waits for a
	// person, and generation says so rather than write for no one.
	require.EqualValues(t, 3, stats().LeadsAwaitingApproval)
	early, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	problem(t, early.HTTPResponse, early.Body, http.StatusConflict)
	require.Contains(t, string(early.Body), "leads_awaiting_approval")
	waiting, err := b.client.ListLeadsWithResponse(ctx, &api.ListLeadsParams{CampaignID: &campID, Approved: ptr(false)}, auth)
	require.NoError(t, err)
	require.Len(t, waiting.JSON200.Data, 3)
	approved, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionApprove,
		Filter: &api.LeadFilter{CampaignID: &campID, Approved: ptr(false)}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, approved.StatusCode(), string(approved.Body))
	require.Equal(t, 3, approved.JSON200.Changed)
	require.EqualValues(t, 0, stats().LeadsAwaitingApproval)

	// A preview before paying for three.
	p, err := b.client.PreviewCampaignSequencesWithResponse(ctx, campID, api.SequencePreviewRequest{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, p.StatusCode(), string(p.Body))
	require.Len(t, p.JSON200.Data, 1)
	require.Len(t, p.JSON200.Data[0].Steps, 2)

	// Generation, by the worker.
	started, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, started.StatusCode(), string(started.Body))
	require.Equal(t, 3, started.JSON202.Total)
	runGeneration(t, org, started.JSON202.ID)
	progress, err := b.client.GetCampaignGenerationWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, api.SequenceGenerationStatusCompleted, progress.JSON200.Status)
	require.Equal(t, 3, progress.JSON200.Done)

	require.EqualValues(t, 3, stats().SequencesAwaitingApproval)

	// The lint holds approval back: the organisation has not said who writes.
	held, err := b.client.ApproveCampaignSequencesWithResponse(ctx, campID, api.SequenceSelection{All: ptr(true)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, held.StatusCode(), string(held.Body))
	require.Zero(t, held.JSON200.Changed)
	require.Len(t, held.JSON200.Blocked, 3)
	var codes []string
	for _, f := range held.JSON200.Blocked[0].Findings {
		if f.Severity == api.LintFindingSeverityError {
			codes = append(codes, f.Code)
		}
	}
	require.Contains(t, codes, "missing_sender_name")
	list, err := b.client.ListCampaignSequencesWithResponse(ctx, campID, &api.ListCampaignSequencesParams{Approved: ptr(false)}, auth)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Data, 3)
	for _, sq := range list.JSON200.Data {
		require.NotNil(t, sq.Lint, "the list shows each sequence's lint")
		require.True(t, sq.Lint.Blocking)
	}

	up, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{BusinessContext: &api.BusinessContext{
		CompanyName: ptr("Flow Co"), SenderName: ptr("Olive Owner"), PostalAddress: ptr("1 Market Street, Springfield"),
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	one, err := b.client.GetLeadSequenceWithResponse(ctx, list.JSON200.Data[0].LeadID, auth)
	require.NoError(t, err)
	require.NotNil(t, one.JSON200.Lint)
	require.False(t, one.JSON200.Lint.Blocking, "%+v", one.JSON200.Lint.Findings)
	ok, err := b.client.ApproveCampaignSequencesWithResponse(ctx, campID, api.SequenceSelection{All: ptr(true)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
	require.Equal(t, 3, ok.JSON200.Changed, "%+v", ok.JSON200.Blocked)
	require.Empty(t, ok.JSON200.Blocked)

	st := stats()
	require.EqualValues(t, 3, st.TotalLeads)
	require.EqualValues(t, 0, st.LeadsAwaitingApproval)
	require.EqualValues(t, 3, st.SequencesApproved)
	require.EqualValues(t, 0, st.SequencesAwaitingApproval)

	// Ready to send, once it has a mailbox to send from (there is no
	// email account API yet: the row is written directly).
	act, err := b.client.ActivateCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, act.StatusCode(), "no mailbox: %s", act.Body)
	box := uuid.Must(uuid.NewV7())
	_, err = b.owner.Pool.Exec(ctx, `INSERT INTO email_accounts (id, org_id, email_address, provider) VALUES ($1, $2, 'olive@flow.test', 'custom')`, box, org)
	require.NoError(t, err)
	put, err := b.client.SetCampaignEmailAccountsWithResponse(ctx, campID, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{box}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))
	act, err = b.client.ActivateCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, act.StatusCode(), string(act.Body))
	require.Equal(t, api.CampaignStatusActive, act.JSON200.Status)
	msgs, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{CampaignID: &campID}, auth)
	require.NoError(t, err)
	require.Len(t, msgs.JSON200.Data, 3, "step 1 of each lead is scheduled")

	// And the log tells an integrator each step.
	evs, err := b.client.ListEventsWithResponse(ctx, &api.ListEventsParams{Limit: ptr(100)}, auth)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, e := range evs.JSON200.Data {
		seen[string(e.Type)]++
	}
	for typ, n := range map[string]int{"import.completed": 1, "sequence.generated": 3, "generation.completed": 1,
		"approval.needed": 1, "sequence.approved": 3, "campaign.status_changed": 1} {
		require.Equal(t, n, seen[typ], typ)
	}
}
