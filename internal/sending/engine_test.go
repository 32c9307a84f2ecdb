package sending

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// The dispatcher is cross-tenant by design: these tests share one
// database, so they run one at a time (no t.Parallel), each with its own
// clock.
func TestMain(m *testing.M) { testkit.Main(m) }

// tasks is an Enqueuer that keeps the tasks for the test to run (the
// worker), or drops them (Redis lost them).
type tasks struct {
	mu   sync.Mutex
	list []task
	drop bool
}

type task struct {
	org, account uuid.UUID
	ids          []uuid.UUID
}

func (q *tasks) EnqueueSend(_ context.Context, org, account uuid.UUID, ids []uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.drop {
		q.list = append(q.list, task{org, account, append([]uuid.UUID(nil), ids...)})
	}
	return nil
}

func (q *tasks) take() []task {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.list
	q.list = nil
	return l
}

// transports point every account at the test server, without TLS; while
// refuse holds an error, the account cannot send (its credentials or
// token cannot be had, as the email accounts service fails).
type transports struct {
	srv    *smtptest.Server
	refuse *atomic.Pointer[error]
}

func (tr transports) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (EmailTransport, error) {
	if err := tr.refuse.Load(); err != nil {
		return EmailTransport{}, *err
	}
	return EmailTransport{SMTP: emailsend.Account{Host: tr.srv.Host, Port: tr.srv.Port, TLS: emailsend.TLSNone}}, nil
}

func (transports) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return fmt.Errorf("no sandbox here")
}

type bundle struct {
	t        *testing.T
	db       *database.DB
	owner    *database.DB
	srv      *smtptest.Server
	clock    *testkit.Clock
	q        *tasks
	eng      *Engine
	camps    *campaigns.Service
	actor    access.Actor
	campaign uuid.UUID
	account  uuid.UUID
	signer   *unsubscribe.Signer
	refuse   atomic.Pointer[error]
}

// setup is an organisation with a sender and a postal address, a mailbox
// on the test server, and a three-step campaign whose window is always
// open, at a fixed Tuesday 10:00 UTC.
func setup(t *testing.T, srvOpts smtptest.Options, limit int) *bundle {
	t.Helper()
	b := &bundle{t: t, db: testkit.DB(t), owner: testkit.OwnerDB(t), srv: smtptest.Start(t, srvOpts),
		clock: testkit.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)), q: &tasks{}}
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	b.exec(`WITH o AS (INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Send Co', $3,
			'{"sender_name": "Sam Sender", "postal_address": "1 Market St, Springfield", "company_name": "Send Co"}') RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "send-"+org.String(), "send-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	b.actor = access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}
	b.account = uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, daily_send_limit, warmup_enabled, connection_status)
		VALUES ($1, $2, $3, 'Sam Sender', 'custom', '127.0.0.1', $4, $5, false, 'connected')`, b.account, org, "sam@send.test", b.srv.Port, limit)
	var err error
	b.signer, err = unsubscribe.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(map[string][]byte{"k1": []byte(strings.Repeat("k", 32))}, "k1")
	require.NoError(t, err)
	b.eng = New(b.db, map[string]Channel{"email": EmailChannel{Pool: emailsend.NewPool(emailsend.PoolOptions{}), Transports: transports{srv: b.srv, refuse: &b.refuse}}},
		b.q, b.signer, Options{Now: b.clock.Now, UnsubscribeBase: "https://app.test/u", UnsubscribeMailbox: "unsubscribe@app.test",
			RequeueAfter: time.Millisecond, ReapAfter: 50 * time.Millisecond, Backoff: time.Hour, MinGap: -1, RecipientDomainDaily: -1,
			Accounts: emailaccounts.NewMailboxes(emailaccounts.NewService(b.db, kr, emailaccounts.Options{}))})
	b.camps = campaigns.NewService(b.db)
	b.camps.OnTransition(b.eng.OnTransition)
	all := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	c, err := b.camps.Create(context.Background(), b.actor, campaigns.Create{Name: "Spring", Source: "manual", Settings: campaigns.SettingsPatch{
		SequenceLength: ptr(3), DelayBetweenStepsDays: &[]int{0, 2, 3}, SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"),
		SendDays: &all, Timezone: ptr("UTC")}})
	require.NoError(t, err)
	b.campaign = c.ID
	b.exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($1, $2, $3)`, org, c.ID, b.account)
	return b
}

func (b *bundle) exec(sql string, args ...any) {
	b.t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(b.t, err)
}

func (b *bundle) count(sql string, args ...any) int {
	b.t.Helper()
	var n int
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// lead adds an approved lead with an approved three-step sequence: step 2
// has no subject of its own (it answers "Re:"), step 3 has one.
func (b *bundle) lead(email string) uuid.UUID {
	b.t.Helper()
	id := uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, company, is_approved) VALUES ($1, $2, $3, $4, 'Ana', 'Globex', true)`,
		id, b.actor.OrgID, b.campaign, email)
	b.exec(`INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved, approved_at) VALUES ($1, $2, $3, $4, $5, true, now())`,
		uuid.Must(uuid.NewV7()), b.actor.OrgID, b.campaign, id,
		`[{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"Hi {{first_name}},\n\nInvoices in a minute."},
		  {"step":2,"delay_days":2,"channel":"email","body":"Any thoughts, {{first_name}}?"},
		  {"step":3,"delay_days":3,"channel":"email","subject":"Last note","body":"I will leave it here."}]`)
	return id
}

