package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// smtpTransports point every mailbox at the test SMTP server, without TLS.
type smtpTransports struct{ srv *smtptest.Server }

func (tr smtpTransports) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (sending.EmailTransport, error) {
	return sending.EmailTransport{SMTP: emailsend.Account{Host: tr.srv.Host, Port: tr.srv.Port, TLS: emailsend.TLSNone}}, nil
}

func (smtpTransports) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return errors.New("no sandbox here")
}

// replySide is a readSide whose inbox replies through a real sending
// engine and its email channel to an in-process SMTP server.
type replySide struct {
	*readSide
	srv *smtptest.Server
}

func setupReplies(t *testing.T, opts smtptest.Options) *replySide {
	t.Helper()
	srv := smtptest.Start(t, opts)
	signer, err := unsubscribe.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	pool := emailsend.NewPool(emailsend.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	b := setupReadSide(t, nil, srv.Port)
	eng := sending.New(b.db, map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool, Transports: smtpTransports{srv}}},
		nil, signer, sending.Options{MinGap: -1})
	b.svc = inbox.NewService(b.db, eng, nil, nil, inbox.Options{})
	return &replySide{readSide: b, srv: srv}
}

// received parses the raw messages the server got for to.
func (b *replySide) received(to string) []*mail.Message {
	b.t.Helper()
	var out []*mail.Message
	for _, m := range b.srv.Messages() {
		if m.To != to {
			continue
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		require.NoError(b.t, err)
		out = append(out, msg)
	}
	return out
}

func (b *replySide) replies() int {
	return b.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND direction = 'outbound'`, b.org)
}

func TestReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AnswersInTheLeadsEmailThread", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{})
		ana := b.lead("ana@lead.test", "Ana", "Lopez", "Globex")
		th := b.thread(threadSpec{lead: ana, subject: "Quick idea for Globex", at: b.minute(10)})
		b.step(ana, 1, "Quick idea for Globex", "sent", "s1@send.test", b.minute(1))
		b.step(ana, 2, "", "replied", "s2@send.test", b.minute(3))
		b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "first", messageID: "<r1@lead.test>",
			references: []string{"s1@send.test"}, at: b.minute(5)})
		b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "Tell me more", messageID: "r2@lead.test",
			references: []string{"s1@send.test", "s2@send.test", "r1@lead.test", "s1@send.test"}, at: b.minute(10)})
		// A later message without a Message-ID cannot be answered by id.
		b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "no id", at: b.minute(11)})

		before := time.Now().Add(-time.Second)
		m, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Happy to.\n\nHow about Tuesday?"})
		require.NoError(t, err)
		require.Equal(t, "outbound", m.Direction)
		require.Equal(t, inbox.KindOutbound, m.Kind)
		require.Equal(t, inbox.DeliverySent, *m.DeliveryStatus)
		require.Nil(t, m.DeliveryError)
		require.Equal(t, th, *m.ThreadID)
		require.Equal(t, ana, *m.LeadID)
		require.Equal(t, b.account, *m.EmailAccountID)
		require.Equal(t, "sam@send.test", m.FromAddress)
		require.Equal(t, "ana@lead.test", m.ToAddress)
		require.Equal(t, "Re: Quick idea for Globex", *m.Subject)
		require.Equal(t, "r2@lead.test", *m.InReplyTo)
		require.Equal(t, []string{"s1@send.test", "s2@send.test", "r1@lead.test", "r2@lead.test"}, m.References)
		require.True(t, strings.HasSuffix(*m.MessageID, "@send.test"), *m.MessageID)
		require.True(t, m.IsRead)

		got := b.received("ana@lead.test")
		require.Len(t, got, 1)
		h := got[0].Header
		require.Equal(t, "<"+*m.MessageID+">", h.Get("Message-Id"))
		require.Equal(t, "<r2@lead.test>", h.Get("In-Reply-To"))
		require.Equal(t, []string{"<s1@send.test>", "<s2@send.test>", "<r1@lead.test>", "<r2@lead.test>"}, strings.Fields(h.Get("References")))
		require.Equal(t, "Re: Quick idea for Globex", h.Get("Subject"))
		from, err := h.AddressList("From")
		require.NoError(t, err)
		require.Equal(t, "sam@send.test", from[0].Address)
		require.Equal(t, "Sam Sender", from[0].Name)
		to, err := h.AddressList("To")
		require.NoError(t, err)
		require.Equal(t, "ana@lead.test", to[0].Address)
		require.Equal(t, "Ana Lopez", to[0].Name)
		require.Empty(t, h.Get("List-Unsubscribe"), "a person's reply is not a campaign email")

		// Stored once, as sent, with the provider's id; the thread counts it.
		require.Equal(t, 1, b.replies())
		require.Equal(t, 1, b.count(`SELECT count(*) FROM inbox_messages WHERE id = $1 AND delivery_status = 'sent' AND provider_message_id IS NOT NULL
			AND body_text = 'Happy to.

How about Tuesday?' AND sent_by = $2`, m.ID, b.actor.UserID))
		d, err := b.svc.Get(ctx, b.actor, th)
		require.NoError(t, err)
		require.Equal(t, 4, d.Thread.MessageCount)
		require.True(t, d.Thread.LastMessageAt.After(before), "last activity is the reply")
		last := d.Items[len(d.Items)-1]
		require.Equal(t, inbox.ItemMessage, last.Type)
		require.Equal(t, m.ID, last.Message.ID, "the reply is the thread's latest item")
	})

	t.Run("AnswersOurLatestStepWhenTheLeadSentNothingWithAnID", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{})
		ana := b.lead("ana@lead.test", "", "", "")
		th := b.thread(threadSpec{lead: ana, subject: "Re: RE: Hello", at: b.minute(10)})
		b.step(ana, 1, "Hello", "sent", "s1@send.test", b.minute(1))
		b.step(ana, 2, "", "sent", "s2@send.test", b.minute(3))
		b.step(ana, 3, "", "scheduled", "s3@send.test", b.minute(30))
		m, err := b.svc.Reply(ctx, b.key, th, inbox.NewReply{BodyText: "Following up by hand."})
		require.NoError(t, err)
		require.Equal(t, "s2@send.test", *m.InReplyTo, "the latest step that went out")
		require.Equal(t, []string{"s2@send.test"}, m.References)
		require.Equal(t, "Re: Hello", *m.Subject, "one Re:, however many the subject had")
		h := b.received("ana@lead.test")[0].Header
		require.Equal(t, "<s2@send.test>", h.Get("In-Reply-To"))
		require.Equal(t, 0, b.count(`SELECT count(*) FROM inbox_messages WHERE id = $1 AND sent_by IS NOT NULL`, m.ID), "an API key is no user")

		custom := "A new subject"
		m, err = b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Again.", Subject: &custom})
		require.NoError(t, err)
		require.Equal(t, custom, *m.Subject)
	})

	t.Run("KeepsReferencesBounded", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{})
		ana := b.lead("ana@lead.test", "", "", "")
		th := b.thread(threadSpec{lead: ana, subject: "Long", at: b.minute(10)})
		var refs []string
		for i := range 30 {
			refs = append(refs, fmt.Sprintf("m%d@x.test", i))
		}
		b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "x", messageID: "last@lead.test", references: refs, at: b.minute(5)})
		m, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "ok"})
		require.NoError(t, err)
		require.Len(t, m.References, 20)
		require.Equal(t, "m0@x.test", m.References[0], "the thread's first message is kept")
		require.Equal(t, "last@lead.test", m.References[19], "and the one answered is last")
		require.Equal(t, "m29@x.test", m.References[18])
	})

	t.Run("RefusesASuppressedOrUnsubscribedLeadAndStoresNothing", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{})
		listed := b.lead("listed@lead.test", "", "", "")
		byDomain := b.lead("someone@blocked.test", "", "", "")
		gone := b.lead("gone@lead.test", "", "", "")
		b.exec(`INSERT INTO suppressions (id, org_id, kind, value, reason, source) VALUES ($1, $2, 'email', 'listed@lead.test', 'manual', 'api'),
			($3, $2, 'domain', 'blocked.test', 'manual', 'api')`, uuid.Must(uuid.NewV7()), b.org, uuid.Must(uuid.NewV7()))
		b.exec(`UPDATE leads SET status = 'unsubscribed', unsubscribed_at = now() WHERE id = $1`, gone)
		for _, lead := range []uuid.UUID{listed, byDomain, gone} {
			th := b.thread(threadSpec{lead: lead, at: b.minute(1)})
			_, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Hello?"})
			fe, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.KindConflict, fe.Kind)
			require.Equal(t, "lead_suppressed", fe.Code)
			require.Equal(t, 0, b.count(`SELECT message_count FROM inbox_threads WHERE id = $1`, th))
		}
		require.Equal(t, 0, b.replies(), "nothing stored")
		require.Zero(t, b.srv.Count(), "nothing sent")
	})

	t.Run("RefusesAThreadWithoutAnActiveMailbox", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{})
		none := b.thread(threadSpec{lead: b.lead("a@lead.test", "", "", ""), noAccount: true, at: b.minute(1)})
		idle := b.mailbox("idle@send.test", b.srv.Port)
		b.exec(`UPDATE email_accounts SET is_active = false WHERE id = $1`, idle)
		inactive := b.thread(threadSpec{lead: b.lead("b@lead.test", "", "", ""), account: &idle, at: b.minute(1)})
		for th, code := range map[uuid.UUID]string{none: "no_mailbox", inactive: "mailbox_inactive"} {
			_, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Hello?"})
			fe, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.KindInvalid, fe.Kind)
			require.Equal(t, code, fe.Code)
		}
		_, err := b.svc.Reply(ctx, b.actor, uuid.Must(uuid.NewV7()), inbox.NewReply{BodyText: "Hello?"})
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		for _, in := range []inbox.NewReply{{BodyText: "  \n"}, {BodyText: strings.Repeat("x", inbox.MaxReplyBody+1)},
			{BodyText: "ok", Subject: new(string)}, {BodyText: "ok", Subject: func() *string { s := "a\r\nBcc: x@y.test"; return &s }()}} {
			_, err := b.svc.Reply(ctx, b.actor, none, in)
			require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
		}
		require.Equal(t, 0, b.replies())
		require.Zero(t, b.srv.Count())
	})

	t.Run("RecordsAFailedSend", func(t *testing.T) {
		t.Parallel()
		b := setupReplies(t, smtptest.Options{Rcpt: func(to string) error {
			switch {
			case strings.HasPrefix(to, "gone@"):
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			case strings.HasPrefix(to, "busy@"):
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
			}
			return nil
		}})
		for to, want := range map[string]string{"gone@lead.test": "550", "busy@lead.test": "451"} {
			lead := b.lead(to, "", "", "")
			th := b.thread(threadSpec{lead: lead, subject: "Hi", at: b.minute(1)})
			_, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Hello?"})
			fe, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.KindBadGateway, fe.Kind)
			require.Equal(t, "reply_failed", fe.Code)
			require.Contains(t, fe.Detail, want)

			var id uuid.UUID
			var status, reason string
			require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT id, delivery_status, delivery_error FROM inbox_messages
				WHERE inbox_thread_id = $1 AND direction = 'outbound'`, th).Scan(&id, &status, &reason))
			require.Equal(t, inbox.DeliveryFailed, status)
			require.Contains(t, reason, want)
			require.Contains(t, fe.Detail, id.String(), "the problem names the stored reply")
			m, err := b.svc.GetMessage(ctx, b.actor, id)
			require.NoError(t, err)
			require.Equal(t, inbox.DeliveryFailed, *m.DeliveryStatus)
			require.Equal(t, 1, b.count(`SELECT message_count FROM inbox_threads WHERE id = $1`, th))
		}
		require.Zero(t, b.srv.Count(), "the server accepted nothing")
	})

	t.Run("AProcessWithoutASenderRefusesBeforeStoring", func(t *testing.T) {
		t.Parallel()
		b := setupReadSide(t, nil, 0)
		th := b.thread(threadSpec{lead: b.lead("a@lead.test", "", "", ""), at: b.minute(1)})
		_, err := b.svc.Reply(ctx, b.actor, th, inbox.NewReply{BodyText: "Hello?"})
		require.True(t, fault.IsKind(err, fault.KindUnavailable), "%v", err)
		require.Equal(t, 0, b.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1`, b.org))
	})
}
