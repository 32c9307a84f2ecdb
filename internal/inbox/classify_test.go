package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

// scripted is the built-in provider, except that a reply whose body
// starts with "away:" is an out-of-office and one that starts with
// "fail:" is a provider error: what the rules of a person's reply cannot
// produce in a test (ingest's own rules take real out-of-office mail).
type scripted struct{ *builtin.Provider }

var errScripted = errors.New("provider down")

func (p scripted) ClassifyReply(ctx context.Context, r llm.Reply, o *llm.Original) (llm.ClassifyResult, error) {
	switch {
	case strings.HasPrefix(r.Body, "away:"):
		return llm.ClassifyResult{Classification: llm.OutOfOffice, Confidence: 0.9, Reason: "out_of_office: scripted"}, nil
	case strings.HasPrefix(r.Body, "fail:"):
		return llm.ClassifyResult{}, errScripted
	}
	return p.Provider.ClassifyReply(ctx, r, o)
}

// Classify applies a batch's unsubscribes and out-of-office return dates
// together (set-based), with the events and statuses one at a time gave.
func TestClassifyAppliesABatchAtOnce(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	// Replies do not stop this campaign: what follows from each class shows.
	w.exec(`UPDATE campaigns SET settings = settings || '{"stop_on_reply": false}' WHERE id = $1`, w.campaign)
	ana, ben, cy, dan := w.lead("ana@globex.test"), w.lead("ben@globex.test"), w.lead("cy@globex.test"), w.lead("dan@globex.test")
	sent := w.sendFirstSteps()
	svc := inbox.NewService(w.db, w.eng, func(context.Context, uuid.UUID) (llm.Provider, error) { return scripted{builtin.New()}, nil },
		w.classify, inbox.Options{Now: w.clock.Now, ClassifyWorkers: 3})
	in := func(from, body string) inbox.Incoming {
		return inbox.Incoming{Raw: reply(from, "sam@send.test", sent[from], "Re: Quick idea for Globex", body)}
	}
	res, err := svc.Ingest(ctx, w.actor.OrgID, w.account, []inbox.Incoming{
		in("ana@globex.test", "Please remove me from your list."),
		in("ben@globex.test", "Stop emailing me."),
		in("ben@globex.test", "Unsubscribe"),
		in("cy@globex.test", "away: back soon"),
		in("dan@globex.test", "Sounds good, let's talk."),
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 5, res.Stored)
	ids := w.classify.take()
	require.Len(t, ids, 5)
	w.exec(`UPDATE inbox_messages SET return_date = '2026-12-20' WHERE lead_id = $1`, cy)
	step2 := func(lead uuid.UUID) (string, string) {
		return w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 2`, lead), w.str(`SELECT blocked_reason FROM messages WHERE lead_id = $1 AND step = 2`, lead)
	}
	for _, l := range []uuid.UUID{ana, ben, cy, dan} {
		st, _ := step2(l)
		require.Equal(t, "scheduled", st)
	}

	cres, err := svc.Classify(ctx, w.actor.OrgID, ids)
	require.NoError(t, err)
	require.Equal(t, 5, cres.Classified)
	require.Equal(t, 2, w.count(`SELECT count(*) FROM inbox_messages WHERE lead_id = $1 AND classification = 'unsubscribe'`, ben))

	// Unsubscribes: each address suppressed once, each lead unsubscribed
	// once, their pending steps cancelled.
	for _, l := range []uuid.UUID{ana, ben} {
		require.Equal(t, "unsubscribed", w.str(`SELECT status FROM leads WHERE id = $1`, l))
		st, why := step2(l)
		require.Equal(t, "cancelled", st)
		require.Equal(t, "lead_unsubscribed", why)
		require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.status_changed' AND object_id = $2 AND data->>'to' = 'unsubscribed'`, w.actor.OrgID, l))
	}
	require.Equal(t, 2, w.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND reason = 'classification' AND source = 'inbox' AND value IN ('ana@globex.test', 'ben@globex.test')`, w.actor.OrgID))
	require.Equal(t, 2, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'suppression.created'`, w.actor.OrgID))

	// The out-of-office: its next step waits for the return date.
	st, why := step2(cy)
	require.Equal(t, "scheduled", st)
	require.Equal(t, "lead_out_of_office", why)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 2 AND scheduled_for = '2026-12-20'`, cy))

	// The others as before: interest moves the lead and notifies.
	require.Equal(t, "interested", w.str(`SELECT status FROM leads WHERE id = $1`, dan))
	st, _ = step2(dan)
	require.Equal(t, "scheduled", st)
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'positive_reply' AND lead_id = $2`, w.actor.OrgID, dan))
	require.Equal(t, 5, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.classified' AND data->>'classification' IS NOT NULL
		AND data->>'body_text' IS NOT NULL AND data->>'thread_id' IS NOT NULL`, w.actor.OrgID))

	// A second delivery of the task changes nothing.
	cres, err = svc.Classify(ctx, w.actor.OrgID, ids)
	require.NoError(t, err)
	require.Zero(t, cres.Classified)
	require.Equal(t, 2, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'suppression.created'`, w.actor.OrgID))
}