// dispatched runs the dispatcher once and returns the ids of every task it
// enqueued, taking the tasks.
func (b *bundle) dispatched() []uuid.UUID {
	b.t.Helper()
	_, err := b.eng.Dispatch(context.Background())
	require.NoError(b.t, err)
	var ids []uuid.UUID
	for _, tk := range b.q.take() {
		ids = append(ids, tk.ids...)
	}
	return ids
}

func (b *bundle) activate() {
	b.t.Helper()
	_, err := b.camps.Transition(context.Background(), b.actor, b.campaign, campaigns.ActionActivate)
	require.NoError(b.t, err)
}

// work runs the dispatcher and every task it enqueued, as the worker
// does, until nothing is due.
func (b *bundle) work() {
	b.t.Helper()
	ctx := context.Background()
	for range 10 {
		n, err := b.eng.Dispatch(ctx)
		require.NoError(b.t, err)
		for _, tk := range b.q.take() {
			require.NoError(b.t, b.eng.SendBatch(ctx, tk.org, tk.account, tk.ids))
		}
		if n == 0 {
			return
		}
	}
}

func (b *bundle) status(lead uuid.UUID, step int) (status string, reason *string) {
	b.t.Helper()
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(),
		`SELECT status, blocked_reason FROM messages WHERE lead_id = $1 AND step = $2 AND status <> 'cancelled'
		 UNION ALL SELECT status, blocked_reason FROM messages WHERE lead_id = $1 AND step = $2 AND status = 'cancelled' LIMIT 1`,
		lead, step).Scan(&status, &reason))
	return status, reason
}

// refuseRcpt is a test server that answers RCPT TO of the recipients
// starting with prefix with err.
func refuseRcpt(prefix string, err *smtp.SMTPError) smtptest.Options {
	return smtptest.Options{Rcpt: func(to string) error {
		if strings.HasPrefix(to, prefix) {
			return err
		}
		return nil
	}}
}

