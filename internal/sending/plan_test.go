package sending

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/smtptest"
)

// A sequence's progress (sequences_with_progress.current_step) is read
// through messages_org_lead_idx, a few entries per lead, also when the
// statistics are stale: taken while nothing had been sent, they make the
// partial indexes on sent messages look tiny, and through those the
// lookup read every sent message of the organisation (106 ms at 90,000).
func TestSequenceProgressReadsTheLeadsMessagesOnStaleStatistics(t *testing.T) {
	b := setup(t, smtptest.Options{}, 100)
	const n = 5000
	b.exec(`INSERT INTO leads (id, org_id, campaign_id, email, is_approved)
		SELECT gen_random_uuid(), $1, $2, 'lead' || i || '@plan.test', true FROM generate_series(1, $3::int) i`,
		b.actor.OrgID, b.campaign, n)
	b.exec(`INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved, approved_at)
		SELECT gen_random_uuid(), org_id, campaign_id, id, '[{"step":1,"delay_days":0,"channel":"email","body":"Hi"}]', true, now()
		  FROM leads WHERE org_id = $1`, b.actor.OrgID)
	b.exec(`INSERT INTO messages (id, org_id, campaign_id, sequence_id, lead_id, channel, email_account_id, step, body_text, message_id, status, scheduled_for)
		SELECT gen_random_uuid(), s.org_id, s.campaign_id, s.id, s.lead_id, 'email', $2, 1, 'Hi', gen_random_uuid() || '@plan.test', 'scheduled', now()
		  FROM sequences s WHERE s.org_id = $1`, b.actor.OrgID, b.account)
	b.exec(`ANALYZE messages`) // nothing sent yet
	b.exec(`UPDATE messages SET status = 'sent', sent_at = now(), claimed_at = now() WHERE org_id = $1`, b.actor.OrgID)

	var lead uuid.UUID
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), `SELECT id FROM leads WHERE org_id = $1 AND email = 'lead77@plan.test'`, b.actor.OrgID).Scan(&lead))
	var plan []string
	var step int
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.actor.OrgID}, func(ctx context.Context, tx bun.IDB) error {
		const q = `SELECT current_step FROM sequences_with_progress WHERE org_id = ? AND lead_id = ?`
		if err := tx.NewRaw("EXPLAIN "+q, b.actor.OrgID, lead).Scan(ctx, &plan); err != nil {
			return err
		}
		return tx.NewRaw(q, b.actor.OrgID, lead).Scan(ctx, &step)
	}))
	text := strings.Join(plan, "\n")
	require.Contains(t, text, "using messages_org_lead_idx on messages", text)
	require.NotContains(t, text, "messages_org_sent_at_idx", text)
	require.NotContains(t, text, "messages_org_message_id_key", text)
	require.Equal(t, 1, step)
}
