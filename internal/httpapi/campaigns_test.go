package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

// anySystemTemplate inserts a system sequence template (the schema owner's
// job, as `leadpilot seed` does it).
func (b *bundle) anySystemTemplate(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO sequence_templates (id, org_id, name, steps, is_system)
		VALUES ($1, NULL, 'System', '[{"step":1,"delay_days":0,"channel":"email","subject":"s","body":"b"}]', true)`, id)
	require.NoError(t, err)
	return id
}

// privateTemplate inserts a template only org may use.
func (b *bundle) privateTemplate(t *testing.T, org uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO sequence_templates (id, org_id, name, steps)
		VALUES ($1, $2, 'Private', '[{"step":1,"delay_days":0,"channel":"email","subject":"s","body":"b"}]')`, id, org)
	require.NoError(t, err)
	return id
}

func (b *bundle) createCampaign(t *testing.T, tok string, c api.CampaignCreate) api.Campaign {
	t.Helper()
	if c.Name == "" {
		c.Name = "Spring outreach"
	}
	if c.Source == "" {
		c.Source = api.CampaignSourceCsv
	}
	r, err := b.client.CreateCampaignWithResponse(context.Background(), nil, c, bearer(tok))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
	return *r.JSON201
}

func fieldsOf(p api.Problem) []string {
	out := []string{}
	if p.Errors != nil {
		for _, e := range *p.Errors {
			code := ""
			if e.Code != nil {
				code = *e.Code
			}
			out = append(out, e.Field+" "+code)
		}
	}
	return out
}

