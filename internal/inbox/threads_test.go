package inbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

func bptr(v bool) *bool { return &v }

// listAll pages through the threads matching f, limit at a time.
func listAll(t *testing.T, b *readSide, f inbox.ThreadFilter, limit int) []inbox.Thread {
	t.Helper()
	var out []inbox.Thread
	var cursor *string
	for range 100 {
		p, err := inbox.ParseThreadPage(&limit, cursor)
		require.NoError(t, err)
		page, next, err := b.svc.List(context.Background(), b.actor, f, p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), limit)
		out = append(out, page...)
		if next == nil {
			return out
		}
		cursor = next
	}
	t.Fatal("the list never ended")
	return nil
}

func TestThreadList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("NewestActivityFirstWithEveryFilter", func(t *testing.T) {
		t.Parallel()
		b := setupReadSide(t, nil, 0)
		other := b.mailbox("other@send.test", 0)
		camp2 := uuid.Must(uuid.NewV7())
		b.exec(`INSERT INTO campaigns (id, org_id, name, source) VALUES ($1, $2, 'Autumn', 'manual')`, camp2, b.org)
		ana, bo, cy, di, ed := b.lead("ana@lead.test", "Ana", "Lopez", "Globex"), b.lead("bo@lead.test", "Bo", "", ""),
			b.lead("cy@lead.test", "Cy", "", ""), b.lead("di@lead.test", "Di", "", ""), b.lead("ed@lead.test", "Ed", "", "")
		tAna := b.thread(threadSpec{lead: ana, subject: "Quick idea", classification: "interested", at: b.minute(5), unread: 1})
		tBo := b.thread(threadSpec{lead: bo, classification: "question", at: b.minute(4), starred: true})
		tCy := b.thread(threadSpec{lead: cy, account: &other, at: b.minute(3), unread: 2})
		tDi := b.thread(threadSpec{lead: di, campaign: &camp2, classification: "interested", at: b.minute(2)})
		tEd := b.thread(threadSpec{lead: ed, at: b.minute(6), archived: true})

		all, next, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Nil(t, next)
		require.Equal(t, []uuid.UUID{tAna, tBo, tCy, tDi}, ids(all), "newest activity first, archived hidden")
		got := all[0]
		require.Equal(t, ana, got.Lead.ID)
		require.Equal(t, "ana@lead.test", *got.Lead.Email)
		require.Equal(t, "Ana Lopez", *got.Lead.FullName)
		require.Equal(t, "Globex", *got.Lead.Company)
		require.Equal(t, "contacted", got.Lead.Status)
		require.Equal(t, "Quick idea", *got.Subject)
		require.Equal(t, "interested", *got.Classification)
		require.Equal(t, b.campaign, *got.CampaignID)
		require.Equal(t, b.account, *got.EmailAccountID)
		require.Equal(t, 1, got.UnreadCount)
		require.True(t, got.LastMessageAt.Equal(b.minute(5)))
		require.Nil(t, all[1].Lead.Company, "an empty company is null")

		for name, tc := range map[string]struct {
			f    inbox.ThreadFilter
			want []uuid.UUID
		}{
			"Classification": {inbox.ThreadFilter{Classification: "interested"}, []uuid.UUID{tAna, tDi}},
			"Unclassified":   {inbox.ThreadFilter{Classification: inbox.FilterUnclassified}, []uuid.UUID{tCy}},
			"Campaign":       {inbox.ThreadFilter{CampaignID: &camp2}, []uuid.UUID{tDi}},
			"Account":        {inbox.ThreadFilter{EmailAccountID: &other}, []uuid.UUID{tCy}},
			"Lead":           {inbox.ThreadFilter{LeadID: &bo}, []uuid.UUID{tBo}},
			"Unread":         {inbox.ThreadFilter{Unread: bptr(true)}, []uuid.UUID{tAna, tCy}},
			"Read":           {inbox.ThreadFilter{Unread: bptr(false)}, []uuid.UUID{tBo, tDi}},
			"Starred":        {inbox.ThreadFilter{Starred: bptr(true)}, []uuid.UUID{tBo}},
			"NotStarred":     {inbox.ThreadFilter{Starred: bptr(false)}, []uuid.UUID{tAna, tCy, tDi}},
			"ArchivedOnly":   {inbox.ThreadFilter{Archived: bptr(true)}, []uuid.UUID{tEd}},
			"NotArchived":    {inbox.ThreadFilter{Archived: bptr(false)}, []uuid.UUID{tAna, tBo, tCy, tDi}},
			"Combined":       {inbox.ThreadFilter{Classification: "interested", Unread: bptr(true)}, []uuid.UUID{tAna}},
		} {
			got, _, err := b.svc.List(ctx, b.actor, tc.f, inbox.ThreadPage{})
			require.NoError(t, err, name)
			require.Equal(t, tc.want, ids(got), name)
		}

		_, _, err = b.svc.List(ctx, b.actor, inbox.ThreadFilter{Classification: "spam"}, inbox.ThreadPage{})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "an unknown class is refused: %v", err)
	})

	t.Run("PagesAreStableAcrossTiesAndNewActivity", func(t *testing.T) {
		t.Parallel()
		b := setupReadSide(t, nil, 0)
		var want []uuid.UUID
		// Seven threads; three share one last_message_at, so the id
		// breaks the tie.
		for i, at := range []int{9, 8, 7, 7, 7, 3, 1} {
			l := b.lead("p"+string(rune('a'+i))+"@lead.test", "", "", "")
			want = append(want, b.thread(threadSpec{lead: l, at: b.minute(at)}))
		}
		// Within the tie, newest id first.
		slices.SortStableFunc(want[2:5], func(x, y uuid.UUID) int { return -compareUUID(x, y) })

		require.Equal(t, want, ids(listAll(t, b, inbox.ThreadFilter{}, 3)))
		require.Equal(t, want, ids(listAll(t, b, inbox.ThreadFilter{}, 1)))

		// A thread that becomes active between two pages does not shift
		// the rest: the next page goes on from where the first ended.
		limit := 3
		p, err := inbox.ParseThreadPage(&limit, nil)
		require.NoError(t, err)
		first, next, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{}, p)
		require.NoError(t, err)
		require.NotNil(t, next)
		b.exec(`UPDATE inbox_threads SET last_message_at = $2 WHERE id = $1`, want[6], b.minute(60))
		p, err = inbox.ParseThreadPage(&limit, next)
		require.NoError(t, err)
		second, _, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{}, p)
		require.NoError(t, err)
		require.Equal(t, want[:3], ids(first))
		require.Equal(t, want[3:6], ids(second))

		bad := "bm90LWEtY3Vyc29y"
		_, err = inbox.ParseThreadPage(nil, &bad)
		require.True(t, fault.IsKind(err, fault.KindBadRequest))
		tooMany := 101
		_, err = inbox.ParseThreadPage(&tooMany, nil)
		require.True(t, fault.IsKind(err, fault.KindInvalid))
	})

	t.Run("SearchesLeadsSubjectsAndInboundText", func(t *testing.T) {
		t.Parallel()
		b := setupReadSide(t, nil, 0)
		ana, bo, cy, di := b.lead("ana@globex.test", "Ana", "Lopez", ""), b.lead("bo@initech.test", "Bo", "Brown", ""),
			b.lead("cy@acme.test", "Cy", "", ""), b.lead("di@acme.test", "Di", "", "")
		tAna := b.thread(threadSpec{lead: ana, subject: "Invoices", at: b.minute(4)})
		tBo := b.thread(threadSpec{lead: bo, subject: "Pricing", at: b.minute(3)})
		tCy := b.thread(threadSpec{lead: cy, subject: "Hello", at: b.minute(2)})
		tDi := b.thread(threadSpec{lead: di, subject: "Hello", at: b.minute(1)})
		b.message(msgSpec{thread: &tCy, lead: &cy, from: "cy@acme.test", body: "We would save 100% of the time, send a calendar link", at: b.minute(2)})
		// Our own reply's text is not the lead's: it is not searched.
		b.message(msgSpec{thread: &tDi, lead: &di, direction: "outbound", kind: "outbound", from: "sam@send.test", body: "calendar link here", at: b.minute(1)})
		// Nor is unmatched mail.
		b.message(msgSpec{from: "stranger@x.test", body: "calendar", at: b.minute(1)})

		for q, want := range map[string][]uuid.UUID{
			"lopez":    {tAna},     // last name
			"ANA":      {tAna},     // first name, any case
			"initech":  {tBo},      // address
			"pricing":  {tBo},      // subject
			"CALENDAR": {tCy},      // inbound text
			"100%":     {tCy},      // a wildcard is literal
			"10_%":     nil,        // and so is _
			"hello":    {tCy, tDi}, // subject of both
			"acme":     {tCy, tDi}, // address of both
			"nothing":  nil,
		} {
			got, _, err := b.svc.List(context.Background(), b.actor, inbox.ThreadFilter{Q: q}, inbox.ThreadPage{})
			require.NoError(t, err, q)
			if want == nil {
				want = []uuid.UUID{}
			}
			require.Equal(t, want, ids(got), q)
		}
	})
}