func received(srv *smtptest.Server, to string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range srv.Messages() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

func TestThreeStepsGoOutInOneThreadUntilAReplyOrAnUnsubscribe(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	ana, ben, cy := b.lead("ana@globex.test"), b.lead("ben@globex.test"), b.lead("cy@globex.test")
	b.activate()
	require.Equal(t, 3, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 1 AND status = 'scheduled'`, b.campaign))
	var before time.Time
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT max(scheduled_for) FROM messages WHERE campaign_id = $1`, b.campaign).Scan(&before))
	require.False(t, before.Before(b.clock.Now()), "never due before the activation")

	b.clock.Add(24 * time.Hour)
	b.work()
	require.Len(t, b.srv.Messages(), 3)
	first := received(b.srv, "ana@globex.test")[0]
	h := first.Header()
	require.Equal(t, "Quick idea for Globex", h.Get("Subject"))
	from, err := mail.ParseAddress(h.Get("From"))
	require.NoError(t, err)
	require.Equal(t, "sam@send.test", from.Address)
	require.Equal(t, "Sam Sender", from.Name)
	require.Empty(t, h.Get("In-Reply-To"))
	token := b.signer.Token(b.actor.OrgID, ana)
	require.Equal(t, "<https://app.test/u/"+token+">, <"+unsubscribe.Mailto("unsubscribe@app.test", token)+">", h.Get("List-Unsubscribe"))
	require.Equal(t, "List-Unsubscribe=One-Click", h.Get("List-Unsubscribe-Post"))
	require.Contains(t, string(first.Data), "1 Market St, Springfield", "the postal address is in the footer")
	st, _ := b.status(ana, 1)
	require.Equal(t, StatusSent, st)
	require.Equal(t, "contacted", b.leadStatus(ana))
	st, _ = b.status(ana, 2)
	require.Equal(t, StatusScheduled, st, "the next step waits its delay")
	require.Equal(t, 1, b.currentStep(ana), "the sequence's progress is its steps that went out")

	// Two days on (and the day's spread): step 2, in the first email's thread.
	b.clock.Add(3 * 24 * time.Hour)
	b.work()
	second := received(b.srv, "ana@globex.test")
	require.Len(t, second, 2)
	h2 := second[1].Header()
	require.Equal(t, "Re: Quick idea for Globex", h2.Get("Subject"))
	require.Equal(t, h.Get("Message-Id"), h2.Get("In-Reply-To"))
	require.Equal(t, h.Get("Message-Id"), h2.Get("References"))

	require.Equal(t, 2, b.currentStep(ana))
	require.Equal(t, 2, b.currentStep(ben))

	// Ben replies; Cy unsubscribes.
	require.NoError(t, b.eng.LeadReplied(context.Background(), b.actor.OrgID, ben))
	// Ben's step 2 soft-bounces after he replied: back on the schedule, it
	// is cancelled at its claim (he replied), but it went out: his
	// sequence's progress stays at 2.
	var benSecond uuid.UUID
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT id FROM messages WHERE lead_id = $1 AND step = 2`, ben).Scan(&benSecond))
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.actor.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		res, err := b.eng.BouncesInTx(ctx, tx, b.actor.OrgID, []Bounce{{Message: benSecond, Diagnostic: "452 4.2.2 mailbox full"}}, 3, time.Hour)
		require.NoError(t, err)
		require.Len(t, res.Retried, 1)
		return nil
	}))
	found, err := b.eng.Unsubscribe(context.Background(), b.actor.OrgID, cy, "list_unsubscribe")
	require.NoError(t, err)
	require.True(t, found)
	st, reason := b.status(ben, 3)
	require.Equal(t, StatusCancelled, st)
	require.Equal(t, BlockedLeadReplied, *reason)
	st, reason = b.status(cy, 3)
	require.Equal(t, StatusCancelled, st)
	require.Equal(t, BlockedLeadUnsubscribed, *reason)
	require.Equal(t, 1, b.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND value = 'cy@globex.test'`, b.actor.OrgID))

	b.clock.Add(4 * 24 * time.Hour)
	b.work()
	third := received(b.srv, "ana@globex.test")
	require.Len(t, third, 3)
	h3 := third[2].Header()
	require.Equal(t, "Last note", h3.Get("Subject"), "a step with its own subject keeps it")
	require.Equal(t, h2.Get("Message-Id"), h3.Get("In-Reply-To"))
	require.Equal(t, h.Get("Message-Id")+" "+h2.Get("Message-Id"), h3.Get("References"))
	require.Len(t, received(b.srv, "ben@globex.test"), 2)
	require.Len(t, received(b.srv, "cy@globex.test"), 2)
	require.Equal(t, "completed", b.campaignStatus(), "nothing left to send")
	require.Equal(t, 1, b.count(`SELECT count(*) FROM messages WHERE id = $1 AND status = 'cancelled' AND sent_at IS NOT NULL`, benSecond))
	require.Equal(t, 2, b.currentStep(ben), "a step that went out counts, whatever became of its message")
	require.Equal(t, 3, b.currentStep(ana))
	detail, err := leads.NewService(b.db).Get(context.Background(), b.actor, ana)
	require.NoError(t, err)
	require.NotNil(t, detail.Sequence)
	require.Equal(t, 3, detail.Sequence.CurrentStep, "the lead's view shows its sequence's progress too")
	require.Equal(t, 2, b.currentStep(cy))
	require.Equal(t, 1, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'campaign.completed'`, b.actor.OrgID))
	require.Equal(t, 1, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.unsubscribed'`, b.actor.OrgID))
}

func (b *bundle) leadStatus(id uuid.UUID) string {
	var s string
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), `SELECT status FROM leads WHERE id = $1`, id).Scan(&s))
	return s
}

// currentStep is the progress of lead's sequence, as the API reads it.
func (b *bundle) currentStep(lead uuid.UUID) int {
	var n int
	require.NoError(b.t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.actor.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		return tx.NewRaw(`SELECT current_step FROM sequences_with_progress WHERE org_id = ? AND lead_id = ?`, b.actor.OrgID, lead).Scan(ctx, &n)
	}))
	return n
}

func (b *bundle) campaignStatus() string {
	var s string
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), `SELECT status FROM campaigns WHERE id = $1`, b.campaign).Scan(&s))
	return s
}

