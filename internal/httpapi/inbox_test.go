package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// seededThread is a lead's conversation as ingest leaves it: our first
// step (sent), the lead's reply to it, and the thread over both.
type seededThread struct {
	thread, step, reply uuid.UUID
	stepMessageID       string
	replyMessageID      string
}

// seedThread writes a thread for lead of org through account (ingest is
// not part of these tests), the lead's reply received at at.
func (b *bundle) seedThread(t *testing.T, org, campaign, lead, account uuid.UUID, leadEmail, subject, class, text string, at time.Time) seededThread {
	t.Helper()
	s := seededThread{thread: uuid.Must(uuid.NewV7()), step: uuid.Must(uuid.NewV7()), reply: uuid.Must(uuid.NewV7()),
		stepMessageID: uuid.NewString() + "@sandbox.test", replyMessageID: uuid.NewString() + "@lead.test"}
	var cls any
	if class != "" {
		cls = class
	}
	_, err := b.owner.Pool.Exec(context.Background(), `
		WITH st AS (
		  INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, email_account_id, step, subject, body_text, message_id, status, sent_at)
		  VALUES ($2, $4, $5, $6, 'email', $7, 1, $9, 'Our first step', $10, 'sent', $13::timestamptz - interval '1 day')),
		th AS (
		  INSERT INTO inbox_threads (id, org_id, lead_id, campaign_id, email_account_id, channel, subject, snippet, classification,
		    message_count, inbound_count, unread_count, last_message_at, last_inbound_at)
		  VALUES ($1, $4, $6, $5, $7, 'email', $9, left($12, 40), $11, 1, 1, 1, $13, $13) RETURNING id)
		INSERT INTO inbox_messages (id, org_id, email_account_id, lead_id, campaign_id, inbox_thread_id, outbound_message_id, channel, direction, kind,
		  from_address, to_address, subject, body_text, snippet, message_id, in_reply_to, message_references, classification, received_at)
		SELECT $3, $4, $7, $6, $5, th.id, $2, 'email', 'inbound', 'reply', $8, 'box@sandbox.test', 'Re: ' || $9, $12, left($12, 40), $14, $10,
		  ARRAY[$10], $11, $13
		FROM th`,
		s.thread, s.step, s.reply, org, campaign, lead, account, leadEmail, subject, s.stepMessageID, cls, text, at, s.replyMessageID)
	require.NoError(t, err)
	return s
}

// inboxOrg is an organisation with a sandbox mailbox, a campaign and
// leads, ready for seeded threads.
type inboxOrg struct {
	owner    api.AuthSession
	account  uuid.UUID
	campaign uuid.UUID
}

func (b *bundle) inboxOrg(t *testing.T, name string) inboxOrg {
	t.Helper()
	ctx := context.Background()
	o := b.signup(t, name)
	ea, err := b.client.CreateEmailAccountWithResponse(ctx, nil, api.EmailAccountCreate{Provider: api.EmailAccountCreateProviderSandbox,
		EmailAddress: "box-" + uuid.NewString()[:8] + "@sandbox.test", DisplayName: ptr("Box")}, bearer(o.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ea.StatusCode(), string(ea.Body))
	c, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: name + " campaign", Source: api.CampaignSourceManual}, bearer(o.AccessToken))
	require.NoError(t, err)
	return inboxOrg{owner: o, account: ea.JSON201.ID, campaign: c.JSON201.ID}
}

func (b *bundle) inboxLead(t *testing.T, o inboxOrg, email, first string) uuid.UUID {
	t.Helper()
	l, err := b.client.CreateLeadWithResponse(context.Background(), nil, api.LeadCreate{CampaignID: &o.campaign, Email: &email, FirstName: &first},
		bearer(o.owner.AccessToken))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, l.StatusCode(), string(l.Body))
	return l.JSON201.ID
}

