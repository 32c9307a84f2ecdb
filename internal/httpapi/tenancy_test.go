package httpapi_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// tenant is one organisation with one of everything that has an id.
type tenant struct {
	owner    api.AuthSession
	member   api.AuthSession
	inviteID uuid.UUID
	keyID    uuid.UUID
	keySec   string
	campID   uuid.UUID
	// templateID is a private template of the organisation's own.
	templateID    uuid.UUID
	suppressionID uuid.UUID
	leadID        uuid.UUID
	importID      uuid.UUID
	// endpointID is a webhook endpoint; eventID the test event sent to it.
	endpointID uuid.UUID
	eventID    uuid.UUID
	// notificationID is a notification addressed to the owner.
	notificationID uuid.UUID
	// emailAccountID is a sandbox email account with one captured reply,
	// and the campaign's mailbox; messageID a message scheduled from it to
	// the lead.
	emailAccountID uuid.UUID
	messageID      uuid.UUID
	// threadID is the lead's inbox thread through the mailbox, with one
	// inbound message, inboxMessageID.
	threadID       uuid.UUID
	inboxMessageID uuid.UUID
}

func (b *bundle) tenant(t *testing.T, name string) tenant {
	t.Helper()
	ctx := context.Background()
	o := b.signup(t, name)
	m := b.join(t, o, api.RoleMember)
	inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(uniqueEmail("pending"))}, bearer(o.AccessToken))
	require.NoError(t, err)
	k, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: name + " key"}, bearer(o.AccessToken))
	require.NoError(t, err)
	c, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: name + " campaign", Source: api.CampaignSourceManual}, bearer(o.AccessToken))
	require.NoError(t, err)
	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: name + " template",
		Steps: []api.TemplateStepInput{{Channel: api.TemplateChannelSms, Body: "Hi {{first_name}}"}}}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	sup, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "tenancy@example.com"}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, sup.StatusCode(), string(sup.Body))
	lead, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &c.JSON201.ID, Email: ptr("tenancy-lead@example.com")}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, lead.StatusCode(), string(lead.Body))
	imp, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, &api.CreateLeadImportParams{CampaignID: &c.JSON201.ID}, "text/csv",
		strings.NewReader("Email,Company\ntenancy-import@example.com,Acme\n"), bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, imp.StatusCode(), string(imp.Body))
	// Before the webhook endpoint, which subscribes to every event type.
	ea, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox,
		EmailAddress: strings.ReplaceAll(strings.ToLower(name), " ", "-") + "@sandbox.test", DisplayName: ptr(name + " mailbox")}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ea.StatusCode(), string(ea.Body))
	rep, err := b.client.InjectSandboxReplyWithResponse(ctx, ea.JSON201.ID, nil, api.SandboxReplyCreate{From: "lead@example.com", Text: name + " reply"}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, rep.StatusCode(), string(rep.Body))
	ep, err := b.client.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://example.com/" + strings.ReplaceAll(name, " ", "-"),
		EventTypes: []api.EventTypeSubscription{api.EventTypeSubscriptionAsterisk}}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ep.StatusCode(), string(ep.Body))
	ev, err := b.client.TestWebhookEndpointWithResponse(ctx, ep.JSON201.ID, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ev.StatusCode(), string(ev.Body))
	var nids []uuid.UUID
	require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: o.Organization.ID}, func(ctx context.Context, tx bun.IDB) (err error) {
		nids, err = notifications.Notify(ctx, tx, o.Organization.ID, notifications.New{Type: notifications.TypeSystem, Title: name + " notice", Users: []uuid.UUID{o.User.ID}})
		return err
	}))
	require.Len(t, nids, 1)
	// A sequence for the lead, as generation writes it, so the sequence
	// endpoints have something to find in the right organisation.
	_, err = b.owner.Pool.Exec(ctx, `INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps)
		VALUES ($1, $2, $3, $4, '[{"step":1,"delay_days":0,"channel":"email","subject":"Hi","body":"Tenant sequence"}]')`,
		uuid.Must(uuid.NewV7()), o.Organization.ID, c.JSON201.ID, lead.JSON201.ID)
	require.NoError(t, err)
	msg := uuid.Must(uuid.NewV7())
	_, err = b.owner.Pool.Exec(ctx, `WITH ce AS (INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($2, $3, $1))
		INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, scheduled_for, status)
		VALUES ($4, $2, $3, $5, 'email', $1, 1, 'Hi', 'Tenant message', now() + interval '1 day', 'scheduled')`,
		ea.JSON201.ID, o.Organization.ID, c.JSON201.ID, msg, lead.JSON201.ID)
	require.NoError(t, err)
	// The lead's inbox thread with one reply, as ingest leaves it (no
	// step in messages: the message lists above count one each).
	thread, inMsg := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err = b.owner.Pool.Exec(ctx, `WITH th AS (
		  INSERT INTO inbox_threads (id, org_id, lead_id, campaign_id, email_account_id, channel, subject, message_count, inbound_count, unread_count, last_message_at)
		  VALUES ($1, $3, $4, $5, $6, 'email', 'Tenant thread', 1, 1, 1, now()) RETURNING id)
		INSERT INTO inbox_messages (id, org_id, email_account_id, lead_id, campaign_id, inbox_thread_id, channel, direction, kind, from_address, to_address,
		  body_text, message_id, received_at)
		SELECT $2, $3, $6, $4, $5, th.id, 'email', 'inbound', 'reply', 'tenancy-lead@example.com', 'box@sandbox.test', 'Tenant reply', $7, now() FROM th`,
		thread, inMsg, o.Organization.ID, lead.JSON201.ID, c.JSON201.ID, ea.JSON201.ID, inMsg.String()+"@lead.test")
	require.NoError(t, err)
	return tenant{threadID: thread, inboxMessageID: inMsg, emailAccountID: ea.JSON201.ID, messageID: msg, notificationID: nids[0], endpointID: ep.JSON201.ID, eventID: ev.JSON201.ID, owner: o, member: m, inviteID: inv.JSON201.ID, keyID: k.JSON201.ID, keySec: k.JSON201.Secret, campID: c.JSON201.ID, templateID: tpl.JSON201.ID, suppressionID: sup.JSON201.ID,
		leadID: lead.JSON201.ID, importID: imp.JSON202.ID}
}