func TestAKilledWorkerNeverSendsAStepTwice(t *testing.T) {
	b := setup(t, smtptest.Options{}, 10000)
	ctx := context.Background()
	const rounds = 30
	leads := make([]uuid.UUID, rounds)
	for i := range leads {
		leads[i] = b.lead(fmt.Sprintf("k%02d@kill.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	ids := b.dispatched()
	require.Len(t, ids, rounds)
	// Each message's task dies at a different point: after the claim,
	// after the SMTP server accepted it (before the database update), or
	// not at all; then the task is delivered again, the reaper runs, and
	// the dispatcher runs again.
	for i, id := range ids {
		switch i % 3 {
		case 0: // killed after the claim
			got, _, err := b.eng.claim(ctx, b.actor.OrgID, b.account, []uuid.UUID{id})
			require.NoError(t, err)
			require.Len(t, got, 1)
		case 1: // killed after the server accepted, before recording
			got, _, err := b.eng.claim(ctx, b.actor.OrgID, b.account, []uuid.UUID{id})
			require.NoError(t, err)
			out := b.eng.deliver(ctx, b.actor.OrgID, b.account, got)
			require.Equal(t, Sent, out[0].Result)
		default:
			require.NoError(t, b.eng.SendBatch(ctx, b.actor.OrgID, b.account, []uuid.UUID{id}))
		}
		// The task comes back (its lease expired): nothing to claim.
		require.NoError(t, b.eng.SendBatch(ctx, b.actor.OrgID, b.account, []uuid.UUID{id}))
	}
	time.Sleep(100 * time.Millisecond)
	reaped, err := b.eng.Reap(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, reaped, 2*rounds/3, "the reaper is cross-tenant: it may find others' too")
	b.work()

	seen := map[string]int{}
	for _, m := range b.srv.Messages() {
		seen[m.Header().Get("X-Leadpilot-Message-Id")]++
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "message %s reached the server %d times", id, n)
	}
	require.Len(t, seen, rounds-rounds/3, "those killed before the server never reach it")
	require.Zero(t, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 1 AND status NOT IN ('sent', 'failed')`, b.campaign),
		"every first step ends sent or failed")
	require.Equal(t, 2*rounds/3, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND status = 'failed' AND delivery_uncertain`, b.campaign))
	require.Equal(t, 2*rounds/3, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'message.failed'`, b.actor.OrgID))
}

func TestTransientFailuresRetryAndPermanentOnesBounce(t *testing.T) {
	b := setup(t, smtptest.Options{Rcpt: func(to string) error {
		switch {
		case strings.HasPrefix(to, "busy@"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		case strings.HasPrefix(to, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}}, 100)
	busy, gone, ok := b.lead("busy@x.test"), b.lead("gone@x.test"), b.lead("ok@x.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	st, reason := b.status(busy, 1)
	require.Equal(t, StatusScheduled, st)
	require.Equal(t, BlockedSendFailed, *reason)
	st, _ = b.status(gone, 1)
	require.Equal(t, StatusBounced, st)
	require.Equal(t, "bounced", b.leadStatus(gone))
	require.Equal(t, 1, b.count(`SELECT count(*) FROM suppressions WHERE org_id = $1 AND value = 'gone@x.test' AND reason = 'bounce'`, b.actor.OrgID))
	st, _ = b.status(ok, 1)
	require.Equal(t, StatusSent, st)
	require.Equal(t, 1, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'message.bounced'`, b.actor.OrgID))
	require.Equal(t, 2, b.count(`SELECT emails_sent_today FROM email_accounts WHERE id = $1`, b.account),
		"the transient failure gave its budget back: one sent and one bounced count")
}

func TestTheDailyCapHoldsTheRestForTomorrowFollowUpsFirst(t *testing.T) {
	b := setup(t, smtptest.Options{}, 2)
	a1, a2 := b.lead("a1@cap.test"), b.lead("a2@cap.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Len(t, b.srv.Messages(), 2)
	// Two days on, both follow-ups are due with two new first steps: the
	// cap of two goes to the follow-ups.
	n1, n2 := b.lead("n1@cap.test"), b.lead("n2@cap.test")
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.actor.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		_, err := b.eng.Schedule(ctx, tx, b.actor.OrgID, b.campaign)
		return err
	}))
	b.clock.Add(3 * 24 * time.Hour)
	b.work()
	for _, l := range []uuid.UUID{a1, a2} {
		st, _ := b.status(l, 2)
		require.Equal(t, StatusSent, st)
	}
	for _, l := range []uuid.UUID{n1, n2} {
		st, reason := b.status(l, 1)
		require.Equal(t, StatusScheduled, st)
		require.Equal(t, BlockedAccountCap, *reason)
	}
	b.clock.Add(2 * 24 * time.Hour)
	b.work()
	for _, l := range []uuid.UUID{n1, n2} {
		st, _ := b.status(l, 1)
		require.Equal(t, StatusSent, st, "a new day, a new budget")
	}
}

