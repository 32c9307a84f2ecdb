package httpapi_test

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// sendQueue is the worker's queue of send tasks, run by the test.
type sendQueue struct {
	mu    sync.Mutex
	tasks []jobs.SendPayload
}

func (q *sendQueue) EnqueueSend(_ context.Context, org, account uuid.UUID, ids []uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, jobs.SendPayload{OrgID: org, AccountID: account, IDs: ids})
	return nil
}

// TestSendingEndToEnd is issue 10's "done when", through the generated
// client: a mailbox on a real SMTP server, a campaign of three steps,
// activation, time advanced through the schedule by the worker's clock,
// every email received with its headers and threading, a reply that stops
// one lead, an unsubscribe (the link in the email's List-Unsubscribe) that
// stops another, and the stats adding up.
func TestSendingEndToEnd(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	o := b.signup(t, "Send End Co")
	auth := bearer(o.AccessToken)
	org := o.Organization.ID
	srv := smtptest.Start(t, smtptest.Options{User: "sam@send-e2e.test", Password: "s3cret"})

	up, err := b.client.UpdateOrganizationWithResponse(ctx, api.OrganizationUpdate{BusinessContext: &api.BusinessContext{
		CompanyName: ptr("Send End Co"), SenderName: ptr("Sam Sender"), PostalAddress: ptr("1 Market St, Springfield"),
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

	none := api.EmailTLSMode("none")
	acct, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: "custom", EmailAddress: "sam@send-e2e.test",
		DisplayName: ptr("Sam Sender"), SMTPHost: ptr("127.0.0.1"), SMTPPort: ptr(srv.Port), SMTPTLSMode: &none,
		ImapHost: ptr("127.0.0.1"), ImapPort: ptr(993), Username: ptr("sam@send-e2e.test"), Password: ptr("s3cret"),
		DailySendLimit: ptr(100), WarmupEnabled: ptr(false)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, acct.StatusCode(), string(acct.Body))
	require.NotContains(t, string(acct.Body), "s3cret")

	tpl, err := b.client.CreateTemplateWithResponse(ctx, nil, api.TemplateCreate{Name: "Three", Steps: []api.TemplateStepInput{
		{Channel: api.TemplateChannelEmail, Subject: ptr("Quick idea for {{company}}"), Body: "Hi {{first_name}}, invoices in a minute."},
		{Channel: api.TemplateChannelEmail, DelayDays: 2, Subject: ptr("Following up"), Body: "Any thoughts, {{first_name}}?"},
		{Channel: api.TemplateChannelEmail, DelayDays: 3, Subject: ptr("Last note"), Body: "I will leave it here."},
	}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, tpl.StatusCode(), string(tpl.Body))
	all := []api.Weekday{api.WeekdayMonday, api.WeekdayTuesday, api.WeekdayWednesday, api.WeekdayThursday, api.WeekdayFriday, api.WeekdaySaturday, api.WeekdaySunday}
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Spring", Source: api.CampaignSourceManual,
		TemplateID: &tpl.JSON201.ID, EmailAccountIds: &[]uuid.UUID{acct.JSON201.ID},
		Settings: &api.CampaignSettingsInput{SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 2, 3},
			SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"), SendDays: &all, Timezone: ptr("UTC")}}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID

	emails := []string{"ana@globex.test", "ben@initech.test", "cy@umbrella.test"}
	leadIDs := map[string]uuid.UUID{}
	for _, e := range emails {
		l, err := b.client.CreateLeadWithResponse(ctx, nil, api.LeadCreate{CampaignID: &campID, Email: ptr(e), FirstName: ptr(strings.Title(e[:strings.Index(e, "@")])),
			Company: ptr("Globex"), IsApproved: ptr(true)}, auth)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
		leadIDs[e] = l.JSON201.ID
	}

	// Generation by the worker, then approval.
	started, err := b.client.StartCampaignGenerationWithResponse(ctx, campID, api.SequenceGenerationStart{}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, started.StatusCode(), string(started.Body))
	runGeneration(t, org, started.JSON202.ID)
	ok, err := b.client.ApproveCampaignSequencesWithResponse(ctx, campID, api.SequenceSelection{All: ptr(true)}, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
	require.Equal(t, 3, ok.JSON200.Changed, "%+v", ok.JSON200.Blocked)

	// Activation schedules step 1 of each lead.
	act, err := b.client.ActivateCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, act.StatusCode(), string(act.Body))
	msgs, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{CampaignID: &campID}, auth)
	require.NoError(t, err)
	require.Len(t, msgs.JSON200.Data, 3)
	for _, m := range msgs.JSON200.Data {
		require.Equal(t, api.MessageStatusScheduled, m.Status)
	}

	// The worker: its own engine and clock, the email channel on the real
	// SMTP server through the accounts service (credentials decrypted).
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	signer, err := unsubscribe.NewSigner([]byte(testUnsubscribeSecret))
	require.NoError(t, err)
	q := &sendQueue{}
	pool := emailsend.NewPool(emailsend.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	worker := sending.New(testkit.DB(t), map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool,
		Transports: sending.AccountTransports{DB: testkit.DB(t), Accounts: emailaccounts.NewService(testkit.DB(t), testKeyring(t), emailaccounts.Options{})}}},
		q, signer, sending.Options{Now: clock, MinGap: -1, RecipientDomainDaily: -1, UnsubscribeBase: "https://app.test/u"})
	send := jobs.NewSendHandler(worker)
	work := func() {
		t.Helper()
		for range 5 {
			_, err := worker.Dispatch(ctx)
			require.NoError(t, err)
			q.mu.Lock()
			tasks := q.tasks
			q.tasks = nil
			q.mu.Unlock()
			if len(tasks) == 0 {
				return
			}
			for _, p := range tasks {
				task, err := jobs.NewSendTask(p.OrgID, p.AccountID, p.IDs)
				require.NoError(t, err)
				require.NoError(t, send.ProcessTask(ctx, task))
			}
		}
	}
	to := func(addr string) []smtptest.Message {
		var out []smtptest.Message
		for _, m := range srv.Messages() {
			if m.To == addr {
				out = append(out, m)
			}
		}
		return out
	}

	advance(24 * time.Hour)
	work()
	require.Len(t, srv.Messages(), 3, "step 1 to each lead")
	for _, e := range emails {
		h := to(e)[0].Header()
		from, err := mail.ParseAddress(h.Get("From"))
		require.NoError(t, err)
		require.Equal(t, "sam@send-e2e.test", from.Address)
		require.Equal(t, "List-Unsubscribe=One-Click", h.Get("List-Unsubscribe-Post"))
		require.Contains(t, h.Get("List-Unsubscribe"), "<https://app.test/u/"+signer.Token(org, leadIDs[e])+">")
		require.NotEmpty(t, h.Get("Message-Id"))
		require.Contains(t, string(to(e)[0].Data), "1 Market St, Springfield")
	}

	// Ben replies: the inbox ingests it as IMAP sync does (the inbox's own
	// tests sync it from a real IMAP server); Cy follows the one-click link
	// of his email.
	benFirst := to("ben@initech.test")[0].Header().Get("Message-Id")
	benReply := "From: Ben <ben@initech.test>\r\nTo: sam@send-e2e.test\r\nSubject: Re: Quick idea\r\nMessage-ID: <ben-" + uuid.NewString() +
		"@initech.test>\r\nIn-Reply-To: " + benFirst + "\r\n\r\nThanks, we are set for now.\r\n"
	in, err := inbox.NewService(testkit.DB(t), worker, nil, nil, inbox.Options{}).Ingest(ctx, org, acct.JSON201.ID,
		[]inbox.Incoming{{Raw: []byte(benReply)}}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, in.Matched)
	// The link names the public host; the test server stands in for it.
	link := strings.Trim(strings.Split(to("cy@umbrella.test")[0].Header().Get("List-Unsubscribe"), ",")[0], "<> ")
	link = strings.Replace(link, "https://app.test", b.srv.URL, 1)
	res, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	for range 8 {
		advance(24 * time.Hour)
		work()
	}
	ana := to("ana@globex.test")
	require.Len(t, ana, 3, "every step to the lead who neither replied nor unsubscribed")
	require.Len(t, to("ben@initech.test"), 1, "a reply stops the sequence")
	require.Len(t, to("cy@umbrella.test"), 1, "an unsubscribe stops it")
	h1, h2, h3 := ana[0].Header(), ana[1].Header(), ana[2].Header()
	require.Equal(t, h1.Get("Message-Id"), h2.Get("In-Reply-To"))
	require.Equal(t, h1.Get("Message-Id"), h2.Get("References"))
	require.Equal(t, h2.Get("Message-Id"), h3.Get("In-Reply-To"))
	require.Equal(t, h1.Get("Message-Id")+" "+h2.Get("Message-Id"), h3.Get("References"))

	// The messages say why the others stopped, and the stats add up.
	stopped, err := b.client.ListMessagesWithResponse(ctx, &api.ListMessagesParams{CampaignID: &campID, Status: &[]api.MessageStatus{api.MessageStatusCancelled}}, auth)
	require.NoError(t, err)
	reasons := map[uuid.UUID]api.MessageBlockedReason{}
	for _, m := range stopped.JSON200.Data {
		reasons[m.LeadID] = *m.BlockedReason
	}
	require.Equal(t, api.MessageBlockedReasonLeadReplied, reasons[leadIDs["ben@initech.test"]])
	require.Equal(t, api.MessageBlockedReasonLeadUnsubscribed, reasons[leadIDs["cy@umbrella.test"]])
	// The lead's page answers "why was it not sent?" too.
	cy, err := b.client.GetLeadWithResponse(ctx, leadIDs["cy@umbrella.test"], auth)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cy.StatusCode(), string(cy.Body))
	require.Len(t, cy.JSON200.Messages, 2)
	require.Equal(t, "sent", cy.JSON200.Messages[0].Status)
	require.Equal(t, "cancelled", cy.JSON200.Messages[1].Status)
	require.Equal(t, "lead_unsubscribed", *cy.JSON200.Messages[1].BlockedReason)
	c, err := b.client.GetCampaignWithResponse(ctx, campID, auth)
	require.NoError(t, err)
	require.Equal(t, api.CampaignStatusCompleted, c.JSON200.Status, "nothing left to send")
	st := c.JSON200.Stats
	require.EqualValues(t, 3, st.TotalLeads)
	require.EqualValues(t, 5, st.EmailsSent)
	require.EqualValues(t, 1, st.RepliesReceived)
	require.EqualValues(t, 0, st.Bounces)
	supp, err := b.client.ListSuppressionsWithResponse(ctx, nil, auth)
	require.NoError(t, err)
	require.Len(t, supp.JSON200.Data, 1)
	require.Equal(t, "cy@umbrella.test", supp.JSON200.Data[0].Value)
}
