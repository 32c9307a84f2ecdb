package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

var everything = []api.EventTypeSubscription{api.EventTypeSubscriptionAsterisk}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.signup(t, "Hooks Org")
	owner := bearer(o.AccessToken)
	admin := b.join(t, o, api.RoleAdmin)
	member := b.join(t, o, api.RoleMember)
	k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "zapier"}, owner)
	require.NoError(t, err)
	key := bearer(k.JSON201.Secret)

	created, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://hooks.example.com/in",
		EventTypes: []api.EventTypeSubscription{api.EventTypeSubscriptionLeadCreated, api.EventTypeSubscriptionLeadUpdated}, Description: ptr("CRM sync")}, owner)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
	ep := *created.JSON201
	require.True(t, strings.HasPrefix(ep.Secret, "whsec_"))
	require.Equal(t, api.WebhookEndpointStatusEnabled, ep.Status)
	require.Equal(t, 8, ep.MaxConcurrency)
	require.Nil(t, ep.SecretRotationExpiresAt)

	t.Run("TheSecretIsShownOnlyOnCreate", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/v1/webhook-endpoints/" + ep.ID.String(), "/v1/webhook-endpoints"} {
			r, body := b.raw(t, http.MethodGet, path, "", withBearer(o.AccessToken))
			require.Equal(t, http.StatusOK, r.StatusCode, string(body))
			require.NotContains(t, string(body), `"secret"`, path)
			require.NotContains(t, string(body), ep.Secret, path)
			require.Contains(t, string(body), ep.ID.String())
		}
	})

	t.Run("CreateIsIdempotent", func(t *testing.T) {
		t.Parallel()
		idem := header("Idempotency-Key", "hook-1")
		body := api.WebhookEndpointCreate{URL: "https://hooks.example.com/idem", EventTypes: everything}
		first, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, body, owner, idem)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, first.StatusCode(), string(first.Body))
		second, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, body, owner, idem)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, second.StatusCode())
		require.Equal(t, "true", second.HTTPResponse.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.JSON201.ID, second.JSON201.ID, "one endpoint")
	})

	t.Run("MembersAreRefusedEverything", func(t *testing.T) {
		t.Parallel()
		m := member.AccessToken
		ev := uuid.Must(uuid.NewV7()).String()
		base := "/v1/webhook-endpoints/" + ep.ID.String()
		for _, c := range []struct{ method, path, body string }{
			{http.MethodGet, "/v1/webhook-endpoints", ""},
			{http.MethodPost, "/v1/webhook-endpoints", `{"url":"https://x.example.com/","event_types":["*"]}`},
			{http.MethodGet, base, ""},
			{http.MethodPatch, base, `{"description":"mine"}`},
			{http.MethodDelete, base, ""},
			{http.MethodPost, base + "/disable", ""},
			{http.MethodPost, base + "/enable", ""},
			{http.MethodPost, base + "/rotate-secret", ""},
			{http.MethodPost, base + "/test", ""},
			{http.MethodGet, base + "/messages", ""},
			{http.MethodGet, base + "/attempts", ""},
			{http.MethodPost, base + "/messages/" + ev + "/replay", ""},
			{http.MethodPost, base + "/replay", `{"since":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`},
		} {
			r, body := b.raw(t, c.method, c.path, c.body, withBearer(m))
			problem(t, r, body, http.StatusForbidden)
		}
	})

	t.Run("AdminsAndAPIKeysManageEndpoints", func(t *testing.T) {
		t.Parallel()
		for name, cred := range map[string]api.RequestEditorFn{"Admin": bearer(admin.AccessToken), "APIKey": key} {
			c, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://zapier.example.com/hooks/" + name, EventTypes: everything}, cred)
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, c.StatusCode(), name+": "+string(c.Body))
			g, err := b.client.GetWebhookEndpointWithResponse(ctx, c.JSON201.ID, cred)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, g.StatusCode(), name)
			d, err := b.client.DeleteWebhookEndpointWithResponse(ctx, c.JSON201.ID, cred)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, d.StatusCode(), name+": a REST Hooks unsubscribe")
			g, err = b.client.GetWebhookEndpointWithResponse(ctx, c.JSON201.ID, cred)
			require.NoError(t, err)
			problem(t, g.HTTPResponse, g.Body, http.StatusNotFound)
		}
	})

	t.Run("ValidationPointsAtTheField", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ body, field string }{
			{`{"url":"http://hooks.example.com/","event_types":["*"]}`, "/url"},
			{`{"url":"https://u:p@hooks.example.com/","event_types":["*"]}`, "/url"},
			{`{"url":"https://hooks.example.com/","event_types":["lead.exploded"]}`, "/event_types/0"},
			{`{"url":"https://hooks.example.com/","event_types":["*","lead.created"]}`, "/event_types"},
			{`{"url":"https://hooks.example.com/","event_types":[]}`, "/event_types"},
			{`{"url":"https://hooks.example.com/","event_types":["*"],"max_concurrency":65}`, "/max_concurrency"},
			{`{"url":"https://hooks.example.com/","event_types":["*"],"secret":"whsec_mine"}`, "/secret"},
		} {
			r, body := b.raw(t, http.MethodPost, "/v1/webhook-endpoints", c.body, withBearer(o.AccessToken))
			p := problem(t, r, body, http.StatusUnprocessableEntity)
			require.NotNil(t, p.Errors, c.body)
			require.Equal(t, c.field, (*p.Errors)[0].Field, c.body)
		}
	})

	t.Run("UpdateRotateTestReplay", func(t *testing.T) {
		t.Parallel()
		c, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://hooks.example.com/flow", EventTypes: everything}, key)
		require.NoError(t, err)
		id := c.JSON201.ID

		u, err := b.client.UpdateWebhookEndpointWithResponse(ctx, id, api.WebhookEndpointUpdate{URL: ptr("https://hooks.example.com/flow2"),
			EventTypes: &[]api.EventTypeSubscription{api.EventTypeSubscriptionWebhookTest}, MaxConcurrency: ptr(2)}, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, u.StatusCode(), string(u.Body))
		require.Equal(t, "https://hooks.example.com/flow2", u.JSON200.URL)
		require.Equal(t, 2, u.JSON200.MaxConcurrency)
		require.Equal(t, []api.EventTypeSubscription{api.EventTypeSubscriptionWebhookTest}, u.JSON200.EventTypes)

		rot, err := b.client.RotateWebhookEndpointSecretWithResponse(ctx, id, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rot.StatusCode(), string(rot.Body))
		require.NotEqual(t, c.JSON201.Secret, rot.JSON200.Secret)
		require.True(t, strings.HasPrefix(rot.JSON200.Secret, "whsec_"))
		require.WithinDuration(t, time.Now().Add(24*time.Hour), rot.JSON200.PreviousSecretExpiresAt, time.Minute)
		g, err := b.client.GetWebhookEndpointWithResponse(ctx, id, key)
		require.NoError(t, err)
		require.NotNil(t, g.JSON200.SecretRotationExpiresAt, "the overlap shows on the endpoint")
		require.True(t, rot.JSON200.PreviousSecretExpiresAt.Equal(*g.JSON200.SecretRotationExpiresAt))

		tst, err := b.client.TestWebhookEndpointWithResponse(ctx, id, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, tst.StatusCode(), string(tst.Body))
		require.Equal(t, api.EventTypeNameWebhookTest, tst.JSON201.Type)
		require.Equal(t, id, *tst.JSON201.ObjectID)
		require.Equal(t, id, tst.JSON201.Data.EndpointID, "the typed test event of the client")
		require.NotEmpty(t, tst.JSON201.Data.Message)

		msgs, err := b.client.ListWebhookMessagesWithResponse(ctx, id, nil, key)
		require.NoError(t, err)
		require.Len(t, msgs.JSON200.Data, 1, "the test event, once")
		require.Equal(t, tst.JSON201.ID, msgs.JSON200.Data[0].EventID)
		require.Equal(t, api.WebhookMessageStatusPending, msgs.JSON200.Data[0].Status)
		other, err := b.client.ListWebhookMessagesWithResponse(ctx, ep.ID, nil, owner)
		require.NoError(t, err)
		for _, m := range other.JSON200.Data {
			require.NotEqual(t, tst.JSON201.ID, m.EventID, "not queued for another endpoint")
		}

		// The delivery side fails it and logs an attempt.
		_, err = b.owner.Pool.Exec(ctx, `UPDATE webhook_messages SET status = 'failed', attempts = 5, last_status_code = 500 WHERE endpoint_id = $1`, id)
		require.NoError(t, err)
		_, err = b.owner.Pool.Exec(ctx, `INSERT INTO webhook_attempts (id, org_id, endpoint_id, event_id, status_code, latency_ms, succeeded, response_snippet)
			VALUES ($1, $2, $3, $4, 500, 42, false, 'oops')`, uuid.Must(uuid.NewV7()), o.Organization.ID, id, tst.JSON201.ID)
		require.NoError(t, err)
		att, err := b.client.ListWebhookAttemptsWithResponse(ctx, id, &api.ListWebhookAttemptsParams{EventID: &tst.JSON201.ID}, key)
		require.NoError(t, err)
		require.Len(t, att.JSON200.Data, 1)
		require.Equal(t, 500, *att.JSON200.Data[0].StatusCode)
		require.Equal(t, 42, att.JSON200.Data[0].LatencyMs)
		require.Equal(t, "oops", *att.JSON200.Data[0].ResponseSnippet)
		failed, err := b.client.ListWebhookMessagesWithResponse(ctx, id, &api.ListWebhookMessagesParams{Status: ptr(api.WebhookMessageStatusFailed)}, key)
		require.NoError(t, err)
		require.Len(t, failed.JSON200.Data, 1)
		require.Nil(t, failed.JSON200.Data[0].NextAttemptAt)

		one, err := b.client.ReplayWebhookMessageWithResponse(ctx, id, tst.JSON201.ID, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, one.StatusCode(), string(one.Body))
		require.Equal(t, api.WebhookMessageStatusPending, one.JSON202.Status)
		require.Zero(t, one.JSON202.Attempts)

		_, err = b.owner.Pool.Exec(ctx, `UPDATE webhook_messages SET status = 'failed' WHERE endpoint_id = $1`, id)
		require.NoError(t, err)
		since, err := b.client.ReplayWebhookEndpointWithResponse(ctx, id, nil, api.WebhookReplay{Since: time.Now().Add(-time.Hour)}, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, since.StatusCode(), string(since.Body))
		require.Equal(t, 1, since.JSON202.Queued)
		again, err := b.client.ReplayWebhookEndpointWithResponse(ctx, id, nil, api.WebhookReplay{Since: time.Now().Add(-time.Hour)}, key)
		require.NoError(t, err)
		require.Equal(t, 0, again.JSON202.Queued, "what is pending stays as it is")
		tooOld, err := b.client.ReplayWebhookEndpointWithResponse(ctx, id, nil, api.WebhookReplay{Since: time.Now().Add(-31 * 24 * time.Hour)}, key)
		require.NoError(t, err)
		p := problem(t, tooOld.HTTPResponse, tooOld.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/since", (*p.Errors)[0].Field)

		dis, err := b.client.DisableWebhookEndpointWithResponse(ctx, id, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, dis.StatusCode(), string(dis.Body))
		require.Equal(t, api.WebhookEndpointStatusDisabled, dis.JSON200.Status)
		require.Equal(t, api.WebhookDisabledReasonManual, *dis.JSON200.DisabledReason)
		replayed, err := b.client.ReplayWebhookMessageWithResponse(ctx, id, tst.JSON201.ID, key)
		require.NoError(t, err)
		p = problem(t, replayed.HTTPResponse, replayed.Body, http.StatusConflict)
		require.Equal(t, "endpoint_disabled", p.Code)
		listed, err := b.client.ListWebhookEndpointsWithResponse(ctx, &api.ListWebhookEndpointsParams{Status: ptr(api.WebhookEndpointStatusDisabled)}, key)
		require.NoError(t, err)
		require.Len(t, listed.JSON200.Data, 1)
		require.Equal(t, id, listed.JSON200.Data[0].ID)
		en, err := b.client.EnableWebhookEndpointWithResponse(ctx, id, key)
		require.NoError(t, err)
		require.Equal(t, api.WebhookEndpointStatusEnabled, en.JSON200.Status)
		require.Nil(t, en.JSON200.DisabledReason)
		require.Nil(t, en.JSON200.DisabledAt)
	})
}