func TestPausedCampaignsWaitAndResumeReschedules(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	l := b.lead("p@pause.test")
	b.activate()
	_, err := b.camps.Transition(context.Background(), b.actor, b.campaign, campaigns.ActionPause)
	require.NoError(t, err)
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Empty(t, b.srv.Messages(), "paused: nothing goes")
	_, err = b.camps.Transition(context.Background(), b.actor, b.campaign, campaigns.ActionResume)
	require.NoError(t, err)
	var at time.Time
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT scheduled_for FROM messages WHERE lead_id = $1`, l).Scan(&at))
	require.False(t, at.Before(b.clock.Now()), "what fell due while paused is rescheduled from now")
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Len(t, b.srv.Messages(), 1)
}

func TestTwoDispatchersNeverClaimTheSameMessageAndALostTaskIsRequeued(t *testing.T) {
	b := setup(t, smtptest.Options{}, 10000)
	for i := range 200 {
		b.lead(fmt.Sprintf("d%03d@two.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	other := New(b.db, b.eng.channels, b.q, b.signer, Options{Now: b.clock.Now, ClaimLimit: 150})
	b.eng.opts.ClaimLimit = 150
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, e := range []*Engine{b.eng, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.Dispatch(context.Background())
			require.NoError(t, err)
			counts[i] = n
		}()
	}
	wg.Wait()
	require.Equal(t, 200, counts[0]+counts[1])
	seen := map[uuid.UUID]bool{}
	for _, tk := range b.q.take() {
		for _, id := range tk.ids {
			require.False(t, seen[id], "claimed twice")
			seen[id] = true
		}
	}
	require.Len(t, seen, 200)
	// Redis loses every task: the messages stay queued until the requeue.
	time.Sleep(20 * time.Millisecond)
	b.eng.opts.ClaimLimit = 10000
	n, err := b.eng.Requeue(context.Background())
	require.NoError(t, err)
	require.Equal(t, 200, n)
	for _, tk := range b.q.take() {
		require.NoError(t, b.eng.SendBatch(context.Background(), tk.org, tk.account, tk.ids))
	}
	require.Equal(t, 200, b.srv.Count())
	require.Equal(t, 200, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 1 AND status = 'sent'`, b.campaign))
}

func TestARealMailboxSendsOneAtATimeAGapApart(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	b.eng.opts.MinGap, b.eng.opts.GapJitter = 20*time.Second, 40*time.Second
	for i := range 3 {
		b.lead(fmt.Sprintf("g%d@gap.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Len(t, b.srv.Messages(), 1, "one send, then the gap")
	require.Equal(t, 2, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND blocked_reason = 'account_gap' AND status = 'scheduled'`, b.campaign))
	var next time.Time
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT next_send_at FROM email_accounts WHERE id = $1`, b.account).Scan(&next))
	gap := next.Sub(b.clock.Now())
	require.True(t, gap >= 20*time.Second && gap <= 60*time.Second, "gap %s", gap)
	for range 2 {
		b.clock.Add(2 * time.Minute)
		b.work()
	}
	require.Len(t, b.srv.Messages(), 3, "each after its gap")
}

func TestTooManyBouncesPauseTheCampaignAndTheMailbox(t *testing.T) {
	b := setup(t, refuseRcpt("gone", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}), 1000)
	for i := range 18 {
		b.lead(fmt.Sprintf("ok%02d@guard.test", i))
	}
	for i := range 2 {
		b.lead(fmt.Sprintf("gone%02d@guard.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Equal(t, "paused", b.campaignStatus(), "2 of 20 bounced: 10%% > 5%%")
	c, err := b.camps.Get(context.Background(), b.actor, b.campaign)
	require.NoError(t, err)
	require.Contains(t, *c.Resource().Settings.PauseReason, "10% of the last 20 sends bounced", "the reason is in the API")
	var reason string
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT settings->>'pause_reason' FROM campaigns WHERE id = $1`, b.campaign).Scan(&reason))
	require.Contains(t, reason, "10% of the last 20 sends bounced")
	require.Equal(t, 1, b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'campaign.paused'`, b.actor.OrgID))
	require.Equal(t, 0, b.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND is_active`, b.account), "the mailbox too")
	require.Equal(t, "disabled", b.str(`SELECT connection_status FROM email_accounts WHERE id = $1`, b.account), "as a person deactivating it would")
	require.Equal(t, "disabled", b.str(`SELECT data->>'connection_status' FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2
		AND (data->>'is_active')::boolean = false`, b.actor.OrgID, b.account), "email_account.updated says so")
	require.Equal(t, 2, b.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'bounce'`, b.actor.OrgID))
}

func TestCapsBeyondTheMailbox(t *testing.T) {
	b := setup(t, smtptest.Options{}, 1000)
	b.eng.opts.RecipientDomainDaily = 2
	b.exec(`UPDATE campaigns SET settings = settings || '{"max_new_leads_per_day": 3}' WHERE id = $1`, b.campaign)
	for i := range 3 {
		b.lead(fmt.Sprintf("p%d@acme.test", i))
	}
	for i := range 2 {
		b.lead(fmt.Sprintf("p%d@other.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	require.Len(t, b.srv.Messages(), 3, "three new leads a day for the campaign")
	require.LessOrEqual(t, len(received(b.srv, "p2@acme.test"))+len(received(b.srv, "p1@acme.test"))+len(received(b.srv, "p0@acme.test")), 2,
		"two a day to one recipient domain")
	reasons := map[string]int{}
	rows, err := b.owner.Pool.Query(context.Background(), `SELECT blocked_reason FROM messages WHERE campaign_id = $1 AND status = 'scheduled' AND step = 1`, b.campaign)
	require.NoError(t, err)
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		reasons[r]++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 2, reasons[BlockedCampaignDailyCap]+reasons[BlockedRecipientDomainCap])
	require.Positive(t, reasons[BlockedCampaignDailyCap])
	// Follow-ups go first within the domain's budget too, so the third
	// lead at acme waits until its colleagues' sequences are done.
	for range 10 {
		b.clock.Add(24 * time.Hour)
		b.work()
	}
	require.Equal(t, 5, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 1 AND status = 'sent'`, b.campaign), "later days take the rest")
}

func TestLeadsAreSpreadAcrossTheCampaignsMailboxesAndFollowUpsKeepTheirs(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	second := uuid.Must(uuid.NewV7())
	b.exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, daily_send_limit, warmup_enabled)
		VALUES ($1, $2, 'kim@send.test', 'Kim Sender', 'custom', '127.0.0.1', $3, 100, false)`, second, b.actor.OrgID, b.srv.Port)
	b.exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($1, $2, $3)`, b.actor.OrgID, b.campaign, second)
	for i := range 6 {
		b.lead(fmt.Sprintf("r%d@rotate.test", i))
	}
	b.activate()
	require.Equal(t, 3, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND email_account_id = $2`, b.campaign, b.account))
	require.Equal(t, 3, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND email_account_id = $2`, b.campaign, second))
	for range 4 {
		b.clock.Add(24 * time.Hour)
		b.work()
	}
	require.Zero(t, b.count(`SELECT count(*) FROM messages m JOIN messages first ON first.lead_id = m.lead_id AND first.step = 1
		WHERE m.campaign_id = $1 AND m.step > 1 AND m.email_account_id <> first.email_account_id`, b.campaign), "a lead's follow-ups leave from its first mailbox")
	require.Positive(t, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 2 AND status = 'sent'`, b.campaign))
	from := map[string]map[string]bool{}
	for _, m := range b.srv.Messages() {
		if from[m.To] == nil {
			from[m.To] = map[string]bool{}
		}
		from[m.To][m.From] = true
	}
	for to, senders := range from {
		require.Len(t, senders, 1, "%s heard from one mailbox", to)
	}
}

