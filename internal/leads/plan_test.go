package leads_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// explainAsApp is the plan of query as the service's RLS-bound role sees
// it, in org's tenant transaction, with sequential scans priced out: a
// condition that cannot be an index condition under the policy (a
// function that is not leakproof, such as lower()) still yields a filter
// over a scan of the organisation's rows, which the assertions catch.
func explainAsApp(t *testing.T, org uuid.UUID, query string, args ...any) string {
	t.Helper()
	db := testkit.DB(t)
	var lines []string
	err := db.InTenant(context.Background(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		return tx.NewRaw("EXPLAIN "+query, args...).Scan(ctx, &lines)
	})
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

func TestOtherCampaignCheckUsesAnIndexPerContactUnderRLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
	// Enough of the organisation's leads that reading them all is a real
	// cost, in both campaigns and outside any, some with phone numbers.
	_, err := testkit.OwnerDB(t).Pool.Exec(ctx, `
		INSERT INTO leads (id, org_id, campaign_id, email, phone, whatsapp)
		SELECT gen_random_uuid(), $1, CASE i % 3 WHEN 0 THEN $2::uuid WHEN 1 THEN $3::uuid END,
		       'lead' || i || '@example.com', CASE WHEN i % 2 = 0 THEN '+4930' || (1000000 + i) END,
		       CASE WHEN i % 5 = 0 THEN '+4917' || (1000000 + i) END
		  FROM generate_series(1, 3000) i`, b.actor.OrgID, c1, c2)
	require.NoError(t, err)
	_, err = testkit.OwnerDB(t).Pool.Exec(ctx, `ANALYZE leads`)
	require.NoError(t, err)

	q, args := leads.OtherCampaignQuery(b.actor.OrgID, uuid.Must(uuid.NewV7()), &c2,
		ptr("lead30@example.com"), ptr("+49301000030"), ptr("+49171000030"))
	plan := explainAsApp(t, b.actor.OrgID, q, args...)
	require.NotContains(t, plan, "Seq Scan", plan)
	for _, idx := range []string{"leads_org_campaign_email_key", "leads_org_phone_idx", "leads_org_whatsapp_idx"} {
		require.Contains(t, plan, "using "+idx+" on leads", plan)
	}
	for _, cond := range []string{"email = 'lead30@example.com'", "phone = '+49301000030'", "whatsapp = '+49171000030'"} {
		require.Regexp(t, `Index Cond: \(\(org_id = '[0-9a-f-]+'::uuid\) AND \(`+strings.NewReplacer("(", `\(`, "+", `\+`, ".", `\.`).Replace(cond), plan)
	}

	// The same query finds what is there and only that.
	var found bool
	err = testkit.DB(t).InTenant(ctx, b.actor.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return tx.NewRaw(q, args...).Scan(ctx, &found)
	})
	require.NoError(t, err)
	require.True(t, found, "lead30 is in campaign one")
	for _, c := range []struct{ email, phone, whatsapp *string }{
		{email: ptr("lead30@example.com")}, {phone: ptr("+49301000030")}, {whatsapp: ptr("+49171000030")},
	} {
		q, args := leads.OtherCampaignQuery(b.actor.OrgID, uuid.Must(uuid.NewV7()), &c1, c.email, c.phone, c.whatsapp)
		err = testkit.DB(t).InTenant(ctx, b.actor.Tenant(), func(ctx context.Context, tx bun.IDB) error {
			return tx.NewRaw(q, args...).Scan(ctx, &found)
		})
		require.NoError(t, err)
		require.False(t, found, "lead30 is in campaign one only: %+v", c)
	}
}

func TestBulkMoveLooksUpIdentitiesByIndexUnderRLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	c1, c2 := b.campaign(t, "one"), b.campaign(t, "two")
	var ids []uuid.UUID
	err := testkit.OwnerDB(t).Pool.QueryRow(ctx, `
		WITH l AS (
		  INSERT INTO leads (id, org_id, campaign_id, email, phone)
		  SELECT gen_random_uuid(), $1, CASE WHEN i % 2 = 0 THEN $2::uuid END,
		         CASE WHEN i % 4 <> 3 THEN 'lead' || i || '@example.com' END, '+4930' || (1000000 + i)
		    FROM generate_series(1, 3000) i
		  RETURNING id)
		SELECT array_agg(id) FROM (SELECT id FROM l LIMIT 20) x`, b.actor.OrgID, c1).Scan(&ids)
	require.NoError(t, err)
	_, err = testkit.OwnerDB(t).Pool.Exec(ctx, `ANALYZE leads`)
	require.NoError(t, err)

	plan := explainAsApp(t, b.actor.OrgID, leads.MoveSQL, &c2, b.actor.OrgID, bun.In(ids))
	require.NotContains(t, plan, "Seq Scan", plan)
	require.Regexp(t, `using leads_org_campaign_email_key on leads o\b[^\n]*\n\s+Index Cond: \(\(org_id = l\.org_id\) AND \(email = l\.email\)\)`, plan)
	require.Regexp(t, `using leads_org_phone_idx on leads o_\d[^\n]*\n\s+Index Cond: \(\(org_id = l\.org_id\) AND \(phone = l\.phone\)\)`, plan)
}