func compareUUID(x, y uuid.UUID) int {
	for i := range x {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestThreadStateChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupReadSide(t, nil, 0)
	ana := b.lead("ana@lead.test", "Ana", "", "")
	th := b.thread(threadSpec{lead: ana, at: b.minute(1)})
	in1 := b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "one", at: b.minute(1)})
	in2 := b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "two", at: b.minute(2)})
	out := b.message(msgSpec{thread: &th, lead: &ana, direction: "outbound", kind: "outbound", from: "sam@send.test", body: "mine", at: b.minute(3), read: true})

	readOf := func(id uuid.UUID) bool {
		m, err := b.svc.GetMessage(ctx, b.actor, id)
		require.NoError(t, err)
		return m.IsRead
	}

	t.Run("ReadAndUnreadRoundTrip", func(t *testing.T) {
		got, err := b.svc.SetRead(ctx, b.actor, th, true)
		require.NoError(t, err)
		require.Equal(t, 0, got.UnreadCount)
		require.True(t, readOf(in1) && readOf(in2) && readOf(out))
		unread, _, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{Unread: bptr(true)}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Empty(t, unread)

		got, err = b.svc.SetRead(ctx, b.key, th, false)
		require.NoError(t, err, "an API key may change the organisation's inbox")
		require.Equal(t, 2, got.UnreadCount, "the lead's two messages are unread again")
		require.False(t, readOf(in1) || readOf(in2))
		require.True(t, readOf(out), "our own reply stays read")

		got, err = b.svc.SetRead(ctx, b.actor, th, true)
		require.NoError(t, err)
		require.Equal(t, 0, got.UnreadCount)
	})

	t.Run("StarAndArchiveRoundTrip", func(t *testing.T) {
		got, err := b.svc.SetStarred(ctx, b.actor, th, true)
		require.NoError(t, err)
		require.True(t, got.IsStarred)
		got, err = b.svc.SetStarred(ctx, b.actor, th, true)
		require.NoError(t, err)
		require.True(t, got.IsStarred, "starring twice changes nothing")
		starred, _, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{Starred: bptr(true)}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{th}, ids(starred))
		got, err = b.svc.SetStarred(ctx, b.actor, th, false)
		require.NoError(t, err)
		require.False(t, got.IsStarred)

		got, err = b.svc.SetArchived(ctx, b.actor, th, true)
		require.NoError(t, err)
		require.True(t, got.IsArchived)
		def, _, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Empty(t, def, "an archived thread leaves the default list")
		arch, _, err := b.svc.List(ctx, b.actor, inbox.ThreadFilter{Archived: bptr(true)}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{th}, ids(arch))
		got, err = b.svc.SetArchived(ctx, b.actor, th, false)
		require.NoError(t, err)
		require.False(t, got.IsArchived)
		def, _, err = b.svc.List(ctx, b.actor, inbox.ThreadFilter{}, inbox.ThreadPage{})
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{th}, ids(def))
	})

	t.Run("UnknownAndOtherOrganisationsThreadsAreNotFound", func(t *testing.T) {
		other := setupReadSide(t, nil, 0)
		theirs := other.thread(threadSpec{lead: other.lead("x@lead.test", "", "", ""), at: other.minute(1)})
		for _, id := range []uuid.UUID{uuid.Must(uuid.NewV7()), theirs} {
			_, err := b.svc.SetRead(ctx, b.actor, id, true)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
			_, err = b.svc.SetStarred(ctx, b.actor, id, true)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
			_, err = b.svc.SetArchived(ctx, b.actor, id, true)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
			_, err = b.svc.Get(ctx, b.actor, id)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		}
		require.Equal(t, 0, b.count(`SELECT count(*) FROM inbox_threads WHERE id = $1 AND (is_starred OR is_archived)`, theirs))
	})
}