func threadIDs(ts []api.InboxThread) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestInboxThroughTheClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	o := b.inboxOrg(t, "Inbox API")
	tok := bearer(o.owner.AccessToken)
	ana := b.inboxLead(t, o, "ana@lead.test", "Ana")
	bo := b.inboxLead(t, o, "bo@lead.test", "Bo")
	now := time.Now().UTC().Truncate(time.Second)
	tAna := b.seedThread(t, o.owner.Organization.ID, o.campaign, ana, o.account, "ana@lead.test", "Quick idea", "interested", "Sounds great, send the deck", now.Add(-time.Hour))
	tBo := b.seedThread(t, o.owner.Organization.ID, o.campaign, bo, o.account, "bo@lead.test", "Pricing", "", "What does it cost?", now.Add(-2*time.Hour))
	other := uuid.Must(uuid.NewV7())
	_, err := b.owner.Pool.Exec(ctx, `INSERT INTO inbox_messages (id, org_id, email_account_id, channel, direction, kind, from_address, to_address, body_text, received_at)
		VALUES ($1, $2, $3, 'email', 'inbound', 'bounce', 'mailer-daemon@x.test', 'box@sandbox.test', 'undeliverable', now())`, other, o.owner.Organization.ID, o.account)
	require.NoError(t, err)

	t.Run("ListsFiltersAndSearches", func(t *testing.T) {
		l, err := b.client.ListInboxThreadsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, l.StatusCode(), string(l.Body))
		require.Equal(t, []uuid.UUID{tAna.thread, tBo.thread}, threadIDs(l.JSON200.Data))
		require.Nil(t, l.JSON200.NextCursor)
		got := l.JSON200.Data[0]
		require.Equal(t, "ana@lead.test", *got.Lead.Email)
		require.Equal(t, "Ana", *got.Lead.FullName)
		require.Equal(t, api.InboxThreadClassificationInterested, *got.Classification)
		require.Equal(t, 1, got.UnreadCount)

		page, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Limit: ptr(1)}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tAna.thread}, threadIDs(page.JSON200.Data))
		require.NotNil(t, page.JSON200.NextCursor)
		page, err = b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Limit: ptr(1), Cursor: page.JSON200.NextCursor}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tBo.thread}, threadIDs(page.JSON200.Data))

		for _, tc := range []struct {
			p    api.ListInboxThreadsParams
			want []uuid.UUID
		}{
			{api.ListInboxThreadsParams{Classification: ptr(api.ListInboxThreadsParamsClassificationInterested)}, []uuid.UUID{tAna.thread}},
			{api.ListInboxThreadsParams{Classification: ptr(api.ListInboxThreadsParamsClassificationUnclassified)}, []uuid.UUID{tBo.thread}},
			{api.ListInboxThreadsParams{Q: ptr("COST")}, []uuid.UUID{tBo.thread}},
			{api.ListInboxThreadsParams{Q: ptr("ana@")}, []uuid.UUID{tAna.thread}},
			{api.ListInboxThreadsParams{LeadID: &bo}, []uuid.UUID{tBo.thread}},
			{api.ListInboxThreadsParams{EmailAccountID: &o.account, CampaignID: &o.campaign}, []uuid.UUID{tAna.thread, tBo.thread}},
		} {
			r, err := b.client.ListInboxThreadsWithResponse(ctx, &tc.p, tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			require.Equal(t, tc.want, threadIDs(r.JSON200.Data))
		}
		bad, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Cursor: ptr("garbage")}, tok)
		require.NoError(t, err)
		problem(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest)
	})

	t.Run("DetailHasOurStepsAndTheirReplies", func(t *testing.T) {
		d, err := b.client.GetInboxThreadWithResponse(ctx, tAna.thread, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, d.StatusCode(), string(d.Body))
		require.Equal(t, tAna.thread, d.JSON200.Thread.ID)
		require.Len(t, d.JSON200.Items, 2)
		kind, err := d.JSON200.Items[0].Discriminator()
		require.NoError(t, err)
		require.Equal(t, "step", kind)
		st, err := d.JSON200.Items[0].AsInboxThreadStepItem()
		require.NoError(t, err)
		require.Equal(t, tAna.step, st.Step.ID)
		require.Equal(t, tAna.stepMessageID, *st.Step.MessageID)
		require.Equal(t, api.InboxThreadStepStatusSent, st.Step.Status)
		kind, err = d.JSON200.Items[1].Discriminator()
		require.NoError(t, err)
		require.Equal(t, "message", kind)
		msg, err := d.JSON200.Items[1].AsInboxThreadMessageItem()
		require.NoError(t, err)
		require.Equal(t, tAna.reply, msg.Message.ID)
		require.Equal(t, "Sounds great, send the deck", *msg.Message.BodyText)
		require.Equal(t, []string{tAna.stepMessageID}, msg.Message.References)

		one, err := b.client.GetInboxMessageWithResponse(ctx, tAna.reply, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, one.StatusCode(), string(one.Body))
		require.Equal(t, tAna.thread, *one.JSON200.ThreadID)
	})

	t.Run("ReadStarArchiveRoundTrips", func(t *testing.T) {
		r, err := b.client.MarkInboxThreadReadWithResponse(ctx, tAna.thread, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, 0, r.JSON200.UnreadCount)
		unread, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Unread: ptr(true)}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tBo.thread}, threadIDs(unread.JSON200.Data))
		u, err := b.client.MarkInboxThreadUnreadWithResponse(ctx, tAna.thread, tok)
		require.NoError(t, err)
		require.Equal(t, 1, u.JSON200.UnreadCount)

		s, err := b.client.StarInboxThreadWithResponse(ctx, tBo.thread, tok)
		require.NoError(t, err)
		require.True(t, s.JSON200.IsStarred)
		starred, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Starred: ptr(true)}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tBo.thread}, threadIDs(starred.JSON200.Data))
		us, err := b.client.UnstarInboxThreadWithResponse(ctx, tBo.thread, tok)
		require.NoError(t, err)
		require.False(t, us.JSON200.IsStarred)

		a, err := b.client.ArchiveInboxThreadWithResponse(ctx, tBo.thread, tok)
		require.NoError(t, err)
		require.True(t, a.JSON200.IsArchived)
		def, err := b.client.ListInboxThreadsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tAna.thread}, threadIDs(def.JSON200.Data))
		arch, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Archived: ptr(true)}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tBo.thread}, threadIDs(arch.JSON200.Data))
		ua, err := b.client.UnarchiveInboxThreadWithResponse(ctx, tBo.thread, tok)
		require.NoError(t, err)
		require.False(t, ua.JSON200.IsArchived)

		missing, err := b.client.StarInboxThreadWithResponse(ctx, uuid.Must(uuid.NewV7()), tok)
		require.NoError(t, err)
		problem(t, missing.HTTPResponse, missing.Body, http.StatusNotFound)
	})

	t.Run("OtherListsUnmatchedMail", func(t *testing.T) {
		r, err := b.client.ListInboxOtherWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Len(t, r.JSON200.Data, 1)
		require.Equal(t, other, r.JSON200.Data[0].ID)
		require.Nil(t, r.JSON200.Data[0].ThreadID)
		require.Equal(t, api.InboxMessageKindBounce, r.JSON200.Data[0].Kind)
		none, err := b.client.ListInboxOtherWithResponse(ctx, &api.ListInboxOtherParams{Kind: ptr(api.ListInboxOtherParamsKindReply)}, tok)
		require.NoError(t, err)
		require.Empty(t, none.JSON200.Data)
	})

	t.Run("RepliesInTheThreadOnceAndIdempotently", func(t *testing.T) {
		key := "reply-" + uuid.NewString()
		body := api.InboxReplyCreate{BodyText: "Here is the deck.\n\nBest, Sam"}
		r, err := b.client.ReplyToInboxThreadWithResponse(ctx, tAna.thread, &api.ReplyToInboxThreadParams{IdempotencyKey: &key}, body, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		m := r.JSON201
		require.Equal(t, api.InboxMessageDirectionOutbound, m.Direction)
		require.Equal(t, api.InboxMessageKindOutbound, m.Kind)
		require.Equal(t, api.InboxMessageDeliveryStatusSent, *m.DeliveryStatus)
		require.Equal(t, tAna.replyMessageID, *m.InReplyTo)
		require.Equal(t, []string{tAna.stepMessageID, tAna.replyMessageID}, m.References)
		require.Equal(t, "Re: Quick idea", *m.Subject)

		again, err := b.client.ReplyToInboxThreadWithResponse(ctx, tAna.thread, &api.ReplyToInboxThreadParams{IdempotencyKey: &key}, body, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, again.StatusCode())
		require.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
		require.Equal(t, m.ID, again.JSON201.ID)

		// The sandbox mailbox kept what left, once, with its headers.
		sb, err := b.client.ListSandboxMessagesWithResponse(ctx, o.account, nil, tok)
		require.NoError(t, err)
		var sent []api.SandboxMessage
		for _, s := range sb.JSON200.Data {
			if s.Direction == api.SandboxMessageDirectionOutbound {
				sent = append(sent, s)
			}
		}
		require.Len(t, sent, 1, "the replayed request sent nothing")
		require.Equal(t, []string{"ana@lead.test"}, sent[0].To)
		require.Equal(t, "<"+tAna.replyMessageID+">", sent[0].Headers["In-Reply-To"][0])
		require.Equal(t, "<"+tAna.stepMessageID+"> <"+tAna.replyMessageID+">", sent[0].Headers["References"][0])
		require.Equal(t, "<"+*m.MessageID+">", sent[0].Headers["Message-Id"][0])
		require.Contains(t, sent[0].Text, "Here is the deck.")

		d, err := b.client.GetInboxThreadWithResponse(ctx, tAna.thread, tok)
		require.NoError(t, err)
		require.Equal(t, 2, d.JSON200.Thread.MessageCount)
		last, err := d.JSON200.Items[len(d.JSON200.Items)-1].AsInboxThreadMessageItem()
		require.NoError(t, err)
		require.Equal(t, m.ID, last.Message.ID)

		empty, err := b.client.ReplyToInboxThreadWithResponse(ctx, tAna.thread, nil, api.InboxReplyCreate{BodyText: ""}, tok)
		require.NoError(t, err)
		problem(t, empty.HTTPResponse, empty.Body, http.StatusUnprocessableEntity)
	})

	t.Run("RefusesASuppressedLead", func(t *testing.T) {
		sup, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "bo@lead.test"}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, sup.StatusCode(), string(sup.Body))
		r, err := b.client.ReplyToInboxThreadWithResponse(ctx, tBo.thread, nil, api.InboxReplyCreate{BodyText: "Still there?"}, tok)
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusConflict)
		require.Equal(t, "lead_suppressed", p.Code)
		var n int
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM inbox_messages WHERE inbox_thread_id = $1 AND direction = 'outbound'`, tBo.thread).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("ReclassifiesByHand", func(t *testing.T) {
		r, err := b.client.ReclassifyInboxMessageWithResponse(ctx, tBo.reply, api.InboxReclassify{Classification: api.InboxClassificationQuestion}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, api.InboxMessageClassificationQuestion, *r.JSON200.Classification)
		require.True(t, r.JSON200.ClassificationManual)
		require.Equal(t, "user", *r.JSON200.ClassificationProvider)
		l, err := b.client.ListInboxThreadsWithResponse(ctx, &api.ListInboxThreadsParams{Classification: ptr(api.ListInboxThreadsParamsClassificationQuestion)}, tok)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{tBo.thread}, threadIDs(l.JSON200.Data), "the thread shows its reply's class")

		var ours uuid.UUID
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT id FROM inbox_messages WHERE inbox_thread_id = $1 AND direction = 'outbound' LIMIT 1`, tAna.thread).Scan(&ours))
		out, err := b.client.ReclassifyInboxMessageWithResponse(ctx, ours, api.InboxReclassify{Classification: api.InboxClassificationOther}, tok)
		require.NoError(t, err)
		p := problem(t, out.HTTPResponse, out.Body, http.StatusConflict)
		require.Equal(t, "not_inbound", p.Code)
		missing, err := b.client.ReclassifyInboxMessageWithResponse(ctx, uuid.Must(uuid.NewV7()), api.InboxReclassify{Classification: api.InboxClassificationOther}, tok)
		require.NoError(t, err)
		problem(t, missing.HTTPResponse, missing.Body, http.StatusNotFound)
	})

	t.Run("EmailAccountsShowTheirSyncState", func(t *testing.T) {
		a, err := b.client.GetEmailAccountWithResponse(ctx, o.account, tok)
		require.NoError(t, err)
		require.Nil(t, a.JSON200.Sync.LastSuccessAt)
		require.Nil(t, a.JSON200.Sync.LagSeconds, "no lag before the first success")
		require.Zero(t, a.JSON200.Sync.Failures)
		_, err = b.owner.Pool.Exec(ctx, `UPDATE email_accounts SET imap_last_success_at = now() - interval '90 seconds', imap_last_attempt_at = now(),
			imap_last_error = 'LOGIN failed', imap_failures = 2, imap_failing_since = now() - interval '1 minute', imap_uidvalidity = 7,
			imap_last_uid = 42, imap_messages_synced = 40, sending_paused_reason = 'reply_sync_broken' WHERE id = $1`, o.account)
		require.NoError(t, err)
		a, err = b.client.GetEmailAccountWithResponse(ctx, o.account, tok)
		require.NoError(t, err)
		s := a.JSON200.Sync
		require.GreaterOrEqual(t, *s.LagSeconds, int64(89))
		require.Less(t, *s.LagSeconds, int64(600))
		require.Equal(t, "LOGIN failed", *s.LastError)
		require.Equal(t, 2, s.Failures)
		require.EqualValues(t, 7, *s.Uidvalidity)
		require.EqualValues(t, 42, *s.LastUID)
		require.EqualValues(t, 40, s.MessagesSynced)
		require.Equal(t, api.EmailAccountSyncSendingPausedReasonReplySyncBroken, *s.SendingPausedReason)
		require.NotNil(t, s.FailingSince)
	})
}

