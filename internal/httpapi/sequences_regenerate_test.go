package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

// TestRegenerateThroughTheAPI generates a campaign's sequences with the
// built-in provider, approves one, and regenerates it whole and by step
// through the generated client.
func TestRegenerateThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.signup(t, "Regenerate Co")
	auth := bearer(o.AccessToken)

	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Toned", Steps: []api.TemplateStepInput{
		{Channel: api.TemplateChannelEmail, Subject: ptr("Quick idea for {{company}}"), Body: "{{greeting}} {{first_name}},\n\nInvoices in a minute.\n\nTeams like yours save a day a month.\n\n{{sign_off}}\n{{sender_name}}"},
		{Channel: api.TemplateChannelEmail, Subject: ptr("Following up"), Body: "{{greeting}} {{first_name}},\n\nAny thoughts?\n\n{{sign_off}}\n{{sender_name}}"},
		{Channel: api.TemplateChannelEmail, Subject: ptr("Last note"), Body: "{{greeting}} {{first_name}},\n\nI will leave it here.\n\n{{sign_off}}\n{{sender_name}}"},
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Spring", Source: api.CampaignSourceManual, TemplateID: &tpl.JSON201.ID}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID
	l, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &campID, Email: ptr("ana@example.com"), FirstName: ptr("Ana"), Company: ptr("Globex"), IsApproved: ptr(true)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
	leadID := l.JSON201.ID

	started, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, started.StatusCode(), string(started.Body))
	runGeneration(t, o.Organization.ID, started.JSON202.ID)

	seq, err := b.client.GetLeadSequenceWithResponse(ctx, leadID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, seq.StatusCode(), string(seq.Body))
	before := seq.JSON200.Steps
	require.Len(t, before, 3)
	ap, err := b.client.ApproveCampaignSequencesWithResponse(ctx, campID, api.SequenceSelection{SequenceIds: &[]uuid.UUID{seq.JSON200.ID}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))

	t.Run("OneStepWithAnInstruction", func(t *testing.T) {
		r, err := b.client.RegenerateLeadSequenceWithResponse(ctx, leadID, api.SequenceRegenerate{Instruction: ptr("more formal"), Step: ptr(2)}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		got := r.JSON200
		require.False(t, got.IsApproved, "regenerating withdraws the approval")
		require.Nil(t, got.ApprovedBy)
		require.Equal(t, before[0], got.Steps[0])
		require.Equal(t, before[2], got.Steps[2])
		require.True(t, strings.HasPrefix(got.Steps[1].Body, "Hello "), got.Steps[1].Body)
		require.Equal(t, before[1].DelayDays, got.Steps[1].DelayDays)
		require.Equal(t, "builtin", *got.LlmProvider)
	})
	t.Run("TheWholeSequence", func(t *testing.T) {
		r, err := b.client.RegenerateLeadSequenceWithResponse(ctx, leadID, api.SequenceRegenerate{Instruction: ptr("shorter")}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.NotContains(t, r.JSON200.Steps[0].Body, "save a day a month")
		g, err := b.client.GetLeadSequenceWithResponse(ctx, leadID, auth)
		require.NoError(t, err)
		require.Equal(t, r.JSON200.Steps, g.JSON200.Steps)
	})
	t.Run("Invalid", func(t *testing.T) {
		r, err := b.client.RegenerateLeadSequenceWithResponse(ctx, leadID, api.SequenceRegenerate{Instruction: ptr(strings.Repeat("x", 501))}, auth)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		r, err = b.client.RegenerateLeadSequenceWithResponse(ctx, leadID, api.SequenceRegenerate{Step: ptr(4)}, auth)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		r, err = b.client.RegenerateLeadSequenceWithResponse(ctx, uuid.New(), api.SequenceRegenerate{}, auth)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusNotFound)
	})
}