func TestThreadDetail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupReadSide(t, nil, 0)
	ana := b.lead("ana@lead.test", "Ana", "", "")
	th := b.thread(threadSpec{lead: ana, subject: "Quick idea", at: b.minute(30)})
	s1 := b.step(ana, 1, "Quick idea", "sent", "s1@send.test", b.minute(1))
	r1 := b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "Tell me more", messageID: "r1@lead.test", at: b.minute(10)})
	s2 := b.step(ana, 2, "", "replied", "s2@send.test", b.minute(5))
	o1 := b.message(msgSpec{thread: &th, lead: &ana, direction: "outbound", kind: "outbound", from: "sam@send.test", body: "Sure", at: b.minute(20), read: true})
	b.step(ana, 3, "Last note", "scheduled", "s3@send.test", b.minute(40)) // not sent: not shown
	// Another lead's step and an unmatched message are not in the thread.
	bo := b.lead("bo@lead.test", "", "", "")
	b.step(bo, 1, "Hi Bo", "sent", "b1@send.test", b.minute(2))
	b.message(msgSpec{from: "stranger@x.test", body: "hello", at: b.minute(3)})

	d, err := b.svc.Get(ctx, b.key, th)
	require.NoError(t, err)
	require.Equal(t, th, d.Thread.ID)
	require.Equal(t, "Quick idea", *d.Thread.Subject)
	var order []uuid.UUID
	for _, it := range d.Items {
		switch it.Type {
		case inbox.ItemStep:
			require.Nil(t, it.Message)
			order = append(order, it.Step.ID)
			require.True(t, it.At.Equal(*it.Step.SentAt))
		case inbox.ItemMessage:
			require.Nil(t, it.Step)
			order = append(order, it.Message.ID)
		default:
			t.Fatalf("item type %q", it.Type)
		}
	}
	require.Equal(t, []uuid.UUID{s1, s2, r1, o1}, order, "steps and messages, oldest first")
	require.Equal(t, 1, d.Items[0].Step.Step)
	require.Equal(t, "s1@send.test", *d.Items[0].Step.MessageID)
	require.Equal(t, "sent", d.Items[0].Step.Status)
	require.Equal(t, "Step 1 body", d.Items[0].Step.BodyText)
	require.Equal(t, "replied", d.Items[1].Step.Status)
	require.Equal(t, "inbound", d.Items[2].Message.Direction)
	require.Equal(t, "Tell me more", *d.Items[2].Message.BodyText)
	require.Equal(t, "outbound", d.Items[3].Message.Kind)
}