// crossTenantCase calls one endpoint as org B (with credential cred) on
// org A's ids and returns the status and body.
type crossTenantCase struct {
	operation string // operationId in openapi.yaml
	call      func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error)
}

// crossTenantCases covers every operation that addresses something by id.
// A new endpoint with an id goes here; TestEveryOperationIsCoveredForTenancy
// fails until it does.
var crossTenantCases = []crossTenantCase{
	{"getInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetInboxThreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"markInboxThreadRead", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.MarkInboxThreadReadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"markInboxThreadUnread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.MarkInboxThreadUnreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"starInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.StarInboxThreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"unstarInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UnstarInboxThreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"archiveInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ArchiveInboxThreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"unarchiveInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UnarchiveInboxThreadWithResponse(ctx, a.threadID, bearer(cred))
		return resp(r, err)
	}},
	{"replyToInboxThread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ReplyToInboxThreadWithResponse(ctx, a.threadID, nil, api.InboxReplyCreate{BodyText: "Hijacked"}, bearer(cred))
		return resp(r, err)
	}},
	{"reclassifyInboxMessage", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ReclassifyInboxMessageWithResponse(ctx, a.inboxMessageID, api.InboxReclassify{Classification: api.InboxClassificationUnsubscribe}, bearer(cred))
		return resp(r, err)
	}},
	{"getInboxMessage", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetInboxMessageWithResponse(ctx, a.inboxMessageID, bearer(cred))
		return resp(r, err)
	}},
	{"getMessage", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetMessageWithResponse(ctx, a.messageID, bearer(cred))
		return resp(r, err)
	}},
	{"listCampaignEmailAccounts", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ListCampaignEmailAccountsWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"setCampaignEmailAccounts", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.SetCampaignEmailAccountsWithResponse(ctx, a.campID, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{a.emailAccountID}}, bearer(cred))
		return resp(r, err)
	}},
	{"getCampaignSchedule", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetCampaignScheduleWithResponse(ctx, a.campID, nil, bearer(cred))
		return resp(r, err)
	}},
	{"getEmailAccount", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetEmailAccountWithResponse(ctx, a.emailAccountID, bearer(cred))
		return resp(r, err)
	}},
	{"updateEmailAccount", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateEmailAccountWithResponse(ctx, a.emailAccountID, api.EmailAccountUpdate{DisplayName: ptr("Hijacked"), IsActive: ptr(false)}, bearer(cred))
		return resp(r, err)
	}},
	{"deleteEmailAccount", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteEmailAccountWithResponse(ctx, a.emailAccountID, bearer(cred))
		return resp(r, err)
	}},
	{"testEmailAccount", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.TestEmailAccountWithResponse(ctx, a.emailAccountID, bearer(cred))
		return resp(r, err)
	}},
	{"listSandboxMessages", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ListSandboxMessagesWithResponse(ctx, a.emailAccountID, nil, bearer(cred))
		return resp(r, err)
	}},
	{"injectSandboxReply", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.InjectSandboxReplyWithResponse(ctx, a.emailAccountID, nil, api.SandboxReplyCreate{From: "hijack@example.com", Text: "Hijacked"}, bearer(cred))
		return resp(r, err)
	}},
	{"getNotification", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetNotificationWithResponse(ctx, a.notificationID, bearer(cred))
		return resp(r, err)
	}},
	{"markNotificationRead", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.MarkNotificationReadWithResponse(ctx, a.notificationID, bearer(cred))
		return resp(r, err)
	}},
	{"markNotificationUnread", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.MarkNotificationUnreadWithResponse(ctx, a.notificationID, bearer(cred))
		return resp(r, err)
	}},
	{"updateMember", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateMemberWithResponse(ctx, a.member.User.ID, api.MemberUpdate{Role: api.RoleAdmin}, bearer(cred))
		return resp(r, err)
	}},
	{"removeMember", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RemoveMemberWithResponse(ctx, a.member.User.ID, bearer(cred))
		return resp(r, err)
	}},
	{"revokeInvite", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RevokeInviteWithResponse(ctx, a.inviteID, bearer(cred))
		return resp(r, err)
	}},
	{"revokeApiKey", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RevokeAPIKeyWithResponse(ctx, a.keyID, bearer(cred))
		return resp(r, err)
	}},
	{"getCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"updateCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateCampaignWithResponse(ctx, a.campID, api.CampaignUpdate{Name: ptr("taken")}, bearer(cred))
		return resp(r, err)
	}},
	{"deleteCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"activateCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ActivateCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"pauseCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.PauseCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"resumeCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ResumeCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"completeCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.CompleteCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"archiveCampaign", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ArchiveCampaignWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"getTemplate", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetTemplateWithResponse(ctx, a.templateID, bearer(cred))
		return resp(r, err)
	}},
	{"updateTemplate", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateTemplateWithResponse(ctx, a.templateID, api.TemplateUpdate{Name: ptr("Hijacked")}, bearer(cred))
		return resp(r, err)
	}},
	{"deleteTemplate", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteTemplateWithResponse(ctx, a.templateID, bearer(cred))
		return resp(r, err)
	}},
	{"cloneTemplate", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.CloneTemplateWithResponse(ctx, a.templateID, nil, api.TemplateClone{}, bearer(cred))
		return resp(r, err)
	}},
	{"previewTemplate", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.PreviewTemplateWithResponse(ctx, a.templateID, api.TemplatePreviewRequest{}, bearer(cred))
		return resp(r, err)
	}},
	{"deleteSuppression", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteSuppressionWithResponse(ctx, a.suppressionID, bearer(cred))
		return resp(r, err)
	}},
	{"getLeadSequence", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetLeadSequenceWithResponse(ctx, a.leadID, bearer(cred))
		return resp(r, err)
	}},
	{"updateLeadSequence", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateLeadSequenceWithResponse(ctx, a.leadID, api.SequenceUpdate{Steps: []api.SequenceStep{
			{Step: 1, Channel: api.SequenceStepChannelEmail, Subject: ptr("Hijacked"), Body: "Hijacked"}}}, bearer(cred))
		return resp(r, err)
	}},
	{"regenerateLeadSequence", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RegenerateLeadSequenceWithResponse(ctx, a.leadID, api.SequenceRegenerate{Instruction: ptr("hijack"), Step: ptr(1)}, bearer(cred))
		return resp(r, err)
	}},
	{"listCampaignSequences", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ListCampaignSequencesWithResponse(ctx, a.campID, nil, bearer(cred))
		return resp(r, err)
	}},
	{"getCampaignGeneration", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetCampaignGenerationWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"startCampaignGeneration", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.StartCampaignGenerationWithResponse(ctx, a.campID, api.SequenceGenerationStart{Description: ptr("hijack")}, bearer(cred))
		return resp(r, err)
	}},
	{"cancelCampaignGeneration", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.CancelCampaignGenerationWithResponse(ctx, a.campID, bearer(cred))
		return resp(r, err)
	}},
	{"previewCampaignSequences", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.PreviewCampaignSequencesWithResponse(ctx, a.campID, api.SequencePreviewRequest{LeadIds: &[]uuid.UUID{a.leadID}, Description: ptr("hijack")}, bearer(cred))
		return resp(r, err)
	}},
	{"approveCampaignSequences", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ApproveCampaignSequencesWithResponse(ctx, a.campID, api.SequenceSelection{All: ptr(true)}, bearer(cred))
		return resp(r, err)
	}},
	{"rejectCampaignSequences", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RejectCampaignSequencesWithResponse(ctx, a.campID, api.SequenceSelection{All: ptr(true)}, bearer(cred))
		return resp(r, err)
	}},
	{"getLead", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetLeadWithResponse(ctx, a.leadID, bearer(cred))
		return resp(r, err)
	}},
	{"updateLead", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateLeadWithResponse(ctx, a.leadID, api.LeadUpdate{Company: ptr("Hijacked")}, bearer(cred))
		return resp(r, err)
	}},
	{"getLeadImport", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetLeadImportWithResponse(ctx, a.importID, bearer(cred))
		return resp(r, err)
	}},
	{"cancelLeadImport", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.CancelLeadImportWithResponse(ctx, a.importID, bearer(cred))
		return resp(r, err)
	}},
	{"getLeadImportErrors", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetLeadImportErrorsWithResponse(ctx, a.importID, bearer(cred))
		return resp(r, err)
	}},
	{"deleteLead", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteLeadWithResponse(ctx, a.leadID, bearer(cred))
		return resp(r, err)
	}},
	{"getEvent", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetEventWithResponse(ctx, a.eventID, bearer(cred))
		return resp(r, err)
	}},
	{"getWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.GetWebhookEndpointWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"updateWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.UpdateWebhookEndpointWithResponse(ctx, a.endpointID, api.WebhookEndpointUpdate{URL: ptr("https://evil.example.com/")}, bearer(cred))
		return resp(r, err)
	}},
	{"deleteWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DeleteWebhookEndpointWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"disableWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.DisableWebhookEndpointWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"enableWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.EnableWebhookEndpointWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"rotateWebhookEndpointSecret", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.RotateWebhookEndpointSecretWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"testWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.TestWebhookEndpointWithResponse(ctx, a.endpointID, bearer(cred))
		return resp(r, err)
	}},
	{"listWebhookMessages", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ListWebhookMessagesWithResponse(ctx, a.endpointID, nil, bearer(cred))
		return resp(r, err)
	}},
	{"listWebhookAttempts", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ListWebhookAttemptsWithResponse(ctx, a.endpointID, nil, bearer(cred))
		return resp(r, err)
	}},
	{"replayWebhookMessage", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ReplayWebhookMessageWithResponse(ctx, a.endpointID, a.eventID, bearer(cred))
		return resp(r, err)
	}},
	// A's event replayed to the caller's own endpoint: the event id is
	// looked up in the caller's organisation too.
	{"replayWebhookMessage", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		own, err := c.CreateWebhookEndpointWithResponse(ctx, nil, api.WebhookEndpointCreate{URL: "https://example.com/own",
			EventTypes: []api.EventTypeSubscription{api.EventTypeSubscriptionAsterisk}}, bearer(cred))
		if err != nil {
			return nil, nil, err
		}
		if own.JSON201 == nil {
			return own.HTTPResponse, own.Body, nil
		}
		r, err := c.ReplayWebhookMessageWithResponse(ctx, own.JSON201.ID, a.eventID, bearer(cred))
		return resp(r, err)
	}},
	{"replayWebhookEndpoint", func(ctx context.Context, c *api.ClientWithResponses, a tenant, cred string) (*http.Response, []byte, error) {
		r, err := c.ReplayWebhookEndpointWithResponse(ctx, a.endpointID, nil, api.WebhookReplay{Since: time.Now().Add(-time.Hour)}, bearer(cred))
		return resp(r, err)
	}},
}

