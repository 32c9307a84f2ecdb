package httpapi_test

import (
	"context"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// classifyQueue records what ingest queued for classification (the
// worker's classify tasks).
type classifyQueue struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (q *classifyQueue) EnqueueClassify(_ context.Context, _ uuid.UUID, ids []uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, ids...)
	return nil
}

// TestInboxEndToEnd is issue 11's done-when, through the generated client:
// a mailbox that sends over a real SMTP server and reads a real IMAP
// server, step 1 sent to three leads, a reply, a bounce and an
// out-of-office arriving in the IMAP mailbox, the worker's sync and
// classification, then the inbox through the API — threaded, classified,
// the sequence stopped, the lead bounced, notified, the events written —
// and an answer sent from the thread with its threading headers.
func TestInboxEndToEnd(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	o := b.signup(t, "Inbox End Co")
	auth := bearer(o.AccessToken)
	org := o.Organization.ID
	imapSrv := imaptest.Start(t)
	smtpSrv := smtptest.Start(t, smtptest.Options{User: imapSrv.User, Password: imapSrv.Password})

	up, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{BusinessContext: &api.BusinessContext{
		CompanyName: ptr("Inbox End Co"), SenderName: ptr("Sam Sender"), PostalAddress: ptr("1 Market St, Springfield"),
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	none := api.EmailTLSModeNone
	acct, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderCustom, EmailAddress: "sam@inbox-e2e.test",
		DisplayName: ptr("Sam Sender"), SMTPHost: ptr("127.0.0.1"), SMTPPort: ptr(smtpSrv.Port), SMTPTLSMode: &none,
		ImapHost: ptr("127.0.0.1"), ImapPort: ptr(imapSrv.Port), ImapTLSMode: &none, Username: ptr(imapSrv.User), Password: ptr(imapSrv.Password),
		DailySendLimit: ptr(100), WarmupEnabled: ptr(false)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, acct.StatusCode(), string(acct.Body))
	account := acct.JSON201.ID

	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Three", Steps: []api.TemplateStepInput{
		{Channel: api.TemplateChannelEmail, Subject: ptr("Quick idea for {{company}}"), Body: "Hi {{first_name}}, invoices in a minute."},
		{Channel: api.TemplateChannelEmail, DelayDays: 2, Subject: ptr("Following up"), Body: "Any thoughts, {{first_name}}?"},
		{Channel: api.TemplateChannelEmail, DelayDays: 3, Subject: ptr("Last note"), Body: "I will leave it here."},
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	all := []api.Weekday{api.WeekdayMonday, api.WeekdayTuesday, api.WeekdayWednesday, api.WeekdayThursday, api.WeekdayFriday, api.WeekdaySaturday, api.WeekdaySunday}
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Winter", Source: api.CampaignSourceManual,
		TemplateID: &tpl.JSON201.ID, EmailAccountIds: &[]uuid.UUID{account},
		Settings: &api.CampaignSettingsInput{SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 2, 3},
			SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"), SendDays: &all, Timezone: ptr("UTC")}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID
	leadIDs := map[string]uuid.UUID{}
	for _, e := range []string{"ana@globex.test", "dan@acme.test", "cy@contoso.test"} {
		l, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &campID, Email: ptr(e), FirstName: ptr("Ana"),
			Company: ptr("Globex"), IsApproved: ptr(true)}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
		leadIDs[e] = l.JSON201.ID
	}
	started, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, started.StatusCode(), string(started.Body))
	runGeneration(t, org, started.JSON202.ID)
	ok, err := b.client.ApproveCampaignSequencesWithResponse(ctx, campID, api.SequenceSelection{All: ptr(true)}, auth)
	require.NoError(t, err)
	require.Equal(t, 3, ok.JSON200.Changed, "%+v", ok.JSON200.Blocked)
	act, err := b.client.ActivateCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, act.StatusCode(), string(act.Body))

	// The worker: the sending engine over the real SMTP server, the inbox
	// reading the real IMAP server through the accounts service
	// (credentials decrypted), the built-in classifier.
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	signer, err := unsubscribe.NewSigner([]byte(testUnsubscribeSecret))
	require.NoError(t, err)
	q := &sendQueue{}
	pool := emailsend.NewPool(emailsend.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	// The operator allows loopback mail servers (EMAIL_ALLOW_CIDRS), as a
	// deployment with a local relay would.
	accounts := emailaccounts.NewService(testkit.DB(t), testKeyring(t), emailaccounts.Options{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	engine := sending.New(testkit.DB(t), map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool,
		Transports: sending.AccountTransports{DB: testkit.DB(t), Accounts: accounts}}},
		q, signer, sending.Options{Now: clock, MinGap: -1, RecipientDomainDaily: -1, UnsubscribeBase: "https://app.test/u"})
	send := jobs.NewSendHandler(engine)
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	for range 5 {
		_, err := engine.Dispatch(ctx)
		require.NoError(t, err)
		q.mu.Lock()
		tasks := q.tasks
		q.tasks = nil
		q.mu.Unlock()
		for _, p := range tasks {
			task, err := jobs.NewSendTask(p.OrgID, p.AccountID, p.IDs)
			require.NoError(t, err)
			require.NoError(t, send.ProcessTask(ctx, task))
		}
	}
	sent := map[string]string{}
	for _, m := range smtpSrv.Messages() {
		sent[m.To] = strings.Trim(m.Header().Get("Message-Id"), "<>")
	}
	require.Len(t, sent, 3)

	// What arrives: Ana says yes in the thread, Dan's address bounces (a
	// real Postfix report), Cy is away (a real Exchange auto-reply).
	arrived := clock().Add(time.Hour) // an hour after the sends, on the worker's clock
	anaReplyID := uuid.NewString() + "@globex.test"
	imapSrv.Append(t, []byte("From: Ana <ana@globex.test>\r\nTo: sam@inbox-e2e.test\r\nSubject: Re: Quick idea for Globex\r\nMessage-ID: <"+anaReplyID+
		">\r\nIn-Reply-To: <"+sent["ana@globex.test"]+">\r\nReferences: <"+sent["ana@globex.test"]+">\r\nDate: "+arrived.Format(time.RFC1123Z)+
		"\r\n\r\nYes, I'm interested. Can we talk on Thursday?\r\n\r\n> Hi Ana, invoices in a minute.\r\n"), arrived)
	bounceRaw, err := os.ReadFile("../bounce/testdata/postfix-userunknown.eml")
	require.NoError(t, err)
	imapSrv.Append(t, []byte(strings.NewReplacer("j.doe@acme-widgets.example", "dan@acme.test", "John.Doe@Acme-Widgets.example", "dan@acme.test",
		"lp-018fdcb1-7e2a-7c11-b3f4-0d9e8c7b6a51@leadpilot.example", sent["dan@acme.test"]).Replace(string(bounceRaw))), arrived)
	oooRaw, err := os.ReadFile("../mailparse/testdata/exchange_ooo.eml")
	require.NoError(t, err)
	imapSrv.Append(t, []byte(strings.NewReplacer("David.Miller@contoso-example.com", "cy@contoso.test",
		"lp.33333333-4444-4555-8666-777777777777@leadpilot-demo.io", sent["cy@contoso.test"]).Replace(string(oooRaw))), arrived)

	classify := &classifyQueue{}
	bi := builtin.New()
	w := inbox.Worker{Service: inbox.NewService(testkit.DB(t), engine, func(context.Context, uuid.UUID) (llm.Provider, error) { return bi, nil }, classify,
		inbox.Options{Now: func() time.Time { return clock().Add(2 * time.Hour) }}), Mailboxes: emailaccounts.NewMailboxes(accounts)}
	require.NoError(t, w.SyncMailbox(ctx, org, account))
	ga, err := b.client.GetEmailAccountWithResponse(ctx, account, auth)
	require.NoError(t, err)
	if ga.JSON200.Sync.LastError != nil {
		t.Fatalf("sync failed: %s", *ga.JSON200.Sync.LastError)
	}
	require.Len(t, classify.ids, 1, "Ana's reply; the bounce and the auto-reply are classified by rules")
	require.NoError(t, w.Classify(ctx, org, classify.ids))

	// The mailbox's sync state.
	ga, err = b.client.GetEmailAccountWithResponse(ctx, account, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ga.StatusCode(), string(ga.Body))
	require.NotNil(t, ga.JSON200.Sync.LastSuccessAt)
	require.Equal(t, int64(3), *ga.JSON200.Sync.LastUID)
	require.Equal(t, int64(3), ga.JSON200.Sync.MessagesSynced)
	require.Nil(t, ga.JSON200.Sync.LastError)

	// The inbox: Ana's thread, classified interested, our step then her reply.
	interested := api.ListInboxThreadsParamsClassification("interested")
	threads, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Classification: &interested}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, threads.StatusCode(), string(threads.Body))
	require.Len(t, threads.JSON200.Data, 1)
	th := threads.JSON200.Data[0]
	require.Equal(t, leadIDs["ana@globex.test"], th.Lead.ID)
	require.Equal(t, 1, th.UnreadCount)
	detail, err := b.client.GetInboxThreadWithResponse(ctx, th.ID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, detail.StatusCode(), string(detail.Body))
	require.Len(t, detail.JSON200.Items, 2)
	step, err := detail.JSON200.Items[0].AsInboxThreadStepItem()
	require.NoError(t, err)
	require.Equal(t, 1, step.Step.Step)
	msg, err := detail.JSON200.Items[1].AsInboxThreadMessageItem()
	require.NoError(t, err)
	require.Equal(t, "interested", string(*msg.Message.Classification))
	require.NotEmpty(t, *msg.Message.ClassificationReason)
	require.Equal(t, "builtin", *msg.Message.ClassificationProvider)
	require.Contains(t, *msg.Message.CleanText, "Thursday")
	require.NotContains(t, *msg.Message.CleanText, "invoices in a minute", "quoted history cut off")

	// Ana's sequence stopped; her lead is interested and its timeline counts the reply.
	lead, err := b.client.GetLeadWithResponse(ctx, leadIDs["ana@globex.test"], auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, lead.StatusCode(), string(lead.Body))
	require.Equal(t, api.LeadStatus("interested"), lead.JSON200.Status)
	require.Equal(t, 1, lead.JSON200.Activity.Replies)
	require.Equal(t, 1, lead.JSON200.Activity.PositiveReplies)
	for _, m := range lead.JSON200.Messages {
		if m.Step > 1 {
			require.Equal(t, "cancelled", m.Status)
			require.Equal(t, "lead_replied", *m.BlockedReason)
		}
	}
	// Dan bounced; Cy's sequence goes on.
	dan, err := b.client.GetLeadWithResponse(ctx, leadIDs["dan@acme.test"], auth)
	require.NoError(t, err)
	require.Equal(t, api.LeadStatus("bounced"), dan.JSON200.Status)
	require.Equal(t, 1, dan.JSON200.Activity.Bounces)
	cy, err := b.client.GetLeadWithResponse(ctx, leadIDs["cy@contoso.test"], auth)
	require.NoError(t, err)
	require.Equal(t, 1, cy.JSON200.Activity.AutoReplies)
	for _, m := range cy.JSON200.Messages {
		if m.Step == 2 {
			require.Equal(t, "scheduled", m.Status, "an auto-reply does not stop the sequence (its return date defers it: internal/inbox's tests, on a fixed clock)")
		}
	}

	// Campaign stats count them.
	c, err := b.client.GetCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.EqualValues(t, 1, c.JSON200.Stats.RepliesReceived)
	require.EqualValues(t, 1, c.JSON200.Stats.PositiveReplies)
	require.EqualValues(t, 1, c.JSON200.Stats.Bounces)

	// Notified, and the events written.
	pos := api.NotificationType("positive_reply")
	notes, err := b.client.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Type: &pos}, auth)
	require.NoError(t, err)
	require.Len(t, notes.JSON200.Data, 1)
	evs, err := b.client.ListEventsWithResponse(ctx, &api.ListEventsParams{Type: &[]api.EventTypeName{"reply.received", "reply.classified", "lead.status_changed", "message.bounced"}}, auth)
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, e := range evs.JSON200.Data {
		kinds[string(e.Type)]++
	}
	require.Equal(t, 3, kinds["reply.received"])
	require.Equal(t, 3, kinds["reply.classified"])
	require.Equal(t, 1, kinds["message.bounced"])
	require.GreaterOrEqual(t, kinds["lead.status_changed"], 3, "Ana replied then interested, Dan bounced")

	// Sam answers in the thread: from the same mailbox, threaded under Ana's reply.
	rep, err := b.client.ReplyToInboxThreadWithResponse(ctx, th.ID, nil, api.InboxReplyCreate{BodyText: "Thursday at 3pm works. Talk then!"}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, rep.StatusCode(), string(rep.Body))
	var answer *smtptest.Message
	for _, m := range smtpSrv.Messages() {
		if m.To == "ana@globex.test" && strings.Contains(string(m.Data), "Thursday at 3pm") {
			answer = &m
		}
	}
	require.NotNil(t, answer, "the answer reached the SMTP server")
	h := answer.Header()
	require.Equal(t, "<"+anaReplyID+">", h.Get("In-Reply-To"))
	require.Contains(t, h.Get("References"), "<"+anaReplyID+">")
	require.Contains(t, h.Get("References"), "<"+sent["ana@globex.test"]+">")
	require.Equal(t, "Re: Quick idea for Globex", h.Get("Subject"))
}
