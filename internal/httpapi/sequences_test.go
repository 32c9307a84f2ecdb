package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

// TestSequencesThroughTheAPI drives preview, generation, progress and
// editing through the generated client; the worker's part is the real task
// handler, called as asynq would.
func TestSequencesThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.signup(t, "Sequence Co")
	auth := bearer(o.AccessToken)

	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Intro", Steps: []api.TemplateStepInput{
		{Channel: api.TemplateChannelEmail, Subject: ptr("Quick idea for {{company}}"), Body: "Hi {{first_name}}, invoices in a minute."},
		{Channel: api.TemplateChannelEmail, Subject: ptr("Following up"), Body: "Any thoughts?"},
		{Channel: api.TemplateChannelEmail, Subject: ptr("Last note"), Body: "I will leave it here."},
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Spring", Source: api.CampaignSourceManual, TemplateID: &tpl.JSON201.ID}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID
	var leadIDs []api.Lead
	for _, email := range []string{"ana@example.com", "ben@example.com", "cy@example.com"} {
		l, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &campID, Email: ptr(email), FirstName: ptr("Ana"), Company: ptr("Globex"), IsApproved: ptr(true)}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
		leadIDs = append(leadIDs, *l.JSON201)
	}

	t.Run("PreviewSavesNothing", func(t *testing.T) {
		p, err := b.client.PreviewCampaignSequencesWithResponse(ctx, campID, api.SequencePreviewRequest{LeadIds: &[]uuid.UUID{leadIDs[0].ID}}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, p.StatusCode(), string(p.Body))
		require.Len(t, p.JSON200.Data, 1)
		require.Len(t, p.JSON200.Data[0].Steps, 3)
		require.Equal(t, "builtin", p.JSON200.Data[0].LlmProvider)
		list, err := b.client.ListCampaignSequencesWithResponse(ctx, campID, nil, auth)
		require.NoError(t, err)
		require.Empty(t, list.JSON200.Data)
		g, err := b.client.GetCampaignGenerationWithResponse(ctx, campID, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, g.StatusCode())
	})

	started, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, started.StatusCode(), string(started.Body))
	require.Equal(t, api.SequenceGenerationStatusQueued, started.JSON202.Status)
	require.Equal(t, 3, started.JSON202.Total)

	// The worker's part.
	runGeneration(t, o.Organization.ID, started.JSON202.ID)

	g, err := b.client.GetCampaignGenerationWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, g.StatusCode(), string(g.Body))
	require.Equal(t, api.SequenceGenerationStatusCompleted, g.JSON200.Status)
	require.Equal(t, 3, g.JSON200.Done)
	require.Empty(t, g.JSON200.Failures)
	require.NotNil(t, g.JSON200.EstimatedCostUsd)

	list, err := b.client.ListCampaignSequencesWithResponse(ctx, campID, &api.ListCampaignSequencesParams{Approved: ptr(false)}, auth)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Data, 3)

	seq, err := b.client.GetLeadSequenceWithResponse(ctx, leadIDs[1].ID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, seq.StatusCode(), string(seq.Body))
	require.Equal(t, tpl.JSON201.ID, *seq.JSON200.TemplateID)

	t.Run("PatchIsValidatedLikeModelOutput", func(t *testing.T) {
		r, err := b.client.UpdateLeadSequenceWithResponse(ctx, leadIDs[1].ID, api.SequenceUpdate{Steps: []api.SequenceStep{
			{Step: 1, Channel: api.SequenceStepChannelEmail, Body: "no subject"},
		}}, auth)
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.NotEmpty(t, p.Errors)
		steps := seq.JSON200.Steps
		steps[0].Body = "Hi {{first_name}}, shorter."
		ok, err := b.client.UpdateLeadSequenceWithResponse(ctx, leadIDs[1].ID, api.SequenceUpdate{Steps: steps}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
		require.Equal(t, "Hi {{first_name}}, shorter.", ok.JSON200.Steps[0].Body)
	})
	t.Run("ASecondStartWithNothingNewCompletesAtOnce", func(t *testing.T) {
		again, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), string(again.Body))
		require.Equal(t, api.SequenceGenerationStatusCompleted, again.JSON202.Status)
		require.Zero(t, again.JSON202.Total)
		c, err := b.client.CancelCampaignGenerationWithResponse(ctx, campID, auth)
		require.NoError(t, err)
		problem(t, c.HTTPResponse, c.Body, http.StatusConflict)
	})
}