func TestMessagesAndTheOtherView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupReadSide(t, nil, 0)
	other := b.mailbox("other@send.test", 0)
	ana := b.lead("ana@lead.test", "", "", "")
	th := b.thread(threadSpec{lead: ana, at: b.minute(1)})
	matched := b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: "mine", at: b.minute(1)})
	var unmatched []uuid.UUID
	for i := range 5 {
		unmatched = append(unmatched, b.message(msgSpec{from: "stranger@x.test", body: "hello", at: b.minute(i)}))
	}
	bounce := b.message(msgSpec{kind: "bounce", from: "mailer-daemon@x.test", body: "undeliverable", at: b.minute(6)})
	elsewhere := b.message(msgSpec{account: &other, from: "stranger@y.test", body: "hi", at: b.minute(7)})
	// An outbound message without a thread is not "other" mail.
	b.message(msgSpec{direction: "outbound", kind: "outbound", from: "sam@send.test", body: "x", at: b.minute(8), read: true})

	m, err := b.svc.GetMessage(ctx, b.actor, matched)
	require.NoError(t, err)
	require.Equal(t, th, *m.ThreadID)
	require.Equal(t, "mine", *m.BodyText)
	m, err = b.svc.GetMessage(ctx, b.key, unmatched[0])
	require.NoError(t, err, "an unmatched message is readable too")
	require.Nil(t, m.ThreadID)

	var seen []uuid.UUID
	var cursor *string
	for {
		limit := 2
		p, err := pagination.Parse(&limit, cursor)
		require.NoError(t, err)
		page, next, err := b.svc.Other(ctx, b.actor, inbox.OtherFilter{}, p)
		require.NoError(t, err)
		for _, m := range page {
			seen = append(seen, m.ID)
		}
		if cursor = next; cursor == nil {
			break
		}
	}
	want := append(append([]uuid.UUID{}, unmatched...), bounce, elsewhere)
	slices.Reverse(want)
	require.Equal(t, want, seen, "the unmatched inbound messages, newest first, each once")

	byAccount, _, err := b.svc.Other(ctx, b.actor, inbox.OtherFilter{EmailAccountID: &other}, pagination.Page{})
	require.NoError(t, err)
	require.Len(t, byAccount, 1)
	require.Equal(t, elsewhere, byAccount[0].ID)
	bounces, _, err := b.svc.Other(ctx, b.actor, inbox.OtherFilter{Kind: inbox.KindBounce}, pagination.Page{})
	require.NoError(t, err)
	require.Len(t, bounces, 1)
	require.Equal(t, bounce, bounces[0].ID)
	_, _, err = b.svc.Other(ctx, b.actor, inbox.OtherFilter{Kind: "outbound"}, pagination.Page{})
	require.True(t, fault.IsKind(err, fault.KindInvalid))

	stranger := setupReadSide(t, nil, 0)
	_, err = stranger.svc.GetMessage(ctx, stranger.actor, matched)
	require.True(t, fault.IsKind(err, fault.KindNotFound), "another organisation's message is not found: %v", err)
	theirs, _, err := stranger.svc.Other(ctx, stranger.actor, inbox.OtherFilter{}, pagination.Page{})
	require.NoError(t, err)
	require.Empty(t, theirs)
}

