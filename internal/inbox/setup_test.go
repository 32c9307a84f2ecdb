package inbox_test

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/imapsync"
	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// The sending engine's dispatcher is cross-tenant: these tests share a
// database and run one at a time.
func TestMain(m *testing.M) { testkit.Main(m) }

// sendTasks keeps the engine's send tasks for the test to run.
type sendTasks struct {
	mu   sync.Mutex
	list [][3]any
}

func (q *sendTasks) EnqueueSend(_ context.Context, org, account uuid.UUID, ids []uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, [3]any{org, account, append([]uuid.UUID(nil), ids...)})
	return nil
}

func (q *sendTasks) take() [][3]any {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.list
	q.list = nil
	return l
}

// classifyTasks records what ingest queued for classification.
type classifyTasks struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (q *classifyTasks) EnqueueClassify(_ context.Context, _ uuid.UUID, ids []uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, ids...)
	return nil
}

func (q *classifyTasks) take() []uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.ids
	q.ids = nil
	return l
}

// transports point every account at the SMTP test server.
type transports struct{ srv *smtptest.Server }

func (tr transports) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (sending.EmailTransport, error) {
	return sending.EmailTransport{SMTP: emailsend.Account{Host: tr.srv.Host, Port: tr.srv.Port, TLS: emailsend.TLSNone}}, nil
}

func (transports) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return fmt.Errorf("no sandbox here")
}

// mailboxes read every account's replies from the IMAP test server, with
// the password the test sets; the accounts' events are the product's
// (emailaccounts.Mailboxes).
type mailboxes struct {
	emailaccounts.Mailboxes
	srv      *imaptest.Server
	mu       sync.Mutex
	password string
}

// RecordUpdated is emailaccounts.Mailboxes's (IMAP is the test server's).
func (m *mailboxes) RecordUpdated(ctx context.Context, tx bun.IDB, org, id uuid.UUID) error {
	return m.Mailboxes.RecordUpdated(ctx, tx, org, id)
}

func (m *mailboxes) IMAP(context.Context, uuid.UUID, uuid.UUID) (imapsync.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return imapsync.Config{Host: m.srv.Host, Port: m.srv.Port, Security: imapsync.SecurityNone,
		Username: m.srv.User, Password: m.password, Timeout: 10 * time.Second}, nil
}

func (m *mailboxes) setPassword(p string) { m.mu.Lock(); m.password = p; m.mu.Unlock() }

type world struct {
	t        *testing.T
	db       *database.DB
	owner    *database.DB
	smtp     *smtptest.Server
	imap     *imaptest.Server
	boxes    *mailboxes
	clock    *testkit.Clock
	sends    *sendTasks
	classify *classifyTasks
	eng      *sending.Engine
	inbox    *inbox.Service
	camps    *campaigns.Service
	actor    access.Actor
	campaign uuid.UUID
	account  uuid.UUID
}