// refusingTransports send every mailbox's mail to the test server, which
// refuses the recipients.
type refusingTransports struct{ srv *smtptest.Server }

func (tr refusingTransports) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (sending.EmailTransport, error) {
	return sending.EmailTransport{SMTP: emailsend.Account{Host: tr.srv.Host, Port: tr.srv.Port, TLS: emailsend.TLSNone}}, nil
}

func (refusingTransports) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return errors.New("not a sandbox")
}

func TestInboxReplyRefusedByTheServerAnswers502(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := smtptest.Start(t, smtptest.Options{Rcpt: func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}})
	withRefusingInbox := func(d *httpapi.Deps) {
		signer, err := unsubscribe.NewSigner([]byte(testUnsubscribeSecret))
		require.NoError(t, err)
		pool := emailsend.NewPool(emailsend.PoolOptions{})
		t.Cleanup(func() { _ = pool.Close() })
		db := testkit.DB(t)
		eng := sending.New(db, map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool, Transports: refusingTransports{srv}}}, nil, signer, sending.Options{})
		d.Inbox = inbox.NewService(db, eng, nil, nil, inbox.Options{})
	}
	b := setup(t, withRefusingInbox)
	o := b.inboxOrg(t, "Refused")
	lead := b.inboxLead(t, o, "gone@lead.test", "Gone")
	th := b.seedThread(t, o.owner.Organization.ID, o.campaign, lead, o.account, "gone@lead.test", "Hi", "question", "Who are you?", time.Now())

	key := "refused-" + uuid.NewString()
	r, err := b.client.ReplyToInboxThreadWithResponse(ctx, th.thread, &api.ReplyToInboxThreadParams{IdempotencyKey: &key},
		api.InboxReplyCreate{BodyText: "We met at the fair."}, bearer(o.owner.AccessToken))
	require.NoError(t, err)
	p := problem(t, r.HTTPResponse, r.Body, http.StatusBadGateway)
	require.Equal(t, "reply_failed", p.Code)
	require.Contains(t, p.Detail, "550")

	// The failed reply is on record, in the thread, with its error.
	d, err := b.client.GetInboxThreadWithResponse(ctx, th.thread, bearer(o.owner.AccessToken))
	require.NoError(t, err)
	last, err := d.JSON200.Items[len(d.JSON200.Items)-1].AsInboxThreadMessageItem()
	require.NoError(t, err)
	require.Equal(t, api.InboxMessageDeliveryStatusFailed, *last.Message.DeliveryStatus)
	require.Contains(t, *last.Message.DeliveryError, "550")
	require.True(t, strings.Contains(p.Detail, last.Message.ID.String()), "the problem names the stored reply")
	require.Equal(t, 2, d.JSON200.Thread.MessageCount)
	require.Zero(t, srv.Count())
}