// scopedByCaller are operations without ids: they act on the caller's own
// organisation, checked below to show only org B.
var scopedByCaller = []string{"getMe", "getOrganization", "updateOrganization", "listMembers", "listInvites", "createInvite", "listApiKeys", "createApiKey",
	"getLlmSettings", "putLlmSettings", "testLlmSettings", "getLlmUsage", "resendVerification",
	"listCampaigns", "createCampaign", "listTemplates", "createTemplate",
	"listSuppressions", "createSuppression", "bulkCreateSuppressions",
	"listLeads", "createLead", "bulkLeads", "exportLeads",
	"previewLeadImport", // previewLeadImport reads only the request body
	"createLeadImport", "listLeadImports",
	"listMessages", // checked below: B's list holds none of A's messages
	"listEvents", "listEventTypes", "listWebhookEndpoints", "createWebhookEndpoint",
	"listInboxThreads", "listInboxOther",
	"listNotifications", "getNotificationUnreadCount", "markAllNotificationsRead", "getNotificationPreferences", "updateNotificationPreferences",
	"listEmailAccounts", "createEmailAccount",
	"authorizeEmailAccountOAuth", // seals the caller's own organisation into the state
}

// public operations act before there is a tenant.
var publicOps = []string{"signup", "login", "refreshSession", "logout", "acceptInvite", "verifyEmail", "requestPasswordReset", "confirmPasswordReset",
	"emailAccountOAuthCallback", // the sealed state names the organisation
}

