package inbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/inbox"
)

// The whole loop against real servers: steps go out over SMTP, replies
// of every kind arrive in the IMAP mailbox, one sync ingests them, and
// each is threaded, classified and acted on.
func TestRepliesSyncedThreadedClassifiedAndActedOn(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ana, ben, cy, dan := w.lead("ana@globex.test"), w.lead("ben@initech.test"), w.lead("cy@contoso.test"), w.lead("dan@acme.test")
	sent := w.sendFirstSteps()
	require.Len(t, sent, 4)
	to := "sam@send.test"
	at := w.clock.Now()

	// Ana answers in the thread; Ben writes anew (no threading headers);
	// Cy is away (a real Exchange auto-reply); Dan's address does not
	// exist (a real Postfix bounce); a stranger writes too.
	w.imap.Append(t, reply("ana@globex.test", to, sent["ana@globex.test"], "Re: Quick idea for Globex",
		"Yes, I'm interested! Let's set up a call next week.\n\nOn Tue, Sam wrote:\n> Hi Ana,\n> Invoices in a minute. Worth a call?"), at)
	w.imap.Append(t, reply("ben@initech.test", to, "", "About your email", "Not interested, thanks. We already have a solution."), at)
	w.imap.Append(t, fixture(t, "../mailparse/testdata/exchange_ooo.eml",
		"David.Miller@contoso-example.com", "cy@contoso.test", "lp.33333333-4444-4555-8666-777777777777@leadpilot-demo.io", sent["cy@contoso.test"]), at)
	w.imap.Append(t, fixture(t, "../bounce/testdata/postfix-userunknown.eml",
		"j.doe@acme-widgets.example", "dan@acme.test", "John.Doe@Acme-Widgets.example", "dan@acme.test",
		"lp-018fdcb1-7e2a-7c11-b3f4-0d9e8c7b6a51@leadpilot.example", sent["dan@acme.test"]), at)
	w.imap.Append(t, reply("someone@elsewhere.test", to, "", "Hello", "Do you sell printers?"), at)

	res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, 5, res.Fetched)
	require.Equal(t, 5, res.Stored)

	kind := func(lead uuid.UUID) string {
		return w.str(`SELECT kind FROM inbox_messages WHERE lead_id = $1`, lead)
	}
	require.Equal(t, inbox.KindReply, kind(ana))
	require.Equal(t, inbox.KindReply, kind(ben))
	require.Equal(t, inbox.KindAutoReply, kind(cy))
	require.Equal(t, inbox.KindBounce, kind(dan))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND lead_id IS NULL AND inbox_thread_id IS NULL AND from_address = 'someone@elsewhere.test'`, w.actor.OrgID),
		"a stranger's mail is kept apart, attached to no lead")
	require.Equal(t, sent["ana@globex.test"], w.str(`SELECT m.message_id FROM inbox_messages i JOIN messages m ON m.id = i.outbound_message_id WHERE i.lead_id = $1`, ana),
		"matched to our message by In-Reply-To")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM inbox_messages WHERE lead_id = $1 AND outbound_message_id IS NULL`, ben), "Ben matched by address only")

	// Sync never marks mail read.
	for uid, seen := range w.imap.Seen(t) {
		require.False(t, seen, "uid %d", uid)
	}

	// Threads: one per lead, with the reply's snippet, unread.
	require.Equal(t, 4, w.count(`SELECT count(*) FROM inbox_threads WHERE org_id = $1`, w.actor.OrgID))
	require.Equal(t, 1, w.count(`SELECT unread_count FROM inbox_threads WHERE lead_id = $1`, ana))
	require.Equal(t, "Quick idea for Globex", w.str(`SELECT subject FROM inbox_threads WHERE lead_id = $1`, ana))
	require.Contains(t, w.str(`SELECT clean_text FROM inbox_messages WHERE lead_id = $1`, ana), "interested")
	require.NotContains(t, w.str(`SELECT clean_text FROM inbox_messages WHERE lead_id = $1`, ana), "Invoices in a minute", "quoted history cut off")

	// A person's reply stops the sequence at once; the lead replied.
	step2 := func(lead uuid.UUID) (string, string) {
		return w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 2 ORDER BY created_at DESC LIMIT 1`, lead),
			w.str(`SELECT blocked_reason FROM messages WHERE lead_id = $1 AND step = 2 ORDER BY created_at DESC LIMIT 1`, lead)
	}
	st, why := step2(ana)
	require.Equal(t, "cancelled", st)
	require.Equal(t, "lead_replied", why)
	st, _ = step2(ben)
	require.Equal(t, "cancelled", st)
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, ana))
	require.Equal(t, "replied", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, ana))

	// The out-of-office does not stop it, but waits until the return date.
	require.Equal(t, "out_of_office", w.str(`SELECT classification FROM inbox_messages WHERE lead_id = $1`, cy))
	require.Equal(t, "rules", w.str(`SELECT classification_provider FROM inbox_messages WHERE lead_id = $1`, cy))
	require.Equal(t, "2026-12-05", w.str(`SELECT return_date::text FROM inbox_messages WHERE lead_id = $1`, cy))
	st, why = step2(cy)
	require.Equal(t, "scheduled", st)
	require.Equal(t, "lead_out_of_office", why)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 2 AND scheduled_for >= '2026-12-05'`, cy))
	require.Equal(t, "sequenced", w.str(`SELECT CASE WHEN status IN ('contacted', 'sequenced') THEN 'sequenced' ELSE status END FROM leads WHERE id = $1`, cy))

	// The hard bounce: message and lead bounced, address suppressed, the rest cancelled.
	require.Equal(t, "bounce", w.str(`SELECT classification FROM inbox_messages WHERE lead_id = $1`, dan))
	require.Equal(t, "bounced", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, dan))
	require.Equal(t, "bounced", w.str(`SELECT status FROM leads WHERE id = $1`, dan))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND value = 'dan@acme.test' AND reason = 'bounce'`, w.actor.OrgID))
	st, why = step2(dan)
	require.Equal(t, "cancelled", st)
	require.Equal(t, "lead_bounced", why)

	// The classifier (the built-in provider) reads what a person wrote.
	queued := w.classify.take()
	require.Len(t, queued, 3, "Ana's, Ben's and the stranger's")
	cres, err := w.inbox.Classify(ctx, w.actor.OrgID, queued)
	require.NoError(t, err)
	require.Equal(t, 3, cres.Classified)
	require.Equal(t, "interested", w.str(`SELECT classification FROM inbox_messages WHERE lead_id = $1`, ana))
	require.Equal(t, "builtin", w.str(`SELECT classification_provider FROM inbox_messages WHERE lead_id = $1`, ana))
	require.NotEqual(t, "<nil>", w.str(`SELECT classification_reason FROM inbox_messages WHERE lead_id = $1`, ana))
	require.Equal(t, "interested", w.str(`SELECT status FROM leads WHERE id = $1`, ana))
	require.Equal(t, "interested", w.str(`SELECT classification FROM inbox_threads WHERE lead_id = $1`, ana))
	require.Equal(t, "not_interested", w.str(`SELECT status FROM leads WHERE id = $1`, ben))
	// Classifying again changes nothing.
	cres, err = w.inbox.Classify(ctx, w.actor.OrgID, queued)
	require.NoError(t, err)
	require.Zero(t, cres.Classified)

	// Notifications and events.
	require.Equal(t, 2, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'reply_received'`, w.actor.OrgID))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'positive_reply' AND lead_id = $2`, w.actor.OrgID, ana))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'bounce'`, w.actor.OrgID))
	require.Equal(t, 5, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.received'`, w.actor.OrgID))
	require.Equal(t, 5, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.classified'`, w.actor.OrgID),
		"two by rules at ingest, three by the classifier")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'message.bounced'`, w.actor.OrgID))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.status_changed' AND object_id = $2 AND data->>'to' = 'interested'`, w.actor.OrgID, ana))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.status_changed' AND object_id = $2 AND data->>'to' = 'bounced' AND data->>'reason' = 'bounce'`, w.actor.OrgID, dan))

	// Sync state: last success recorded, nothing new the second time.
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_last_success_at IS NOT NULL AND imap_last_uid = 5 AND imap_failures = 0 AND imap_messages_synced = 5`, w.account))
	res, err = w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.Zero(t, res.Fetched)

	// A new UIDVALIDITY (the mailbox rebuilt): everything is read again,
	// nothing is stored twice, what is new is.
	w.imap.RecreateInbox(t)
	w.imap.Append(t, reply("ana@globex.test", to, sent["ana@globex.test"], "Re: Quick idea for Globex", "Tuesday 3pm works."), at)
	w.exec(`UPDATE email_accounts SET imap_next_sync_at = NULL WHERE id = $1`, w.account)
	res, err = w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.True(t, res.Reset)
	require.Equal(t, 1, res.Stored)
	require.Equal(t, 2, w.count(`SELECT count(*) FROM inbox_messages WHERE lead_id = $1`, ana))
	require.Equal(t, 2, w.count(`SELECT message_count FROM inbox_threads WHERE lead_id = $1`, ana))
}

// Ingest is idempotent by Message-ID per mailbox, whatever the route.
func TestIngestStoresEachMessageOnce(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	w.lead("ana@globex.test")
	sent := w.sendFirstSteps()
	raw := reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi", "Sounds good, tell me more.")
	in := []inbox.Incoming{{Raw: raw}, {Raw: raw}}
	res, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, in, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Stored)
	require.Equal(t, 1, res.Duplicates)
	res, err = w.inbox.Ingest(ctx, w.actor.OrgID, w.account, in[:1], nil)
	require.NoError(t, err)
	require.Zero(t, res.Stored)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1`, w.actor.OrgID))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.received'`, w.actor.OrgID))

	// A copy of our own email (a Bcc, a sent folder) is not a reply.
	own := w.smtp.Messages()[0].Data
	res, err = w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: own}}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Own)
	require.Zero(t, res.Stored)
}