func TestCampaigns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("CreateTakesTheOrganisationsDefaultsAndCountsZero", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Defaults Co")
		up, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{
			Settings: &api.OrgSettings{Timezone: ptr("Europe/Berlin"), SendDays: &[]api.Weekday{api.WeekdayMonday, api.WeekdayWednesday}},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{
			Description: ptr("Q2"), LlmContext: &api.BusinessContext{Tone: ptr("warm")},
			Settings: &api.CampaignSettingsInput{SequenceLength: ptr(4)},
		})
		require.Equal(t, api.CampaignStatusDraft, c.Status)
		require.Equal(t, []api.CampaignChannel{api.CampaignChannelEmail}, c.Channels)
		require.Equal(t, api.CampaignSettings{
			ApprovalMode: api.ApprovalModeApproveAll, SequenceLength: 4, DelayBetweenStepsDays: []int{0, 3, 5, 7}, StopOnReply: true, Timezone: "Europe/Berlin",
			SendWindowStart: "09:00", SendWindowEnd: "17:00", SendDays: []api.Weekday{api.WeekdayMonday, api.WeekdayWednesday},
		}, c.Settings)
		require.Equal(t, "warm", *c.LlmContext.Tone)
		require.Equal(t, api.CampaignStats{}, c.Stats)
		require.Nil(t, c.StartedAt)

		got, err := b.client.GetCampaignWithResponse(ctx, c.ID, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.Equal(t, c.Settings, got.JSON200.Settings)
		require.Equal(t, api.CampaignStats{}, got.JSON200.Stats)
	})

	t.Run("CreateIsIdempotent", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Idem Co")
		body := api.CampaignCreate{Name: "Once", Source: api.CampaignSourceManual}
		first, err := b.client.CreateCampaignWithResponse(ctx, &api.CreateCampaignParams{IdempotencyKey: ptr("camp-1")}, body, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, first.StatusCode(), string(first.Body))
		second, err := b.client.CreateCampaignWithResponse(ctx, &api.CreateCampaignParams{IdempotencyKey: ptr("camp-1")}, body, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, second.StatusCode())
		require.Equal(t, first.JSON201.ID, second.JSON201.ID)
		require.Equal(t, "true", second.HTTPResponse.Header.Get("Idempotent-Replayed"))
		list, err := b.client.ListCampaignsWithResponse(ctx, nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
	})

	t.Run("CreateRefusesBadSettings", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Bad Settings Co")
		r, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "x", Source: api.CampaignSourceManual,
			Settings: &api.CampaignSettingsInput{
				SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 5, 2},
				Timezone: ptr("Mars/Olympus"), SendWindowStart: ptr("18:00"), SendWindowEnd: ptr("08:00"),
			}}, bearer(s.AccessToken))
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, []string{
			"/settings/delay_between_steps_days/2 decreasing", "/settings/timezone invalid_timezone", "/settings/send_window_end window_order",
		}, fieldsOf(p))
		list, err := b.client.ListCampaignsWithResponse(ctx, nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Empty(t, list.JSON200.Data, "nothing was created")
	})

	t.Run("CreateRefusesATemplateTheOrganisationMayNotUse", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Template Co")
		other := b.signup(t, "Template Owner Co")
		for _, tpl := range []uuid.UUID{b.privateTemplate(t, other.Organization.ID), uuid.Must(uuid.NewV7())} {
			r, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "x", Source: api.CampaignSourceManual, TemplateID: &tpl}, bearer(s.AccessToken))
			require.NoError(t, err)
			p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
			require.Equal(t, []string{"/template_id not_found"}, fieldsOf(p))
		}
		own := b.privateTemplate(t, s.Organization.ID)
		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{TemplateID: &own})
		require.Equal(t, own, *c.TemplateID)
	})

	t.Run("MembersAndAPIKeysManageCampaigns", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Team Co")
		m := b.join(t, s, api.RoleMember)
		k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "zap"}, bearer(s.AccessToken))
		require.NoError(t, err)
		byMember := b.createCampaign(t, m.AccessToken, api.CampaignCreate{Name: "by member"})
		byKey := b.createCampaign(t, k.JSON201.Secret, api.CampaignCreate{Name: "by key"})
		list, err := b.client.ListCampaignsWithResponse(ctx, nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, []openapi_types.UUID{byKey.ID, byMember.ID}, campaignIDs(list.JSON200.Data))
	})

	t.Run("ListPagesAndFiltersByStatus", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "List Co")
		tpl := b.anySystemTemplate(t)
		var ids []openapi_types.UUID
		for range 3 {
			ids = append(ids, b.createCampaign(t, s.AccessToken, api.CampaignCreate{TemplateID: &tpl}).ID)
		}
		act, err := b.client.ActivateCampaignWithResponse(ctx, ids[0], bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, act.StatusCode(), string(act.Body))

		p1, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Limit: ptr(2)}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, []openapi_types.UUID{ids[2], ids[1]}, campaignIDs(p1.JSON200.Data))
		require.NotNil(t, p1.JSON200.NextCursor)
		p2, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Limit: ptr(2), Cursor: p1.JSON200.NextCursor}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, []openapi_types.UUID{ids[0]}, campaignIDs(p2.JSON200.Data))
		require.Nil(t, p2.JSON200.NextCursor)

		st := api.CampaignStatusActive
		active, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Status: &st}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, []openapi_types.UUID{ids[0]}, campaignIDs(active.JSON200.Data))
		bad, err := b.client.ListCampaignsWithResponse(ctx, &api.ListCampaignsParams{Status: ptr(api.CampaignStatus("running"))}, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest)
	})

	t.Run("PatchMergesSettingsAndClearsTheTemplate", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Patch Co")
		tpl := b.anySystemTemplate(t)
		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{TemplateID: &tpl})
		r, err := b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{
			Name:     ptr("Renamed"),
			Channels: &[]api.CampaignChannel{api.CampaignChannelEmail, api.CampaignChannelSms},
			Settings: &api.CampaignSettingsInput{DelayBetweenStepsDays: &[]int{0, 2}, StopOnReply: ptr(false)},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, "Renamed", r.JSON200.Name)
		require.Equal(t, 2, r.JSON200.Settings.SequenceLength, "the delays set the length")
		require.False(t, r.JSON200.Settings.StopOnReply)
		require.Equal(t, c.Settings.Timezone, r.JSON200.Settings.Timezone, "keys not sent stay")
		require.Equal(t, tpl, *r.JSON200.TemplateID, "a template not sent stays")

		r, err = b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{TemplateID: nullable.NewNullNullable[openapi_types.UUID]()}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Nil(t, r.JSON200.TemplateID)

		bad, err := b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{
			Settings: &api.CampaignSettingsInput{SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 1}},
		}, bearer(s.AccessToken))
		require.NoError(t, err)
		p := problem(t, bad.HTTPResponse, bad.Body, http.StatusUnprocessableEntity)
		require.Equal(t, []string{"/settings/delay_between_steps_days length_mismatch"}, fieldsOf(p))
	})

	t.Run("TheLifecycleIsChecked", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Lifecycle Co")
		tok := bearer(s.AccessToken)
		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{})

		act, err := b.client.ActivateCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		p := problem(t, act.HTTPResponse, act.Body, http.StatusUnprocessableEntity)
		require.Equal(t, []string{"/template_id steps_required"}, fieldsOf(p), "nothing to send yet")

		res, err := b.client.ResumeCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		p = problem(t, res.HTTPResponse, res.Body, http.StatusConflict)
		require.Equal(t, "invalid_transition", p.Code)
		require.Contains(t, p.Detail, "draft → active")

		tpl := b.anySystemTemplate(t)
		up, err := b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{TemplateID: nullable.NewNullableWithValue(tpl)}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

		act, err = b.client.ActivateCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, act.StatusCode(), string(act.Body))
		require.Equal(t, api.CampaignStatusActive, act.JSON200.Status)
		require.NotNil(t, act.JSON200.StartedAt)

		edit, err := b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{Settings: &api.CampaignSettingsInput{StopOnReply: ptr(false)}}, tok)
		require.NoError(t, err)
		require.Equal(t, "campaign_not_editable", problem(t, edit.HTTPResponse, edit.Body, http.StatusConflict).Code)
		del, err := b.client.DeleteCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, "campaign_active", problem(t, del.HTTPResponse, del.Body, http.StatusConflict).Code)
		arch, err := b.client.ArchiveCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		p = problem(t, arch.HTTPResponse, arch.Body, http.StatusConflict)
		require.Contains(t, p.Detail, "active → archived")

		pause, err := b.client.PauseCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.CampaignStatusPaused, pause.JSON200.Status)
		res, err = b.client.ResumeCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.CampaignStatusActive, res.JSON200.Status)
		require.True(t, act.JSON200.StartedAt.Equal(*res.JSON200.StartedAt), "started_at stays the first activation")
		done, err := b.client.CompleteCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.CampaignStatusCompleted, done.JSON200.Status)
		require.NotNil(t, done.JSON200.CompletedAt)
		arch, err = b.client.ArchiveCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.CampaignStatusArchived, arch.JSON200.Status)

		got, err := b.client.GetCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.CampaignStatusArchived, got.JSON200.Status)
		rn, err := b.client.UpdateCampaignWithResponse(ctx, c.ID, api.CampaignUpdate{Name: ptr("again")}, tok)
		require.NoError(t, err)
		require.Equal(t, "campaign_archived", problem(t, rn.HTTPResponse, rn.Body, http.StatusConflict).Code)

		del, err = b.client.DeleteCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
		gone, err := b.client.GetCampaignWithResponse(ctx, c.ID, tok)
		require.NoError(t, err)
		problem(t, gone.HTTPResponse, gone.Body, http.StatusNotFound)
	})

	t.Run("StatsCountTheCampaignsRows", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Stats Co")
		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{})
		org := s.Organization.ID
		lead := uuid.Must(uuid.NewV7())
		_, err := b.owner.Pool.Exec(ctx, `INSERT INTO leads (id, org_id, campaign_id, email, status, replied_at)
			VALUES ($1, $2, $3, 'ann@example.com', 'interested', now())`, lead, org, c.ID)
		require.NoError(t, err)
		_, err = b.owner.Pool.Exec(ctx, `INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, step, body_text, status, message_id)
			VALUES ($1, $2, $3, $4, 'email', 1, 'hi', 'replied', 'm1@x')`, uuid.Must(uuid.NewV7()), org, c.ID, lead)
		require.NoError(t, err)
		got, err := b.client.GetCampaignWithResponse(ctx, c.ID, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, api.CampaignStats{TotalLeads: 1, EmailsSent: 1, RepliesReceived: 1, PositiveReplies: 1}, got.JSON200.Stats)
	})

	t.Run("UnknownFieldsAreRefused", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Strict Co")
		c := b.createCampaign(t, s.AccessToken, api.CampaignCreate{})
		r, err := b.client.UpdateCampaignWithBodyWithResponse(ctx, c.ID, "application/json",
			strings.NewReader(`{"stats":{"total_leads":99}}`), bearer(s.AccessToken))
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, []string{"/stats schema_properties"}, fieldsOf(p), "stats are derived, never written")
	})
}

func campaignIDs(cs []api.Campaign) []openapi_types.UUID {
	out := make([]openapi_types.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
