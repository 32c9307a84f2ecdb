package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/imapsync"
	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

// testMailboxes reads every account's replies from the IMAP test server;
// the accounts' events are the product's (emailaccounts.Mailboxes).
type testMailboxes struct {
	emailaccounts.Mailboxes
	srv *imaptest.Server
}

func (m testMailboxes) IMAP(context.Context, uuid.UUID, uuid.UUID) (imapsync.Config, error) {
	return imapsync.Config{Host: m.srv.Host, Port: m.srv.Port, Security: imapsync.SecurityNone, Username: m.srv.User, Password: m.srv.Password}, nil
}

// TestInboxSweepSyncsDueMailboxesAndTheWorkerClassifies runs the inbox's
// tasks on the real worker: the sweep finds the mailbox due and enqueues
// its sync (once, however often it runs), the sync stores the reply and
// queues its classification, and the classification task classifies it.
func TestInboxSweepSyncsDueMailboxesAndTheWorkerClassifies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := fixture{t: t, owner: b.owner}
	org := f.org()
	srv := imaptest.Start(t)
	account := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO email_accounts (id, org_id, email_address, provider, imap_host, imap_port, imap_tls_mode) VALUES ($1, $2, $3, 'custom', '127.0.0.1', $4, 'none')`,
		account, org, "inbox-"+org.String()[:8]+"@jobs.test", srv.Port)
	lead := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO leads (id, org_id, email, first_name) VALUES ($1, $2, 'ana@jobs.test', 'Ana')`, lead, org)
	srv.Append(t, []byte("From: Ana <ana@jobs.test>\r\nTo: inbox@jobs.test\r\nSubject: Re: your note\r\nMessage-ID: <"+uuid.NewString()+"@jobs.test>\r\n"+
		"Date: "+time.Now().Format(time.RFC1123Z)+"\r\n\r\nYes please, I'm interested. Send me a quote.\r\n"), time.Now())

	enq := jobs.NewEnqueuer(b.redis)
	t.Cleanup(func() { _ = enq.Close() })
	bi := builtin.New()
	svc := inbox.NewService(b.db, nil, func(context.Context, uuid.UUID) (llm.Provider, error) { return bi, nil }, enq, inbox.Options{})
	handler := jobs.NewInboxHandler(inbox.Worker{Service: svc, Mailboxes: testMailboxes{
		Mailboxes: emailaccounts.NewMailboxes(emailaccounts.NewService(b.db, testKeyring(t), emailaccounts.Options{})), srv: srv}}, enq, b.logger)

	// The sweep, twice: one sync task, deduplicated by the mailbox's id.
	require.NoError(t, handler.ProcessTask(ctx, jobs.NewInboxSweepTask()))
	require.NoError(t, handler.ProcessTask(ctx, jobs.NewInboxSweepTask()))
	pending, err := b.inspector.ListPendingTasks(jobs.QueueIMAPSync)
	require.NoError(t, err)
	mine := 0
	for _, p := range pending {
		var pl jobs.IMAPSyncPayload
		require.NoError(t, json.Unmarshal(p.Payload, &pl))
		if pl.AccountID == account {
			mine++
		}
	}
	require.Equal(t, 1, mine, "one sync task for the mailbox, however often the sweep runs")

	worker := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger,
		Queues: map[string]int{jobs.QueueIMAPSync: 1, jobs.QueueClassify: 1}})
	h := handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger}))
	h.Inbox = handler
	require.NoError(t, worker.Start(jobs.NewMux(h, b.logger)))
	t.Cleanup(worker.Shutdown)

	classified := func() string {
		var c *string
		err := b.owner.Pool.QueryRow(ctx, `SELECT classification FROM inbox_messages WHERE org_id = $1 AND lead_id = $2`, org, lead).Scan(&c)
		if err != nil || c == nil {
			return fmt.Sprint(err)
		}
		return *c
	}
	require.Eventually(t, func() bool { return classified() == "interested" }, 30*time.Second, 50*time.Millisecond)
	var status string
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT status FROM leads WHERE id = $1`, lead).Scan(&status))
	require.Equal(t, "interested", status)
	var next *time.Time
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT imap_next_sync_at FROM email_accounts WHERE id = $1`, account).Scan(&next))
	require.NotNil(t, next)
	require.True(t, next.After(time.Now()), "the next sync waits its interval")
}