// A provider error keeps what was decided and fails the call, so the
// task is retried for the rest.
func TestClassifyKeepsWhatWasDecidedBeforeAProviderError(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	w.lead("ana@globex.test")
	sent := w.sendFirstSteps()
	svc := inbox.NewService(w.db, w.eng, func(context.Context, uuid.UUID) (llm.Provider, error) { return scripted{builtin.New()}, nil },
		w.classify, inbox.Options{Now: w.clock.Now, ClassifyWorkers: 1})
	var in []inbox.Incoming
	for _, body := range []string{"Sounds good, let's talk.", "How much does it cost?", "fail: this one", "Not interested, thanks."} {
		in = append(in, inbox.Incoming{Raw: reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi", body), ReceivedAt: w.clock.Now()})
		w.clock.Add(time.Minute)
	}
	res, err := svc.Ingest(ctx, w.actor.OrgID, w.account, in, nil)
	require.NoError(t, err)
	ids := w.classify.take()
	require.Len(t, ids, 4)
	failing := w.str(`SELECT id::text FROM inbox_messages WHERE org_id = $1 AND body_text LIKE 'fail:%'`, w.actor.OrgID)

	// One worker: the calls go in id order and stop at the failure.
	cres, err := svc.Classify(ctx, w.actor.OrgID, ids)
	require.ErrorIs(t, err, errScripted)
	require.ErrorContains(t, err, failing)
	before := w.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND id::text < $2`, w.actor.OrgID, failing)
	require.Equal(t, before, cres.Classified)
	require.Equal(t, before, w.count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND classification IS NOT NULL`, w.actor.OrgID))
	require.Equal(t, "<nil>", w.str(`SELECT classification FROM inbox_messages WHERE id = $1`, failing))
	require.Equal(t, before, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.classified'`, w.actor.OrgID))
	require.Equal(t, 4, res.Stored)
}

// A reply that ingest took for a person's (its rules saw no auto-reply)
// but the classifier calls an out-of-office notice stops nothing after
// all: the lead is contacted again (replied_at cleared), the message it
// answered is no longer replied, the step its "reply" cancelled is
// scheduled again and waits for the return date. Two notices end the same
// whatever order they are classified in. A lead that also wrote a real
// reply, or that a person set to replied, stays stopped; and a person
// correcting the class back to a reply stops the lead again.
func TestAnOutOfOfficeTakenForAReplyResumesTheSequence(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	away, both, twice, patched := w.lead("away@globex.test"), w.lead("both@globex.test"), w.lead("twice@globex.test"), w.lead("patched@globex.test")
	again, flip := w.lead("again@globex.test"), w.lead("flip@globex.test")
	sent := w.sendFirstSteps()
	svc := inbox.NewService(w.db, w.eng, func(context.Context, uuid.UUID) (llm.Provider, error) { return scripted{builtin.New()}, nil },
		w.classify, inbox.Options{Now: w.clock.Now})
	in := func(from, body string) inbox.Incoming {
		return inbox.Incoming{Raw: reply(from, "sam@send.test", sent[from], "Re: Quick idea for Globex", body)}
	}
	step2 := func(lead uuid.UUID) string {
		return w.str(`SELECT status || ' ' || coalesce(blocked_reason, '-') FROM messages WHERE lead_id = $1 AND step = 2`, lead)
	}
	// A person set this lead to replied (it answered by phone); the claim
	// of its next step cancelled it.
	w.exec(`UPDATE leads SET status = 'replied' WHERE id = $1`, patched)
	w.exec(`UPDATE messages SET status = 'cancelled', blocked_reason = 'lead_replied' WHERE lead_id = $1 AND step = 2`, patched)
	ingest := func(ins ...inbox.Incoming) []uuid.UUID {
		t.Helper()
		_, err := svc.Ingest(ctx, w.actor.OrgID, w.account, ins, nil)
		require.NoError(t, err)
		return w.classify.take()
	}
	first := ingest(
		in("away@globex.test", "away: on leave, back on the 20th"),
		in("both@globex.test", "Thanks, what does it cost?"),
		in("both@globex.test", "away: travelling this week"),
		in("twice@globex.test", "away: out until Monday"),
		in("patched@globex.test", "away: at a conference"),
		in("again@globex.test", "away: on holiday"),
	)
	require.Len(t, first, 6)
	second := ingest(in("twice@globex.test", "away: still out, sorry"))
	require.Len(t, second, 1)
	for _, l := range []uuid.UUID{away, both, twice, patched} {
		require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, l), "ingest took each for a reply")
		require.Equal(t, "cancelled lead_replied", step2(l))
	}
	w.exec(`UPDATE inbox_messages SET return_date = '2026-12-20' WHERE lead_id = $1`, away)

	// twice's later notice is classified first: its earlier one is not
	// classified yet (it might be a person's), so nothing is undone yet.
	_, err := svc.Classify(ctx, w.actor.OrgID, second)
	require.NoError(t, err)
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, twice))
	_, err = svc.Classify(ctx, w.actor.OrgID, first)
	require.NoError(t, err)

	for _, l := range []uuid.UUID{away, twice, again} {
		require.Equal(t, "contacted", w.str(`SELECT status FROM leads WHERE id = $1`, l))
		require.Equal(t, "<nil>", w.str(`SELECT replied_at::text FROM leads WHERE id = $1`, l))
		require.Equal(t, 1, w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.status_changed' AND object_id = $2
			AND data->>'from' = 'replied' AND data->>'to' = 'contacted' AND data->>'reason' = 'classification'`, w.actor.OrgID, l))
		require.Equal(t, "sent", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, l), "not replied after all")
	}
	require.Equal(t, "scheduled lead_out_of_office", step2(away), "the follow-up goes again, after the return date")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 2 AND scheduled_for = '2026-12-20'`, away))
	require.Equal(t, "scheduled -", step2(twice))

	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, both), "a real reply (a question) stands")
	require.Equal(t, "cancelled lead_replied", step2(both))
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, patched), "a person's replied stands")
	require.Equal(t, "cancelled lead_replied", step2(patched))

	// Resumed, then set to replied by a person (it called back), then
	// another notice: that "replied" is the person's, not the notices' to
	// undo.
	w.exec(`UPDATE leads SET status = 'replied' WHERE id = $1`, again)
	w.exec(`UPDATE messages SET status = 'cancelled', blocked_reason = 'lead_replied' WHERE lead_id = $1 AND step = 2`, again)
	_, err = svc.Classify(ctx, w.actor.OrgID, ingest(in("again@globex.test", "away: one more week")))
	require.NoError(t, err)
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, again), "a person's replied stands")
	require.Equal(t, "cancelled lead_replied", step2(again))

	// Relabelling a real reply by hand (it was never out_of_office) does
	// not move the lead: a person had set it back to contacted.
	w.exec(`UPDATE leads SET status = 'contacted' WHERE id = $1`, both)
	var real uuid.UUID
	require.NoError(t, w.owner.Pool.QueryRow(ctx, `SELECT id FROM inbox_messages WHERE lead_id = $1 AND classification <> 'out_of_office'`, both).Scan(&real))
	_, err = svc.Reclassify(ctx, w.actor, real, "other")
	require.NoError(t, err)
	require.Equal(t, "contacted", w.str(`SELECT status FROM leads WHERE id = $1`, both))

	// A notice still waiting for its class while a person moves the lead
	// (interested after a call, then replied): when it and a later notice
	// are classified, the "replied" is the person's, not theirs to undo.
	pending := ingest(in("flip@globex.test", "away: back next week"))
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, flip))
	require.Equal(t, "cancelled lead_replied", step2(flip))
	w.exec(`UPDATE leads SET status = 'interested' WHERE id = $1`, flip)
	_, err = svc.Classify(ctx, w.actor.OrgID, pending)
	require.NoError(t, err)
	require.Equal(t, "interested", w.str(`SELECT status FROM leads WHERE id = $1`, flip))
	w.exec(`UPDATE leads SET status = 'replied' WHERE id = $1`, flip)
	_, err = svc.Classify(ctx, w.actor.OrgID, ingest(in("flip@globex.test", "away: still away")))
	require.NoError(t, err)
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, flip), "a person's replied stands")
	require.Equal(t, "cancelled lead_replied", step2(flip))

	// A person corrects twice's notices: one was a real reply after all.
	var msg uuid.UUID
	require.NoError(t, w.owner.Pool.QueryRow(ctx, `SELECT id FROM inbox_messages WHERE lead_id = $1 ORDER BY received_at, id LIMIT 1`, twice).Scan(&msg))
	_, err = svc.Reclassify(ctx, w.actor, msg, "question")
	require.NoError(t, err)
	require.Equal(t, "replied", w.str(`SELECT status FROM leads WHERE id = $1`, twice), "stopped again")
	require.Equal(t, "cancelled lead_replied", step2(twice))
	require.Equal(t, "replied", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, twice))

	// away's follow-up really goes once it is due.
	w.clock.Set(time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC))
	for range 3 {
		_, err := w.eng.Dispatch(ctx)
		require.NoError(t, err)
		for _, tk := range w.sends.take() {
			require.NoError(t, w.eng.SendBatch(ctx, tk[0].(uuid.UUID), tk[1].(uuid.UUID), tk[2].([]uuid.UUID)))
		}
	}
	require.Equal(t, "sent -", step2(away))
	require.Equal(t, "cancelled lead_replied", step2(twice), "stopped for good")
}
