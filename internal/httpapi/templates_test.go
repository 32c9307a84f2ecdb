package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/templates"
	"github.com/leadpilot/leadpilot/seeds"
)

// systemTemplate inserts a system template as the schema owner would, in
// industry tag so a test can list only its own.
func (b *bundle) systemTemplate(t *testing.T, name, tag string, usage int, channel string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	step := `{"step":1,"delay_days":0,"channel":"` + channel + `","body":"Hi {{first_name}}"}`
	if channel == "email" {
		step = `{"step":1,"delay_days":0,"channel":"email","subject":"For {{company}}","body":"Hi {{first_name}}"}`
	}
	_, err := b.owner.Pool.Exec(context.Background(), `INSERT INTO sequence_templates (id, name, industry, use_case, steps, channels, is_public, is_system, usage_count)
		VALUES ($1, $2, $3, 'cold_outreach', $4::jsonb, ARRAY[$5], true, true, $6)`, id, name, tag, "["+step+"]", channel, usage)
	require.NoError(t, err)
	return id
}

func templateNames(ts []api.Template) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("ListsTheCatalogueByUsageThenNameWithFilters", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Lister")
		tag := "t-" + uuid.NewString()[:8]
		b.systemTemplate(t, "Bravo", tag, 2, "email")
		b.systemTemplate(t, "Alpha", tag, 2, "sms")
		b.systemTemplate(t, "Top", tag, 10, "whatsapp")
		own, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Aaa mine", Industry: &tag, UseCase: ptr("follow_up"),
			Steps: []api.TemplateStepInput{{Channel: api.TemplateChannelSms, Body: "Yo"}}}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, own.StatusCode(), string(own.Body))

		var all []api.Template
		params := &api.ListTemplatesParams{Industry: &tag, Limit: ptr(2)}
		for range 5 {
			r, err := b.client.ListTemplatesWithResponse(ctx, params, bearer(s.AccessToken))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			all = append(all, r.JSON200.Data...)
			if r.JSON200.NextCursor == nil {
				break
			}
			params.Cursor = r.JSON200.NextCursor
		}
		require.Equal(t, []string{"Top", "Alpha", "Bravo", "Aaa mine"}, templateNames(all))
		require.True(t, all[0].IsSystem)
		require.False(t, all[0].IsOwn)
		require.True(t, all[3].IsOwn)

		for _, tc := range []struct {
			params api.ListTemplatesParams
			want   []string
		}{
			{api.ListTemplatesParams{Industry: &tag, Channel: ptr(api.TemplateChannelSms)}, []string{"Alpha", "Aaa mine"}},
			{api.ListTemplatesParams{Industry: &tag, UseCase: ptr("follow_up")}, []string{"Aaa mine"}},
			{api.ListTemplatesParams{Industry: &tag, UseCase: ptr("cold_outreach"), Channel: ptr(api.TemplateChannelEmail)}, []string{"Bravo"}},
		} {
			r, err := b.client.ListTemplatesWithResponse(ctx, &tc.params, bearer(s.AccessToken))
			require.NoError(t, err)
			require.Equal(t, tc.want, templateNames(r.JSON200.Data))
		}

		r, err := b.client.ListTemplatesWithResponse(ctx, &api.ListTemplatesParams{Cursor: ptr("bogus")}, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusBadRequest)
	})

	t.Run("CreatesReadsUpdatesAndDeletesOwnTemplates", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Writer")
		tok := bearer(s.AccessToken)
		c, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Mine", Description: ptr("d"), Steps: []api.TemplateStepInput{
			{Channel: api.TemplateChannelEmail, Subject: ptr("Hi {{first_name|there}}"), Body: "Body"},
			{DelayDays: 3, Channel: api.TemplateChannelWhatsapp, Body: "Ping"},
		}}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
		tpl := c.JSON201
		require.Equal(t, []api.TemplateChannel{api.TemplateChannelEmail, api.TemplateChannelWhatsapp}, tpl.Channels)
		require.Equal(t, 2, tpl.Steps[1].Step)
		require.False(t, tpl.IsPublic || tpl.IsSystem)

		g, err := b.client.GetTemplateWithResponse(ctx, tpl.ID, tok)
		require.NoError(t, err)
		require.Equal(t, "Mine", g.JSON200.Name)

		u, err := b.client.UpdateTemplateWithResponse(ctx, tpl.ID, api.TemplateUpdate{Name: ptr("Renamed"), IsPublic: ptr(true)}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, u.StatusCode(), string(u.Body))
		require.Equal(t, "Renamed", u.JSON200.Name)
		require.True(t, u.JSON200.IsPublic)
		require.Len(t, u.JSON200.Steps, 2, "steps not sent stay")

		d, err := b.client.DeleteTemplateWithResponse(ctx, tpl.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, d.StatusCode())
		g, err = b.client.GetTemplateWithResponse(ctx, tpl.ID, tok)
		require.NoError(t, err)
		problem(t, g.HTTPResponse, g.Body, http.StatusNotFound)
	})

	t.Run("RejectsInvalidStepsWithTheirPointers", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Invalid")
		for _, tc := range []struct {
			name  string
			steps []api.TemplateStepInput
			field string
		}{
			{"AMalformedPlaceholder", []api.TemplateStepInput{{Channel: api.TemplateChannelEmail, Subject: ptr("ok"), Body: "ok"}, {DelayDays: 1, Channel: api.TemplateChannelSms, Body: "Hi {{first_name"}}, "/steps/1/body"},
			{"AMissingSubject", []api.TemplateStepInput{{Channel: api.TemplateChannelEmail, Body: "ok"}}, "/steps/0/subject"},
			{"DelaysOutOfOrder", []api.TemplateStepInput{{DelayDays: 4, Channel: api.TemplateChannelSms, Body: "a"}, {DelayDays: 2, Channel: api.TemplateChannelSms, Body: "b"}}, "/steps/1/delay_days"},
		} {
			r, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: tc.name, Steps: tc.steps}, bearer(s.AccessToken))
			require.NoError(t, err)
			p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
			require.NotNil(t, p.Errors, tc.name)
			var fields []string
			for _, f := range *p.Errors {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tc.field, tc.name)
		}
	})

	t.Run("SystemAndOtherOrgsTemplatesAnswerNotFoundToWrites", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Reader")
		sys := b.systemTemplate(t, "Read only", "t-"+uuid.NewString()[:8], 0, "email")
		u, err := b.client.UpdateTemplateWithResponse(ctx, sys, api.TemplateUpdate{Name: ptr("Mine now")}, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, u.HTTPResponse, u.Body, http.StatusNotFound)
		d, err := b.client.DeleteTemplateWithResponse(ctx, sys, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, d.HTTPResponse, d.Body, http.StatusNotFound)
		g, err := b.client.GetTemplateWithResponse(ctx, sys, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Read only", g.JSON200.Name)
	})

	t.Run("ClonesASeededSystemTemplateAndCountsTheUse", func(t *testing.T) {
		t.Parallel()
		_, err := templates.Seed(ctx, b.owner.Bun)
		require.NoError(t, err)
		ts, err := seeds.Templates()
		require.NoError(t, err)
		src := ts[0] // SaaS Cold Outreach
		s := b.signup(t, "Cloner")
		before, err := b.client.GetTemplateWithResponse(ctx, src.ID, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "SaaS Cold Outreach", before.JSON200.Name)

		c, err := b.client.CloneTemplateWithResponse(ctx, src.ID, nil, api.TemplateClone{Name: ptr("Our SaaS outreach")}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
		require.Equal(t, "Our SaaS outreach", c.JSON201.Name)
		require.True(t, c.JSON201.IsOwn)
		require.False(t, c.JSON201.IsSystem)
		require.Equal(t, before.JSON200.Steps, c.JSON201.Steps)

		after, err := b.client.GetTemplateWithResponse(ctx, src.ID, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Greater(t, after.JSON200.UsageCount, before.JSON200.UsageCount)

		u, err := b.client.UpdateTemplateWithResponse(ctx, c.JSON201.ID, api.TemplateUpdate{Steps: &[]api.TemplateStepInput{{Channel: api.TemplateChannelSms, Body: "Short"}}}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, u.StatusCode(), "the copy is the org's to change")
	})

	t.Run("PreviewsForALeadOrSampleDataAndListsUnresolvedPlaceholders", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "Previewer")
		tok := bearer(s.AccessToken)
		o, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{BusinessContext: &api.BusinessContext{SenderName: ptr("Sam"), Cta: ptr("Call?")}}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, o.StatusCode(), string(o.Body))
		c, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Preview", Steps: []api.TemplateStepInput{
			{Channel: api.TemplateChannelEmail, Subject: ptr("{{first_name|there}}, about {{company}}"), Body: "Region {{custom.region}}. {{cta}} {{sender_name}} {{metric}}"},
			{DelayDays: 2, Channel: api.TemplateChannelSms, Body: "{{custom.team}} {{metric}}"},
		}}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))

		r, err := b.client.PreviewTemplateWithResponse(ctx, c.JSON201.ID, api.TemplatePreviewRequest{Lead: &api.PreviewLead{
			Company: ptr("Engines"), CustomFields: &map[string]string{"region": "EMEA"}}}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.False(t, r.JSON200.Sample)
		require.Equal(t, "there, about Engines", *r.JSON200.Steps[0].Subject)
		require.Equal(t, "Region EMEA. Call? Sam ", r.JSON200.Steps[0].Body)
		require.Equal(t, []string{"metric", "custom.team"}, r.JSON200.Unresolved)

		r, err = b.client.PreviewTemplateWithResponse(ctx, c.JSON201.ID, api.TemplatePreviewRequest{}, tok)
		require.NoError(t, err)
		require.True(t, r.JSON200.Sample)
		require.Equal(t, templates.SampleLead().FirstName+", about "+templates.SampleLead().Company, *r.JSON200.Steps[0].Subject)
		require.Equal(t, []string{"custom.region", "metric", "custom.team"}, r.JSON200.Unresolved)
	})

	t.Run("CloneAndPreviewNeedNoBody", func(t *testing.T) {
		t.Parallel()
		s := b.signup(t, "No body")
		sys := b.systemTemplate(t, "Bodiless", "t-"+uuid.NewString()[:8], 0, "whatsapp")
		p, err := b.client.PreviewTemplateWithBodyWithResponse(ctx, sys, "application/json", nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, p.StatusCode(), string(p.Body))
		require.True(t, p.JSON200.Sample)
		require.Equal(t, "Hi "+templates.SampleLead().FirstName, p.JSON200.Steps[0].Body)
		require.Empty(t, p.JSON200.Unresolved)

		c, err := b.client.CloneTemplateWithBodyWithResponse(ctx, sys, nil, "application/json", nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, c.StatusCode(), string(c.Body))
		require.Equal(t, "Bodiless", c.JSON201.Name)
	})
}