func TestALeadApprovedWhileTheCampaignRunsIsScheduled(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	b.lead("first@late.test")
	b.activate()
	late := b.lead("late@late.test") // approved with its sequence after the activation
	require.Zero(t, b.count(`SELECT count(*) FROM messages WHERE lead_id = $1`, late))
	n, err := b.eng.ScheduleApproved(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	st, _ := b.status(late, 1)
	require.Equal(t, StatusScheduled, st)
	_, err = b.eng.ScheduleApproved(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, b.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 1`, late), "scheduled once")
}

// TestATaskDeliveredSeveralTimesAtOnceSendsEachMessageOnce: asynq may run
// one task twice at the same moment (a requeue while the first is still
// running). The claim holds the mailbox's row lock and claims by a
// conditional update (no lock per message row): whichever delivery claims
// a message sends it, the others find nothing.
func TestATaskDeliveredSeveralTimesAtOnceSendsEachMessageOnce(t *testing.T) {
	b := setup(t, smtptest.Options{}, 10000)
	for i := range 60 {
		b.lead(fmt.Sprintf("c%03d@once.test", i))
	}
	b.activate()
	b.clock.Add(24 * time.Hour)
	_, err := b.eng.Dispatch(context.Background())
	require.NoError(t, err)
	var tasks []task // this organisation's (the dispatcher is cross-tenant: earlier tests leave messages due)
	for _, tk := range b.q.take() {
		if tk.org == b.actor.OrgID {
			tasks = append(tasks, tk)
		}
	}
	require.NotEmpty(t, tasks)
	var wg sync.WaitGroup
	for range 4 {
		for _, tk := range tasks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				require.NoError(t, b.eng.SendBatch(context.Background(), tk.org, tk.account, tk.ids))
			}()
		}
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range b.srv.Messages() {
		seen[m.To]++
	}
	require.Len(t, seen, 60, "every lead heard")
	for to, n := range seen {
		require.Equal(t, 1, n, "%s got its first step %d times", to, n)
	}
	require.Equal(t, 60, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 1 AND status = 'sent' AND attempts = 1`, b.campaign))
	require.Equal(t, 60, b.count(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = 2 AND status = 'scheduled'`, b.campaign))
	require.Equal(t, 60, b.count(`SELECT emails_sent_today FROM email_accounts WHERE id = $1`, b.account), "the budget spent once per message")
}

func TestAMessageDeferredAfterItsDispatchWaitsAndGoesOnceWhenDue(t *testing.T) {
	b := setup(t, smtptest.Options{}, 10000)
	ctx := context.Background()
	lead := b.lead("ooo@defer.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	mine := func() []task {
		var out []task
		for _, tk := range b.q.take() {
			if tk.org == b.actor.OrgID {
				out = append(out, tk)
			}
		}
		return out
	}
	_, err := b.eng.Dispatch(ctx)
	require.NoError(t, err)
	tasks := mine()
	require.Len(t, tasks, 1)
	// Dispatched: stamped, still scheduled (no index-changing row version).
	require.Equal(t, 1, b.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 1 AND status = 'scheduled' AND dispatched_at IS NOT NULL`, lead))

	// An out-of-office reply defers the lead while its task is on the way.
	until := b.clock.Now().Add(72 * time.Hour)
	require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.actor.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		n, err := b.eng.DeferInTx(ctx, tx, b.actor.OrgID, lead, until)
		require.Equal(t, 1, n)
		return err
	}))
	// The task (and a second delivery of it) sends nothing: not due.
	for range 2 {
		require.NoError(t, b.eng.SendBatch(ctx, tasks[0].org, tasks[0].account, tasks[0].ids))
	}
	require.Zero(t, b.srv.Count())
	status, reason := b.status(lead, 1)
	require.Equal(t, StatusScheduled, status)
	require.Equal(t, BlockedLeadOutOfOffice, *reason)

	// Due again: the requeue enqueues it (its task went out long ago), and
	// it goes once, however often its task comes.
	b.clock.Add(73 * time.Hour)
	time.Sleep(5 * time.Millisecond) // RequeueAfter is 1 ms here
	_, err = b.eng.Requeue(ctx)
	require.NoError(t, err)
	tasks = mine()
	require.Len(t, tasks, 1)
	for range 3 {
		require.NoError(t, b.eng.SendBatch(ctx, tasks[0].org, tasks[0].account, tasks[0].ids))
	}
	require.Len(t, received(b.srv, "ooo@defer.test"), 1)
	status, _ = b.status(lead, 1)
	require.Equal(t, StatusSent, status)
	require.Equal(t, 1, b.count(`SELECT count(*) FROM messages WHERE lead_id = $1 AND step = 1 AND dispatched_at IS NULL AND attempts = 1`, lead))
}