// Soft bounces send the message again later; too many count as hard.
// An abuse complaint unsubscribes and suppresses.
func TestSoftBouncesRetryThenCountAsHardAndComplaintsSuppress(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	eve, fay := w.lead("eve@mailfull.test"), w.lead("fay@complains.test")
	sent := w.sendFirstSteps()
	soft := func(n int) []byte {
		return fixture(t, "../bounce/testdata/ses-mailboxfull.eml", "kijitora@example.jp", "eve@mailfull.test",
			"00000132d6ca0cd4-ff6d8ee5-29a0-4501-a68a-3ff8695254bb-000000@email.amazonses.com", sent["eve@mailfull.test"],
			"Message-Id: <00000132d6ca199d", "Message-Id: <"+string(rune('a'+n))+"0000132d6ca199d")
	}
	for i := range 2 {
		res, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: soft(i)}}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, res.Bounces)
		require.Equal(t, "scheduled", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, eve), "soft bounce %d: sent again later", i+1)
		require.Equal(t, "soft_bounce", w.str(`SELECT blocked_reason FROM messages WHERE lead_id = $1 AND step = 1`, eve))
		require.Equal(t, 1, w.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 1 AND scheduled_for > $2`, eve, w.clock.Now().Add(3*time.Hour)))
	}
	_, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: soft(2)}}, nil)
	require.NoError(t, err)
	require.Equal(t, "bounced", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, eve), "the third soft bounce counts as hard")
	require.Equal(t, "bounced", w.str(`SELECT status FROM leads WHERE id = $1`, eve))

	arf := fixture(t, "../bounce/testdata/arf-rfc5965.eml", "Complainer@Example.COM", "fay@complains.test",
		"8787KJKJ3K4J3K4J3K4J3.mail@example.net", "<"+sent["fay@complains.test"]+">")
	res, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: arf}}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Complaints)
	require.Equal(t, "unsubscribed", w.str(`SELECT status FROM leads WHERE id = $1`, fay))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND value = 'fay@complains.test' AND reason = 'complaint'`, w.actor.OrgID))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 1 AND complained_at IS NOT NULL`, fay))
	require.Equal(t, "unsubscribe", w.str(`SELECT classification FROM inbox_messages WHERE lead_id = $1`, fay))
}

// A person's class is theirs: the classifier never overwrites it, and
// the lead follows it.
func TestReclassifyByHandIsKept(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ana := w.lead("ana@globex.test")
	sent := w.sendFirstSteps()
	res, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi",
		"Not now, maybe next quarter.")}}, nil)
	require.NoError(t, err)
	m, err := w.inbox.Reclassify(ctx, w.actor, res.IDs[0], inbox.ClassInterested)
	require.NoError(t, err)
	require.Equal(t, "interested", *m.Classification)
	require.True(t, m.ClassificationManual)
	require.Equal(t, "user", *m.ClassificationProvider)
	require.Equal(t, "interested", w.str(`SELECT status FROM leads WHERE id = $1`, ana))
	cres, err := w.inbox.Classify(ctx, w.actor.OrgID, res.IDs)
	require.NoError(t, err)
	require.Zero(t, cres.Classified)
	require.Equal(t, "interested", w.str(`SELECT classification FROM inbox_messages WHERE id = $1`, res.IDs[0]))

	_, err = w.inbox.Reclassify(ctx, w.actor, res.IDs[0], "maybe")
	require.Error(t, err)
	_, err = w.inbox.Reclassify(ctx, w.actor, uuid.Must(uuid.NewV7()), inbox.ClassOther)
	require.Error(t, err)
}

// One email Postgres could not store as it came (a NUL byte from "=00",
// an endless Message-ID) is stored cleaned, and the mailbox's sync goes on.
func TestAnUnstorableEmailDoesNotStopTheMailbox(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	long := strings.Repeat("x", 3000) + "@mail.test"
	nul := []byte("From: Odd <odd@mail.test>\r\nTo: sam@send.test\r\nSubject: =?utf-8?q?a=00b?=\r\nMessage-ID: <" + long + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nzero=00byte \xff here\r\n")
	w.imap.Append(t, nul, w.clock.Now())
	w.imap.Append(t, reply("someone@else.test", "sam@send.test", "", "Hello", "Still here."), w.clock.Now())
	res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, 2, res.Stored)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND from_address = 'odd@mail.test'
		AND body_text LIKE 'zerobyte % here' AND subject = 'ab' AND length(message_id) < 100`, w.actor.OrgID), "stored without the NUL bytes, its id hashed")
}

