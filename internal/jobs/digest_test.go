package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// failingRunner is a digest run that failed for some members.
type failingRunner struct{}

func (failingRunner) Run(context.Context) (notifications.DigestRun, error) {
	return notifications.DigestRun{Due: 2, Sent: 1, Failed: 1}, errors.New("relay down")
}

// TestDailyDigestHandlerMailsThroughTheMailer routes the tick through the
// worker's mux to a Digester on a Catcher. It is not parallel: the digest
// sweeps every organisation in the package's database (other tests' users
// have unverified addresses and are never due, but a parallel test of this
// one's kind would be).
func TestDailyDigestHandlerMailsThroughTheMailer(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	f := fixture{t: t, owner: b.owner}
	now := time.Date(2031, 5, 5, 9, 0, 0, 0, time.UTC) // 09:00 in the organisation's UTC
	org := f.org()
	user := uuid.Must(uuid.NewV7())
	addr := "digest-" + user.String() + "@example.com"
	f.exec(`INSERT INTO users (id, email, password_hash, full_name, email_verified_at) VALUES ($1, $2, 'x', 'Dee', now())`, user, addr)
	f.exec(`INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, 'owner')`, uuid.Must(uuid.NewV7()), org, user)
	lead := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO leads (id, org_id, email, first_name) VALUES ($1, $2, 'lee@example.org', 'Lee')`, lead, org)
	f.exec(`INSERT INTO inbox_messages (id, org_id, lead_id, channel, direction, from_address, to_address, snippet, kind, classification, created_at)
		VALUES ($1, $2, $3, 'email', 'inbound', 'lee@example.org', 'us@example.com', 'Keen to chat', 'reply', 'interested', $4)`,
		uuid.Must(uuid.NewV7()), org, lead, now.Add(-time.Hour))

	catcher := mailer.NewCatcher(100, nil)
	digester := notifications.NewDigester(b.db, catcher, notifications.DigestOptions{
		AppURL: "https://app.example.test", Now: func() time.Time { return now }, Logger: b.logger,
	})
	h := handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger}))
	h.DailyDigest = jobs.NewDailyDigestHandler(digester, b.logger)
	mux := jobs.NewMux(h, b.logger)

	mine := func() []mailer.Caught {
		var out []mailer.Caught
		for _, m := range catcher.Messages() {
			if m.To == addr {
				out = append(out, m)
			}
		}
		return out
	}
	require.NoError(t, mux.ProcessTask(ctx, jobs.NewDailyDigestTask()))
	got := mine()
	require.Len(t, got, 1)
	require.Contains(t, got[0].Text, "Replies received: 1 (1 positive)")
	require.Contains(t, got[0].Text, "Lee <lee@example.org>: interested")
	require.Contains(t, got[0].Links, "https://app.example.test/inbox")

	// A second tick (another scheduler's, a retry) sends nothing more.
	require.NoError(t, mux.ProcessTask(ctx, jobs.NewDailyDigestTask()))
	require.Len(t, mine(), 1)

	t.Run("ABadPayloadIsNotRetried", func(t *testing.T) {
		err := mux.ProcessTask(ctx, asynq.NewTask(jobs.TypeDailyDigest, []byte(`{"org":"x"}`)))
		require.ErrorIs(t, err, asynq.SkipRetry)
	})

	t.Run("FailedMembersFailTheTaskSoItIsRetried", func(t *testing.T) {
		err := jobs.NewDailyDigestHandler(failingRunner{}, b.logger).ProcessTask(ctx, jobs.NewDailyDigestTask())
		require.ErrorContains(t, err, "relay down")
		require.NotErrorIs(t, err, asynq.SkipRetry)
	})
}