// setup is an organisation with an owner, a mailbox that sends to the
// SMTP test server and reads the IMAP test server, and a three-step
// campaign whose window is always open, at Tuesday 1 December 2026 10:00
// UTC.
func setup(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, db: testkit.DB(t), owner: testkit.OwnerDB(t), smtp: smtptest.Start(t, smtptest.Options{}), imap: imaptest.Start(t),
		clock: testkit.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)), sends: &sendTasks{}, classify: &classifyTasks{}}
	kr, err := secrets.NewKeyring(map[string][]byte{"k1": []byte(strings.Repeat("k", 32))}, "k1")
	require.NoError(t, err)
	accounts := emailaccounts.NewService(w.db, kr, emailaccounts.Options{Clock: w.clock.Now})
	w.boxes = &mailboxes{Mailboxes: emailaccounts.NewMailboxes(accounts), srv: w.imap, password: w.imap.Password}
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	w.exec(`WITH o AS (INSERT INTO organizations (id, name, slug, business_context) VALUES ($1, 'Inbox Co', $3,
			'{"sender_name": "Sam Sender", "postal_address": "1 Market St, Springfield", "company_name": "Inbox Co"}') RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "inbox-"+org.String(), "inbox-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	w.actor = access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}
	w.account = uuid.Must(uuid.NewV7())
	w.exec(`INSERT INTO email_accounts (id, org_id, email_address, display_name, provider, smtp_host, smtp_port, imap_host, imap_port, imap_tls_mode,
			daily_send_limit, warmup_enabled, connection_status)
		VALUES ($1, $2, $3, 'Sam Sender', 'custom', '127.0.0.1', $4, '127.0.0.1', $5, 'none', 1000, false, 'connected')`,
		w.account, org, "sam-"+org.String()[:8]+"@send.test", w.smtp.Port, w.imap.Port)
	signer, err := unsubscribe.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	w.eng = sending.New(w.db, map[string]sending.Channel{"email": sending.EmailChannel{Pool: emailsend.NewPool(emailsend.PoolOptions{}), Transports: transports{w.smtp}}},
		w.sends, signer, sending.Options{Now: w.clock.Now, UnsubscribeBase: "https://app.test/u", MinGap: -1, RecipientDomainDaily: -1})
	bi := builtin.New()
	w.inbox = inbox.NewService(w.db, w.eng, func(context.Context, uuid.UUID) (llm.Provider, error) { return bi, nil }, w.classify,
		inbox.Options{Now: w.clock.Now})
	w.camps = campaigns.NewService(w.db)
	w.camps.OnTransition(w.eng.OnTransition)
	all := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	ptr := func(s string) *string { return &s }
	three := 3
	c, err := w.camps.Create(context.Background(), w.actor, campaigns.Create{Name: "Winter", Source: "manual", Settings: campaigns.SettingsPatch{
		SequenceLength: &three, DelayBetweenStepsDays: &[]int{0, 2, 3}, SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"),
		SendDays: &all, Timezone: ptr("UTC")}})
	require.NoError(t, err)
	w.campaign = c.ID
	w.exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($1, $2, $3)`, org, c.ID, w.account)
	return w
}

func (w *world) exec(sql string, args ...any) {
	w.t.Helper()
	_, err := w.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(w.t, err)
}

func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	require.NoError(w.t, w.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func (w *world) str(sql string, args ...any) string {
	w.t.Helper()
	var s *string
	require.NoError(w.t, w.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&s))
	if s == nil {
		return "<nil>"
	}
	return *s
}

// lead adds an approved lead with an approved three-step sequence.
func (w *world) lead(email string) uuid.UUID {
	w.t.Helper()
	id := uuid.Must(uuid.NewV7())
	w.exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, company, is_approved) VALUES ($1, $2, $3, $4, 'Ana', 'Globex', true)`,
		id, w.actor.OrgID, w.campaign, email)
	w.exec(`INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved, approved_at) VALUES ($1, $2, $3, $4, $5, true, now())`,
		uuid.Must(uuid.NewV7()), w.actor.OrgID, w.campaign, id,
		`[{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"Hi {{first_name}},\n\nInvoices in a minute. Worth a call?"},
		  {"step":2,"delay_days":2,"channel":"email","body":"Any thoughts, {{first_name}}?"},
		  {"step":3,"delay_days":3,"channel":"email","subject":"Last note","body":"I will leave it here."}]`)
	return id
}

// sendFirstSteps activates the campaign and sends every step 1 (the
// worker's part), then returns each lead address's Message-ID.
func (w *world) sendFirstSteps() map[string]string {
	w.t.Helper()
	ctx := context.Background()
	_, err := w.camps.Transition(ctx, w.actor, w.campaign, campaigns.ActionActivate)
	require.NoError(w.t, err)
	w.clock.Add(24 * time.Hour)
	for range 5 {
		n, err := w.eng.Dispatch(ctx)
		require.NoError(w.t, err)
		for _, tk := range w.sends.take() {
			require.NoError(w.t, w.eng.SendBatch(ctx, tk[0].(uuid.UUID), tk[1].(uuid.UUID), tk[2].([]uuid.UUID)))
		}
		if n == 0 {
			break
		}
	}
	ids := map[string]string{}
	for _, m := range w.smtp.Messages() {
		ids[m.To] = strings.Trim(m.Header().Get("Message-Id"), "<>")
	}
	return ids
}

// reply is a plain reply from from to the mailbox, in the thread of
// inReplyTo when it is not empty.
func reply(from, to, inReplyTo, subject, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@mail.test>\r\n",
		(&mail.Address{Name: "Lead", Address: from}).String(), to, subject, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC).Format(time.RFC1123Z), uuid.NewString())
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// fixture reads a real-world sample from another package's testdata with
// its addresses and ids replaced.
func fixture(t *testing.T, path string, replace ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return []byte(strings.NewReplacer(replace...).Replace(string(raw)))
}