func resp[T interface{ StatusCode() int }](r T, err error) (*http.Response, []byte, error) {
	if err != nil {
		return nil, nil, err
	}
	v := any(r)
	switch x := v.(type) {
	case *api.GetNotificationResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetMessageResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ListCampaignEmailAccountsResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.SetCampaignEmailAccountsResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetCampaignScheduleResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.MarkNotificationReadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.MarkNotificationUnreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateMemberResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RemoveMemberResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RevokeInviteResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RevokeAPIKeyResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ActivateCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.PauseCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ResumeCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.CompleteCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ArchiveCampaignResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetTemplateResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateTemplateResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteTemplateResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.CloneTemplateResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.PreviewTemplateResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteSuppressionResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetLeadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateLeadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteLeadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetLeadImportResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.CancelLeadImportResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetLeadImportErrorsResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetEventResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DisableWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.EnableWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RotateWebhookEndpointSecretResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.TestWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ListWebhookMessagesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ListWebhookAttemptsResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ReplayWebhookMessageResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ReplayWebhookEndpointResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetCampaignGenerationResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.StartCampaignGenerationResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.CancelCampaignGenerationResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.PreviewCampaignSequencesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ApproveCampaignSequencesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RejectCampaignSequencesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetLeadSequenceResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateLeadSequenceResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ListCampaignSequencesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.RegenerateLeadSequenceResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetEmailAccountResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UpdateEmailAccountResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.DeleteEmailAccountResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.TestEmailAccountResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ListSandboxMessagesResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.InjectSandboxReplyResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.MarkInboxThreadReadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.MarkInboxThreadUnreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.StarInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UnstarInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ArchiveInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.UnarchiveInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ReplyToInboxThreadResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.GetInboxMessageResponse:
		return x.HTTPResponse, x.Body, nil
	case *api.ReclassifyInboxMessageResponse:
		return x.HTTPResponse, x.Body, nil
	}
	panic("add the response type to resp")
}

func TestCrossTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.tenant(t, "Tenant A")
	other := b.tenant(t, "Tenant B")

	for _, cred := range []struct{ name, secret string }{
		{"OwnerToken", other.owner.AccessToken},
		{"APIKey", other.keySec},
	} {
		for _, tc := range crossTenantCases {
			t.Run(cred.name+"/"+tc.operation+"AnswersNotFound", func(t *testing.T) {
				r, body, err := tc.call(ctx, b.client, a, cred.secret)
				require.NoError(t, err)
				if r.StatusCode == http.StatusForbidden {
					// API keys are refused before any lookup; the owner
					// token below proves the lookup itself is scoped.
					require.Equal(t, "APIKey", cred.name)
					return
				}
				problem(t, r, body, http.StatusNotFound)
			})
		}
	}

	t.Run("OrgAIsUntouched", func(t *testing.T) {
		members, err := b.client.ListMembersWithResponse(ctx, nil, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Len(t, members.JSON200.Data, 2)
		for _, m := range members.JSON200.Data {
			if m.UserID == a.member.User.ID {
				require.Equal(t, api.RoleMember, m.Role)
			}
		}
		invites, err := b.client.ListInvitesWithResponse(ctx, nil, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		for _, inv := range invites.JSON200.Data {
			if inv.ID == a.inviteID {
				require.Equal(t, api.InviteStatusPending, inv.Status)
			}
		}
		me, err := b.client.GetMeWithResponse(ctx, bearer(a.keySec))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode(), "A's key still works")
		camp, err := b.client.GetCampaignWithResponse(ctx, a.campID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, camp.StatusCode(), "A's campaign is still there")
		require.Equal(t, "Tenant A campaign", camp.JSON200.Name)
		require.Equal(t, api.CampaignStatusDraft, camp.JSON200.Status)
		tpl, err := b.client.GetTemplateWithResponse(ctx, a.templateID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Tenant A template", tpl.JSON200.Name, "B neither renamed nor deleted A's template")
		seq, err := b.client.GetLeadSequenceWithResponse(ctx, a.leadID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, seq.StatusCode(), string(seq.Body))
		require.Equal(t, "Tenant sequence", seq.JSON200.Steps[0].Body, "B did not edit A's sequence")
		require.False(t, seq.JSON200.IsApproved, "B did not approve A's sequence")
		acc, err := b.client.GetEmailAccountWithResponse(ctx, a.emailAccountID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), "A's email account is still there")
		require.Equal(t, "Tenant A mailbox", *acc.JSON200.DisplayName, "B did not rename it")
		require.True(t, acc.JSON200.IsActive, "B did not deactivate it")
		msgs, err := b.client.ListSandboxMessagesWithResponse(ctx, a.emailAccountID, nil, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Len(t, msgs.JSON200.Data, 1, "B injected no reply into A's sandbox")
		gen, err := b.client.GetCampaignGenerationWithResponse(ctx, a.campID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, gen.StatusCode(), "B started no generation on A's campaign")
		th, err := b.client.GetInboxThreadWithResponse(ctx, a.threadID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, th.StatusCode(), string(th.Body))
		require.False(t, th.JSON200.Thread.IsStarred || th.JSON200.Thread.IsArchived, "B neither starred nor archived A's thread")
		require.Equal(t, 1, th.JSON200.Thread.UnreadCount, "B did not mark it read")
		require.Equal(t, 1, th.JSON200.Thread.MessageCount, "B did not reply in it")
		require.Len(t, th.JSON200.Items, 1)
		inMsg, err := th.JSON200.Items[0].AsInboxThreadMessageItem()
		require.NoError(t, err)
		require.Nil(t, inMsg.Message.Classification, "B did not reclassify A's reply")
		boxes, err := b.client.ListCampaignEmailAccountsWithResponse(ctx, a.campID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Len(t, boxes.JSON200.Data, 1, "B did not change A's mailboxes")
		require.Equal(t, a.emailAccountID, boxes.JSON200.Data[0].EmailAccountID)
	})

	t.Run("MessagesAndMailboxesStayInTheirOrganisation", func(t *testing.T) {
		tok := bearer(other.owner.AccessToken)
		ms, err := b.client.ListMessagesWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ms.StatusCode(), string(ms.Body))
		require.Len(t, ms.JSON200.Data, 1, "B sees its own message only")
		require.Equal(t, other.messageID, ms.JSON200.Data[0].ID)
		byA, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{CampaignID: &a.campID}, tok)
		require.NoError(t, err)
		require.Empty(t, byA.JSON200.Data, "filtering on A's campaign finds nothing")
		// A's mailbox on B's own campaign: not an email account of B's.
		put, err := b.client.SetCampaignEmailAccountsWithResponse(ctx, other.campID, api.CampaignEmailAccountsUpdate{EmailAccountIds: []uuid.UUID{a.emailAccountID}}, tok)
		require.NoError(t, err)
		p := problem(t, put.HTTPResponse, put.Body, http.StatusUnprocessableEntity)
		require.NotNil(t, p.Errors)
		require.Equal(t, "/email_account_ids/0", (*p.Errors)[0].Field)
	})

	t.Run("ChangingOnesOwnOrganisationLeavesTheOtherAlone", func(t *testing.T) {
		r, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{Name: ptr("Renamed B")}, bearer(other.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
		require.Equal(t, other.owner.Organization.ID, r.JSON200.ID)
		ga, err := b.client.GetOrganizationWithResponse(ctx, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "Tenant A", ga.JSON200.Name)
	})

	t.Run("LLMSettingsAndUsageStayInTheirOrganisation", func(t *testing.T) {
		put, err := b.client.PutLlmSettingsWithResponse(ctx, api.LlmSettingsUpdate{Provider: api.LlmProviderBuiltin, Temperature: ptr(1.5)}, bearer(other.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, put.StatusCode(), string(put.Body))
		for range 2 {
			tr, err := b.client.TestLlmSettingsWithResponse(ctx, bearer(other.owner.AccessToken))
			require.NoError(t, err)
			require.True(t, tr.JSON200.Ok)
		}
		got, err := b.client.GetLlmSettingsWithResponse(ctx, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Nil(t, got.JSON200.Temperature, "B's change did not touch A")
		ua, err := b.client.GetLlmUsageWithResponse(ctx, nil, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Zero(t, ua.JSON200.Totals.Calls, "B's calls are not A's usage")
		ub, err := b.client.GetLlmUsageWithResponse(ctx, nil, bearer(other.owner.AccessToken))
		require.NoError(t, err)
		require.EqualValues(t, 2, ub.JSON200.Totals.Calls)
	})

	t.Run("ListsAndOrgShowOnlyTheCallersOrganisation", func(t *testing.T) {
		tok := bearer(other.owner.AccessToken)
		org, err := b.client.GetOrganizationWithResponse(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, other.owner.Organization.ID, org.JSON200.ID)
		members, err := b.client.ListMembersWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		for _, m := range members.JSON200.Data {
			require.NotEqual(t, a.member.User.ID, m.UserID)
			require.NotEqual(t, a.owner.User.ID, m.UserID)
		}
		invites, err := b.client.ListInvitesWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		for _, inv := range invites.JSON200.Data {
			require.NotEqual(t, a.inviteID, inv.ID)
		}
		keys, err := b.client.ListAPIKeysWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		for _, k := range keys.JSON200.Data {
			require.NotEqual(t, a.keyID, k.ID)
		}
		camps, err := b.client.ListCampaignsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, camps.JSON200.Data, 1)
		require.Equal(t, other.campID, camps.JSON200.Data[0].ID)
		var seen []uuid.UUID
		for cursor := (*string)(nil); ; {
			tpls, err := b.client.ListTemplatesWithResponse(ctx, &api.ListTemplatesParams{Limit: ptr(100), Cursor: cursor}, tok)
			require.NoError(t, err)
			for _, tp := range tpls.JSON200.Data {
				seen = append(seen, tp.ID)
			}
			if cursor = tpls.JSON200.NextCursor; cursor == nil {
				break
			}
		}
		require.Contains(t, seen, other.templateID)
		require.NotContains(t, seen, a.templateID, "A's private template is not in B's catalogue")
		sups, err := b.client.ListSuppressionsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, sups.JSON200.Data, 1, "B sees its own entry only")
		require.NotEqual(t, a.suppressionID, sups.JSON200.Data[0].ID)
		bulk, err := b.client.BulkCreateSuppressionsWithBodyWithResponse(ctx, nil, "text/csv", strings.NewReader("tenancy@example.com\nb-only@example.com\n"), tok)
		require.NoError(t, err)
		require.Equal(t, 1, bulk.JSON200.Added, "A's entry is not B's: only the new address is added")
		require.Equal(t, 1, bulk.JSON200.AlreadyPresent)
		asA, err := b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Q: ptr("b-only")}, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Empty(t, asA.JSON200.Data, "B's bulk add did not reach A")
		bl, err := b.client.ListLeadsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, bl.JSON200.Data, 1, "B sees its own lead only")
		require.Equal(t, other.leadID, bl.JSON200.Data[0].ID)
		bulkLeads, err := b.client.BulkLeadsWithResponse(ctx, api.LeadBulk{Action: api.LeadBulkActionDelete, Ids: &[]uuid.UUID{a.leadID}}, tok)
		require.NoError(t, err)
		require.Equal(t, api.LeadBulkResult{}, *bulkLeads.JSON200, "B's bulk delete does not see A's lead")
		intoA, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &a.campID, Email: ptr("sneaky@example.com")}, tok)
		require.NoError(t, err)
		problem(t, intoA.HTTPResponse, intoA.Body, http.StatusUnprocessableEntity)
		exp, err := b.client.ExportLeadsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.NotContains(t, string(exp.Body), a.leadID.String())
		require.Contains(t, string(exp.Body), other.leadID.String())
		aLead, err := b.client.GetLeadWithResponse(ctx, a.leadID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, aLead.StatusCode(), "A's lead is still there")
		require.Nil(t, aLead.JSON200.Company, "and unchanged")
		imps, err := b.client.ListLeadImportsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, imps.JSON200.Data, 1, "B sees its own import only")
		require.Equal(t, other.importID, imps.JSON200.Data[0].ID)
		impIntoA, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, &api.CreateLeadImportParams{CampaignID: &a.campID}, "text/csv",
			strings.NewReader("Email\nsneaky-import@example.com\n"), tok)
		require.NoError(t, err)
		problem(t, impIntoA.HTTPResponse, impIntoA.Body, http.StatusNotFound)
		urlIntoA, err := b.client.CreateLeadImportWithResponse(ctx, nil, api.CreateLeadImportJSONRequestBody{URL: "https://example.com/sneaky.csv", CampaignID: &a.campID}, tok)
		require.NoError(t, err)
		problem(t, urlIntoA.HTTPResponse, urlIntoA.Body, http.StatusNotFound)
		evs, err := b.client.ListEventsWithResponse(ctx, &api.ListEventsParams{Limit: ptr(100)}, tok)
		require.NoError(t, err)
		require.NotEmpty(t, evs.JSON200.Data)
		for _, e := range evs.JSON200.Data {
			require.NotEqual(t, a.eventID, e.ID, "B does not see A's events")
			require.NotEqual(t, a.endpointID, derefUUID(e.ObjectID))
		}
		eps, err := b.client.ListWebhookEndpointsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		for _, e := range eps.JSON200.Data {
			require.NotEqual(t, a.endpointID, e.ID, "B does not see A's endpoints")
		}
		aEP, err := b.client.GetWebhookEndpointWithResponse(ctx, a.endpointID, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, aEP.StatusCode(), "A's endpoint is still there")
		require.Equal(t, "https://example.com/Tenant-A", aEP.JSON200.URL, "unchanged")
		require.Equal(t, api.WebhookEndpointStatusEnabled, aEP.JSON200.Status)
		require.Nil(t, aEP.JSON200.SecretRotationExpiresAt, "its secret was not rotated")
		aMsgs, err := b.client.ListWebhookMessagesWithResponse(ctx, a.endpointID, nil, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Len(t, aMsgs.JSON200.Data, 1, "only A's own test event is queued for A's endpoint")
		require.Equal(t, a.eventID, aMsgs.JSON200.Data[0].EventID)
		ths, err := b.client.ListInboxThreadsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{other.threadID}, threadIDs(ths.JSON200.Data), "B sees its own thread only")
		thsByA, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{LeadID: &a.leadID, Q: ptr("Tenant")}, tok)
		require.NoError(t, err)
		require.Empty(t, thsByA.JSON200.Data, "filtering on A's lead finds nothing")
		oth, err := b.client.ListInboxOtherWithResponse(ctx, &api.ListInboxOtherParams{EmailAccountID: &a.emailAccountID}, tok)
		require.NoError(t, err)
		require.Empty(t, oth.JSON200.Data)
		ns, err := b.client.ListNotificationsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, ns.JSON200.Data, 1, "B sees its own notification only")
		require.Equal(t, other.notificationID, ns.JSON200.Data[0].ID)
		all, err := b.client.MarkAllNotificationsReadWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, 1, all.JSON200.Marked, "B's read-all marks B's own only")
		_, err = b.client.UpdateNotificationPreferencesWithResponse(ctx, api.NotificationPreferencesUpdate{DailyDigest: ptr(false)}, tok)
		require.NoError(t, err)
		aCount, err := b.client.GetNotificationUnreadCountWithResponse(ctx, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.Equal(t, 1, aCount.JSON200.Count, "A's notification is still unread")
		aPrefs, err := b.client.GetNotificationPreferencesWithResponse(ctx, bearer(a.owner.AccessToken))
		require.NoError(t, err)
		require.True(t, aPrefs.JSON200.DailyDigest, "B's preferences are not A's")
		// A token for A cannot be bent to act on B by login's org_id.
		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(a.owner.User.Email), Password: password, OrgID: &other.owner.Organization.ID})
		require.NoError(t, err)
		problem(t, l.HTTPResponse, l.Body, http.StatusUnauthorized)
	})
}

