package notifications_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// NotifyAdminsEach makes what NotifyAdmins makes for each notification,
// in one statement: every owner and admin gets each, links and times
// kept, each gated by its own preference.
func TestNotifyAdminsEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	_, err := b.svc.UpdatePreferences(ctx, b.admin, map[string]bool{"sms_replies": false})
	require.NoError(t, err)
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	lead := uuid.Must(uuid.NewV7())
	_, err = testkit.OwnerDB(t).Pool.Exec(ctx, `INSERT INTO leads (id, org_id, email) VALUES ($1, $2, 'ana@globex.test')`, lead, b.org)
	require.NoError(t, err)
	var made []uuid.UUID
	require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) (err error) {
		made, err = notifications.NotifyAdminsEach(ctx, tx, b.org, []notifications.New{
			{Type: notifications.TypeReplyReceived, Title: "By email", Message: "Yes!", Channel: "email", LeadID: lead, CampaignID: b.campID, ActionURL: "/inbox/threads/x"},
			{Type: notifications.TypeReplyReceived, Title: "By SMS", Channel: "sms", At: at},
			{Type: notifications.TypeSystem, Title: "Heads up", Users: []uuid.UUID{b.member.UserID}},
		})
		return err
	}))
	require.Len(t, made, 5, "two admins × three, less the SMS reply the admin opted out of")
	owner := b.all(t, b.owner, notifications.Filter{}, 10)
	require.Len(t, owner, 3)
	admin := b.all(t, b.admin, notifications.Filter{}, 10)
	require.Len(t, admin, 2)
	require.Empty(t, b.all(t, b.member, notifications.Filter{}, 10), "members are not told")
	byTitle := map[string]notifications.Notification{}
	for _, n := range owner {
		byTitle[n.Title] = n
	}
	email := byTitle["By email"]
	require.Equal(t, "Yes!", *email.Message)
	require.Equal(t, lead, *email.LeadID)
	require.Equal(t, b.campID, *email.CampaignID)
	require.Equal(t, "/inbox/threads/x", *email.ActionURL)
	require.True(t, at.Equal(byTitle["By SMS"].CreatedAt))
	require.Nil(t, byTitle["By SMS"].Message)
	require.Nil(t, byTitle["By SMS"].LeadID)

	// An invalid one fails them all; none fails nothing.
	require.Error(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
		_, err := notifications.NotifyAdminsEach(ctx, tx, b.org, []notifications.New{{Type: "nope", Title: "x"}})
		return err
	}))
	require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
		ids, err := notifications.NotifyAdminsEach(ctx, tx, b.org, nil)
		require.Empty(t, ids)
		return err
	}))
}