// TestMarkingReadWhileClassifyingNeverDeadlocks: a person marking a thread
// read or unread while its messages are (re)classified. Classification
// locks a message, then its lead, then its thread; marking read used to
// lock the thread, then its messages — two such transactions at once
// could each hold what the other waited for, and Postgres aborted one
// ("deadlock detected"). Both now take the messages first, in id order.
func TestMarkingReadWhileClassifyingNeverDeadlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupReadSide(t, nil, 0)
	ana := b.lead("ana@lead.test", "Ana", "", "")
	th := b.thread(threadSpec{lead: ana, at: b.minute(1)})
	var msgs []uuid.UUID
	for i := range 6 {
		msgs = append(msgs, b.message(msgSpec{thread: &th, lead: &ana, from: "ana@lead.test", body: fmt.Sprintf("reply %d", i), at: b.minute(i + 1)}))
	}
	const rounds = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds*len(msgs))
	for w := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if _, err := b.svc.SetRead(ctx, b.actor, th, (i+w)%2 == 0); err != nil {
					errs <- fmt.Errorf("mark read: %w", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range rounds {
				// Newest first from one, oldest first from the other.
				for j := range msgs {
					m := msgs[j]
					if w == 1 {
						m = msgs[len(msgs)-1-j]
					}
					class := inbox.ClassInterested
					if (i+j)%2 == 1 {
						class = inbox.ClassNotInterested
					}
					if _, err := b.svc.Reclassify(ctx, b.actor, m, class); err != nil {
						errs <- fmt.Errorf("reclassify: %w", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// The thread's count still agrees with its messages.
	got, err := b.svc.SetRead(ctx, b.actor, th, false)
	require.NoError(t, err)
	require.Equal(t, len(msgs), got.UnreadCount)
	require.Equal(t, len(msgs), b.count(`SELECT count(*) FROM inbox_messages WHERE inbox_thread_id = $1 AND NOT is_read`, th))

	// Read and unread at once, from a thread half read: one wins whole
	// (each locks every message of the thread), never a mix of both.
	for range 20 {
		b.exec(`UPDATE inbox_messages SET is_read = (id = ANY($2)) WHERE inbox_thread_id = $1`, th, msgs[:len(msgs)/2])
		var both sync.WaitGroup
		for _, read := range []bool{true, false} {
			both.Add(1)
			go func() {
				defer both.Done()
				_, err := b.svc.SetRead(ctx, b.actor, th, read)
				assert.NoError(t, err)
			}()
		}
		both.Wait()
		unread := b.count(`SELECT count(*) FROM inbox_messages WHERE inbox_thread_id = $1 AND NOT is_read`, th)
		require.Contains(t, []int{0, len(msgs)}, unread, "all read or all unread, not %d of %d unread", unread, len(msgs))
	}
}