// TestEveryOperationIsCoveredForTenancy keeps the cross-tenant test
// complete: each operation in the contract is either public, acts on the
// caller's own organisation, or has a cross-tenant case.
func TestEveryOperationIsCoveredForTenancy(t *testing.T) {
	t.Parallel()
	spec, err := server.GetSwagger()
	require.NoError(t, err)
	// The generator capitalises operation ids in the embedded copy.
	covered := map[string]bool{}
	for _, c := range crossTenantCases {
		covered[strings.ToLower(c.operation)] = true
	}
	for _, op := range append(append([]string{}, scopedByCaller...), publicOps...) {
		covered[strings.ToLower(op)] = true
	}
	var missing []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if !covered[strings.ToLower(op.OperationID)] {
				missing = append(missing, method+" "+path+" ("+op.OperationID+")")
			}
			if takesID(item, op) && !contains(publicOps, op.OperationID) {
				require.True(t, hasCase(op.OperationID), "%s %s takes an id: add a crossTenantCases entry", method, path)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "add these operations to the cross-tenant test")
}

// takesID reports whether an operation's path names something by id (a
// uuid path parameter); a path parameter that is an enum (an OAuth
// provider) names nothing of a tenant's.
func takesID(item *openapi3.PathItem, op *openapi3.Operation) bool {
	for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == "path" && p.Value.Schema != nil && p.Value.Schema.Value != nil && p.Value.Schema.Value.Format == "uuid" {
				return true
			}
		}
	}
	return false
}

func derefUUID(u *uuid.UUID) uuid.UUID {
	if u == nil {
		return uuid.Nil
	}
	return *u
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func hasCase(op string) bool {
	for _, c := range crossTenantCases {
		if strings.EqualFold(c.operation, op) {
			return true
		}
	}
	return false
}