// A mailbox that cannot send shows it: its connection goes into error,
// from SMTP, with the reason, and one email_account.updated (failing
// again the same way writes none); the first message its server accepts
// connects it again, with another. An error of reply sync's (IMAP) is not
// the sender's to clear: a message going out leaves it.
func TestAMailboxThatCannotSendShowsItUntilAMessageGoesOut(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	updates := func() int {
		t.Helper()
		return b.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2`, b.actor.OrgID, b.account)
	}
	account := func() string {
		t.Helper()
		var got string
		require.NoError(t, b.owner.Pool.QueryRow(context.Background(),
			`SELECT connection_status || ' | ' || coalesce(last_error, '-') || ' | ' || coalesce(error_source, '-') FROM email_accounts WHERE id = $1`,
			b.account).Scan(&got))
		return got
	}
	refused := errors.New("smtp_auth: 535 5.7.8 authentication failed")
	b.refuse.Store(&refused)
	lead := b.lead("ana@globex.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	b.work()
	st, reason := b.status(lead, 1)
	require.Equal(t, StatusScheduled, st, "nothing went: it is tried again later")
	require.Equal(t, BlockedSendFailed, *reason)
	require.Equal(t, "error | the account cannot send: smtp_auth: 535 5.7.8 authentication failed | smtp", account())
	require.Equal(t, 1, updates(), "the connection went into error: email_account.updated")
	require.Equal(t, "error", b.str(`SELECT data->>'connection_status' FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2`,
		b.actor.OrgID, b.account))

	b.clock.Add(2 * time.Hour) // past the first backoff (an hour)
	b.work()
	require.Equal(t, 2, b.count(`SELECT attempts FROM messages WHERE lead_id = $1 AND step = 1`, lead), "tried again")
	require.Equal(t, 1, updates(), "the same failure again changes nothing the account shows")

	b.refuse.Store(nil)
	b.clock.Add(4 * time.Hour) // past the second (two hours)
	b.work()
	st, _ = b.status(lead, 1)
	require.Equal(t, StatusSent, st)
	require.Equal(t, "connected | - | -", account())
	require.Equal(t, 2, updates(), "connected again: email_account.updated")

	b.exec(`UPDATE email_accounts SET connection_status = 'error', last_error = 'imap_login: refused', error_source = 'imap' WHERE id = $1`, b.account)
	b.clock.Add(3 * 24 * time.Hour) // step 2 is due two days on
	b.work()
	st, _ = b.status(lead, 2)
	require.Equal(t, StatusSent, st)
	require.Equal(t, "error | imap_login: refused | imap", account(), "a message going out says nothing of IMAP")
	require.Equal(t, 2, updates())
}

func (b *bundle) str(sql string, args ...any) string {
	b.t.Helper()
	var v *string
	require.NoError(b.t, b.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&v))
	if v == nil {
		return "<nil>"
	}
	return *v
}

// The caps beyond the mailbox keep what they spent in send_counts, per
// period (the organisation's day, the UTC hour): a claim counts what it
// claimed, a message that did not go (a transient failure) gives its
// count back, a count already spent holds the next claim back, and counts
// of past periods are pruned.
func TestCapsCountWhatWasClaimedAndGiveBackWhatDidNotGo(t *testing.T) {
	b := setup(t, refuseRcpt("busy@", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}), 1000)
	ctx := context.Background()
	counts := func() map[string]int {
		t.Helper()
		rows, err := b.owner.Pool.Query(ctx, `SELECT scope || ' ' || key || ' ' || to_char(period_start AT TIME ZONE 'UTC', 'MM-DD HH24'), n
			FROM send_counts WHERE org_id = $1`, b.actor.OrgID)
		require.NoError(t, err)
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			require.NoError(t, rows.Scan(&k, &n))
			out[k] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	busy, ok := b.lead("busy@acme.test"), b.lead("ok@other.test")
	b.activate()
	b.clock.Add(24 * time.Hour) // Wednesday 2 December, 10:00 UTC
	b.work()
	st, _ := b.status(busy, 1)
	require.Equal(t, StatusScheduled, st)
	st, _ = b.status(ok, 1)
	require.Equal(t, StatusSent, st)
	require.Equal(t, map[string]int{
		"recipient_domain acme.test 12-02 00":               0, // claimed, then given back: it did not go
		"recipient_domain other.test 12-02 00":              1,
		"sending_domain send.test 12-02 10":                 1,
		"campaign_new " + b.campaign.String() + " 12-02 00": 1,
	}, counts())

	// The domain's day is spent (as if other mailboxes had sent there):
	// the retry waits for tomorrow, with the reason.
	b.eng.opts.RecipientDomainDaily = 1
	b.exec(`UPDATE send_counts SET n = 1 WHERE org_id = $1 AND scope = 'recipient_domain' AND key = 'acme.test'`, b.actor.OrgID)
	b.clock.Add(2 * time.Hour) // past the retry's backoff
	b.work()
	st, reason := b.status(busy, 1)
	require.Equal(t, StatusScheduled, st)
	require.Equal(t, BlockedRecipientDomainCap, *reason)
	require.Equal(t, 1, counts()["recipient_domain acme.test 12-02 00"], "held back: not counted")

	b.clock.Add(3 * 24 * time.Hour)
	n, err := b.eng.PruneCounts(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 4, "every count of Wednesday is over two days old (other tests' organisations may have some too)")
	require.Empty(t, counts())
}

// Recording a batch that gives counts back and a claim of the same
// mailbox lock the mailbox's row and the caps' counters in one order, so
// they wait for each other instead of deadlocking: the claim holds the
// mailbox and then counts; the record takes the mailbox before the
// counters.
func TestARecordAndAClaimOfOneMailboxDoNotDeadlockOnTheCounts(t *testing.T) {
	b := setup(t, smtptest.Options{}, 1000)
	ctx := context.Background()
	b.lead("ana@globex.test")
	b.activate()
	b.clock.Add(24 * time.Hour)
	ids := b.dispatched()
	batch, box, err := b.eng.claim(ctx, b.actor.OrgID, b.account, ids)
	require.NoError(t, err)
	require.Len(t, batch, 1)
	require.NotNil(t, batch[0].counted, "counted at the claim")

	// Another claim of the mailbox: its row is locked.
	claim, err := b.owner.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = claim.Rollback(ctx) }()
	_, err = claim.Exec(ctx, `SELECT 1 FROM email_accounts WHERE id = $1 FOR NO KEY UPDATE`, b.account)
	require.NoError(t, err)
	// The batch did not go (a transient failure): its record gives the
	// budget and the counts back, and waits for the mailbox.
	recorded := make(chan error, 1)
	go func() {
		recorded <- b.eng.record(ctx, b.actor.OrgID, b.account, batch, []Outcome{{Result: Transient, Error: "451 4.3.0 try later"}}, box.smtpError())
	}()
	time.Sleep(300 * time.Millisecond)
	// The claim counts what it claims: the same counter.
	_, err = claim.Exec(ctx, `INSERT INTO send_counts (org_id, scope, key, period_start, n) VALUES ($1, 'recipient_domain', 'globex.test', $2, 1)
		ON CONFLICT (org_id, scope, key, period_start) DO UPDATE SET n = send_counts.n + 1`, b.actor.OrgID, batch[0].counted.day)
	require.NoError(t, err, "the claim is not waiting for the record")
	require.NoError(t, claim.Commit(ctx))
	select {
	case err := <-recorded:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the record never finished")
	}
	require.Equal(t, 1, b.count(`SELECT n FROM send_counts WHERE org_id = $1 AND scope = 'recipient_domain' AND key = 'globex.test'`, b.actor.OrgID),
		"one claimed and given back, one claimed")
}