// A lead's status follows its latest reply: classifying an older one
// late (its task retried) does not undo the newer one's verdict.
func TestALateClassificationOfAnOlderReplyDoesNotUndoTheNewer(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ana := w.lead("ana@globex.test")
	sent := w.sendFirstSteps()
	older := reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi", "Yes, I'm interested! Let's talk.")
	newer := []byte(strings.Replace(string(reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi",
		"Actually, not interested, thanks.")), "Date: Wed, 02 Dec 2026 09:00:00", "Date: Wed, 02 Dec 2026 11:00:00", 1))
	r1, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: older, ReceivedAt: w.clock.Now().Add(-2 * time.Hour)}}, nil)
	require.NoError(t, err)
	r2, err := w.inbox.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{{Raw: newer, ReceivedAt: w.clock.Now().Add(-time.Hour)}}, nil)
	require.NoError(t, err)
	_, err = w.inbox.Classify(ctx, w.actor.OrgID, r2.ToClassify)
	require.NoError(t, err)
	require.Equal(t, "not_interested", w.str(`SELECT status FROM leads WHERE id = $1`, ana))
	_, err = w.inbox.Classify(ctx, w.actor.OrgID, r1.ToClassify)
	require.NoError(t, err)
	require.Equal(t, "interested", w.str(`SELECT classification FROM inbox_messages WHERE id = $1`, r1.IDs[0]), "the older reply is classified")
	require.Equal(t, "not_interested", w.str(`SELECT status FROM leads WHERE id = $1`, ana), "the lead keeps its latest reply's verdict")
	require.Equal(t, "not_interested", w.str(`SELECT classification FROM inbox_threads WHERE lead_id = $1`, ana))
}
