package notifications_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc    *notifications.Service
	db     *database.DB
	org    uuid.UUID
	owner  access.Actor
	admin  access.Actor
	member access.Actor
	key    access.Actor
	campID uuid.UUID
}

// setup makes an organisation with an owner, an admin and a member, a
// campaign, and an API key actor.
func setup(t *testing.T) bundle {
	t.Helper()
	ctx := context.Background()
	owner := testkit.OwnerDB(t)
	org := uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Notify Org', $2)`, org, "n-"+org.String())
	require.NoError(t, err)
	b := bundle{svc: notifications.NewService(testkit.DB(t)), db: testkit.DB(t), org: org}
	for _, u := range []struct {
		a    *access.Actor
		role access.Role
	}{{&b.owner, access.RoleOwner}, {&b.admin, access.RoleAdmin}, {&b.member, access.RoleMember}} {
		id := uuid.Must(uuid.NewV7())
		_, err := owner.Pool.Exec(ctx, `WITH u AS (INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x') RETURNING id)
			INSERT INTO memberships (id, org_id, user_id, role) SELECT $3, $4, u.id, $5 FROM u`,
			id, "n-"+id.String()+"@example.com", uuid.Must(uuid.NewV7()), org, string(u.role))
		require.NoError(t, err)
		*u.a = access.Actor{OrgID: org, UserID: id, Role: u.role}
	}
	b.key = access.Actor{OrgID: org, Role: access.RoleAdmin, APIKeyID: uuid.Must(uuid.NewV7())}
	b.campID = uuid.Must(uuid.NewV7())
	_, err = owner.Pool.Exec(ctx, `INSERT INTO campaigns (id, org_id, name, source) VALUES ($1, $2, 'C', 'manual')`, b.campID, org)
	require.NoError(t, err)
	return b
}

// notify runs notifications.Notify in its own tenant transaction.
func (b bundle) notify(t *testing.T, n notifications.New) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) (err error) {
		ids, err = notifications.Notify(ctx, tx, b.org, n)
		return err
	}))
	return ids
}

func (b bundle) approval(t *testing.T, leads, seqs int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) (err error) {
		ids, err = notifications.ApprovalNeeded(ctx, tx, b.org, b.campID, leads, seqs)
		return err
	}))
	return ids
}

// all lists every notification a sees, page by page with limit.
func (b bundle) all(t *testing.T, a access.Actor, f notifications.Filter, limit int) []notifications.Notification {
	t.Helper()
	var out []notifications.Notification
	var cursor *string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "paging does not end")
		p, err := notifications.ParsePage(&limit, cursor)
		require.NoError(t, err)
		rows, next, err := b.svc.List(context.Background(), a, f, p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(rows), limit)
		out = append(out, rows...)
		if next == nil {
			return out
		}
		cursor = next
	}
}

func ids(ns []notifications.Notification) []uuid.UUID {
	out := make([]uuid.UUID, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("UnreadFirstThenNewestFirstAcrossPages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var made []uuid.UUID // oldest first
		for i := range 7 {
			made = append(made, b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "n", Users: []uuid.UUID{b.owner.UserID}, Message: string(rune('a' + i))})...)
		}
		// Read: the 2nd and 5th oldest, and the newest.
		for _, i := range []int{1, 4, 6} {
			_, err := b.svc.MarkRead(ctx, b.owner, made[i])
			require.NoError(t, err)
		}
		want := []uuid.UUID{made[5], made[3], made[2], made[0], made[6], made[4], made[1]}
		for _, limit := range []int{1, 2, 3, 4, 7, 100} {
			got := b.all(t, b.owner, notifications.Filter{}, limit)
			require.Equal(t, want, ids(got), "limit %d", limit)
		}
		unread := b.all(t, b.owner, notifications.Filter{UnreadOnly: true}, 2)
		require.Equal(t, want[:4], ids(unread))
		for _, n := range unread {
			require.False(t, n.IsRead)
			require.Nil(t, n.ReadAt)
		}
	})

	t.Run("AUserSeesTheirOwnAndBroadcastOnes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		own := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "own", Users: []uuid.UUID{b.member.UserID}})
		other := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "other", Users: []uuid.UUID{b.owner.UserID}})
		all := b.notify(t, notifications.New{Type: notifications.TypeAutopilotUpdate, Title: "everyone", Broadcast: true})
		require.Len(t, own, 1)
		require.Len(t, other, 1)
		require.Len(t, all, 1)

		got := b.all(t, b.member, notifications.Filter{}, 10)
		require.Equal(t, []uuid.UUID{all[0], own[0]}, ids(got))
		require.True(t, got[0].Broadcast)
		_, err := b.svc.Get(ctx, b.member, other[0])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "another user's notification is not found: %v", err)
		_, err = b.svc.MarkRead(ctx, b.member, other[0])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "nor can it be marked: %v", err)

		n, err := b.svc.UnreadCount(ctx, b.member)
		require.NoError(t, err)
		require.Equal(t, 2, n)

		byType := b.all(t, b.member, notifications.Filter{Type: notifications.TypeAutopilotUpdate}, 10)
		require.Equal(t, []uuid.UUID{all[0]}, ids(byType))
	})

	t.Run("AnAPIKeySeesBroadcastOnesOnlyAndCannotMarkThem", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "own", Users: []uuid.UUID{b.owner.UserID}})
		all := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "everyone", Broadcast: true})
		got := b.all(t, b.key, notifications.Filter{}, 10)
		require.Equal(t, all, ids(got))
		n, err := b.svc.UnreadCount(ctx, b.key)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = b.svc.MarkRead(ctx, b.key, all[0])
		require.True(t, fault.IsKind(err, fault.KindForbidden), "%v", err)
		_, err = b.svc.MarkAllRead(ctx, b.key, notifications.ReadAllBound{})
		require.True(t, fault.IsKind(err, fault.KindForbidden), "%v", err)
		_, err = b.svc.Preferences(ctx, b.key)
		require.True(t, fault.IsKind(err, fault.KindForbidden), "%v", err)
	})

	t.Run("AnotherOrganisationSeesNothing", func(t *testing.T) {
		t.Parallel()
		a, other := setup(t), setup(t)
		mine := a.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "a", Users: []uuid.UUID{a.owner.UserID}})
		bc := a.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "a all", Broadcast: true})
		require.Empty(t, other.all(t, other.owner, notifications.Filter{}, 10))
		for _, id := range append(mine, bc...) {
			_, err := other.svc.Get(ctx, other.owner, id)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
			_, err = other.svc.MarkRead(ctx, other.owner, id)
			require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		}
		// A user of org A acting with org B's id: the actor's org decides.
		cross := access.Actor{OrgID: other.org, UserID: a.owner.UserID, Role: access.RoleOwner}
		_, err := other.svc.Get(ctx, cross, mine[0])
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})

	t.Run("RefusesUnknownTypesAndForeignCursors", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, _, err := b.svc.List(ctx, b.owner, notifications.Filter{Type: "party"}, notifications.Page{})
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
		for _, c := range []string{"!!!", uuid.NewString(), "djE6MDE5MzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw", "bjE6Mjp4"} {
			_, err := notifications.ParsePage(nil, &c)
			require.True(t, fault.IsKind(err, fault.KindBadRequest), "cursor %q: %v", c, err)
		}
		zero := 0
		_, err = notifications.ParsePage(&zero, nil)
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
	})
}

func TestReadState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("MarkReadKeepsTheFirstReadAtAndMarkUnreadClearsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "x", Users: []uuid.UUID{b.owner.UserID}})[0]
		first, err := b.svc.MarkRead(ctx, b.owner, id)
		require.NoError(t, err)
		require.True(t, first.IsRead)
		require.NotNil(t, first.ReadAt)
		again, err := b.svc.MarkRead(ctx, b.owner, id)
		require.NoError(t, err)
		require.Equal(t, first.ReadAt, again.ReadAt)
		un, err := b.svc.MarkUnread(ctx, b.owner, id)
		require.NoError(t, err)
		require.False(t, un.IsRead)
		require.Nil(t, un.ReadAt)
		got, err := b.svc.Get(ctx, b.owner, id)
		require.NoError(t, err)
		require.Equal(t, un, got)
	})

	t.Run("ABroadcastIsReadPerPerson", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "all", Broadcast: true})[0]
		r, err := b.svc.MarkRead(ctx, b.owner, id)
		require.NoError(t, err)
		require.True(t, r.IsRead)
		require.NotNil(t, r.ReadAt)
		again, err := b.svc.MarkRead(ctx, b.owner, id)
		require.NoError(t, err)
		require.Equal(t, r.ReadAt, again.ReadAt, "the first read_at stays")
		for _, a := range []access.Actor{b.admin, b.member, b.key} {
			got, err := b.svc.Get(ctx, a, id)
			require.NoError(t, err)
			require.False(t, got.IsRead, "unread for %v", a.Role)
			n, err := b.svc.UnreadCount(ctx, a)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}
		n, err := b.svc.UnreadCount(ctx, b.owner)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, []uuid.UUID{id}, ids(b.all(t, b.admin, notifications.Filter{UnreadOnly: true}, 10)))
		require.Empty(t, b.all(t, b.owner, notifications.Filter{UnreadOnly: true}, 10))
		un, err := b.svc.MarkUnread(ctx, b.owner, id)
		require.NoError(t, err)
		require.False(t, un.IsRead)
		require.Nil(t, un.ReadAt)
		n, err = b.svc.UnreadCount(ctx, b.owner)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("MarkAllReadStopsAtWhatTheUserSaw", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seen := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "seen", Users: []uuid.UUID{b.owner.UserID}})
		seenAll := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "seen too", Broadcast: true})
		others := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "not mine", Users: []uuid.UUID{b.member.UserID}})
		// The user shows the list: its newest id is the bound.
		shown := b.all(t, b.owner, notifications.Filter{}, 10)
		require.Equal(t, []uuid.UUID{seenAll[0], seen[0]}, ids(shown))
		// Meanwhile another arrives.
		late := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "late", Users: []uuid.UUID{b.owner.UserID}})

		n, err := b.svc.MarkAllRead(ctx, b.owner, notifications.ReadAllBound{UpToID: shown[0].ID})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		left, err := b.svc.UnreadCount(ctx, b.owner)
		require.NoError(t, err)
		require.Equal(t, 1, left)
		unread := b.all(t, b.owner, notifications.Filter{UnreadOnly: true}, 10)
		require.Equal(t, late, ids(unread), "the one the user never saw stays unread")
		m, err := b.svc.UnreadCount(ctx, b.member)
		require.NoError(t, err)
		require.Equal(t, 2, m, "the member's own and the broadcast one stay unread for the member")
		require.Len(t, others, 1)

		// A time bound before everything marks nothing.
		n, err = b.svc.MarkAllRead(ctx, b.owner, notifications.ReadAllBound{Until: time.Now().Add(-time.Hour)})
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = b.svc.MarkAllRead(ctx, b.owner, notifications.ReadAllBound{})
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
}

func TestPreferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DefaultsThenPatchesKeyByKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got, err := b.svc.Preferences(ctx, b.member)
		require.NoError(t, err)
		require.Equal(t, notifications.Defaults(), got)
		got, err = b.svc.UpdatePreferences(ctx, b.member, map[string]bool{"daily_digest": false})
		require.NoError(t, err)
		want := notifications.Defaults()
		want["daily_digest"] = false
		require.Equal(t, want, got)
		got, err = b.svc.UpdatePreferences(ctx, b.member, map[string]bool{"sms_replies": false})
		require.NoError(t, err)
		want["sms_replies"] = false
		require.Equal(t, want, got)
		again, err := b.svc.Preferences(ctx, b.member)
		require.NoError(t, err)
		require.Equal(t, want, again)
		owners, err := b.svc.Preferences(ctx, b.owner)
		require.NoError(t, err)
		require.Equal(t, notifications.Defaults(), owners, "one user's preferences are theirs only")
	})

	for name, change := range map[string]map[string]bool{
		"RefusesAnUnknownKey":        {"email_on_reply": true},
		"RefusesAMixOfKnownAndNot":   {"daily_digest": false, "carrier_pigeon": true},
		"RefusesAKeyThatOnlyLooksOK": {"Daily_Digest": true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.svc.UpdatePreferences(ctx, b.member, change)
			f, ok := fault.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, fault.KindInvalid, f.Kind)
			require.NotEmpty(t, f.Fields)
			got, err := b.svc.Preferences(ctx, b.member)
			require.NoError(t, err)
			require.Equal(t, notifications.Defaults(), got, "nothing changed")
		})
	}

	t.Run("InAppDeliveryHonoursThemWhereTheyNameAKind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.UpdatePreferences(ctx, b.member, map[string]bool{"daily_digest": false, "sms_replies": false})
		require.NoError(t, err)
		both := []uuid.UUID{b.owner.UserID, b.member.UserID}
		digest := b.notify(t, notifications.New{Type: notifications.TypeDailyDigest, Title: "Your day", Users: both})
		require.Len(t, digest, 1, "the member opted out of the digest")
		sms := b.notify(t, notifications.New{Type: notifications.TypeReplyReceived, Title: "Reply", Channel: "sms", Users: both})
		require.Len(t, sms, 1, "and of SMS replies")
		email := b.notify(t, notifications.New{Type: notifications.TypeReplyReceived, Title: "Reply", Channel: "email", Users: both})
		require.Len(t, email, 2, "but not of email replies")
		sys := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "Heads up", Users: both})
		require.Len(t, sys, 2, "system notifications are not gated")
		stranger := b.notify(t, notifications.New{Type: notifications.TypeSystem, Title: "x", Users: []uuid.UUID{uuid.Must(uuid.NewV7())}})
		require.Empty(t, stranger, "a user who is not a member gets nothing")
		got := b.all(t, b.member, notifications.Filter{}, 10)
		require.Equal(t, []uuid.UUID{sys[1], email[1]}, ids(got))
	})
}

func TestApprovalNeeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OneUnreadPerCampaignAndAdminRefreshedNotDuplicated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.approval(t, 3, 0)
		require.Len(t, first, 2, "the owner and the admin")
		second := b.approval(t, 5, 2)
		require.ElementsMatch(t, first, second, "refreshed in place")
		got := b.all(t, b.admin, notifications.Filter{Type: notifications.TypeApprovalNeeded}, 10)
		require.Len(t, got, 1)
		require.Equal(t, "5 leads and 2 sequences are waiting for your approval.", *got[0].Message)
		require.Equal(t, "Approval needed: C", got[0].Title)
		require.Equal(t, b.campID, *got[0].CampaignID)
		require.Empty(t, b.all(t, b.member, notifications.Filter{}, 10), "members are not asked")

		// Once the admin read it, the next one is new for the admin only.
		_, err := b.svc.MarkRead(ctx, b.admin, got[0].ID)
		require.NoError(t, err)
		third := b.approval(t, 1, 0)
		require.Len(t, third, 2)
		require.NotContains(t, third, got[0].ID)
		adminAll := b.all(t, b.admin, notifications.Filter{}, 10)
		require.Len(t, adminAll, 2)
		require.Equal(t, "1 lead is waiting for your approval.", *adminAll[0].Message)
		ownerAll := b.all(t, b.owner, notifications.Filter{}, 10)
		require.Len(t, ownerAll, 1, "the owner's unread one was refreshed again")

		// Nothing waiting: the unread ones are withdrawn, the read one stays.
		require.Empty(t, b.approval(t, 0, 0))
		require.Empty(t, b.all(t, b.owner, notifications.Filter{}, 10))
		left := b.all(t, b.admin, notifications.Filter{}, 10)
		require.Equal(t, []uuid.UUID{got[0].ID}, ids(left))
	})

	t.Run("AnotherOrganisationsCampaignNotifiesNoOne", func(t *testing.T) {
		t.Parallel()
		b, other := setup(t), setup(t)
		var made []uuid.UUID
		require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) (err error) {
			made, err = notifications.ApprovalNeeded(ctx, tx, b.org, other.campID, 3, 0)
			return err
		}))
		require.Empty(t, made)
		require.Empty(t, b.all(t, b.owner, notifications.Filter{}, 10))
		require.Empty(t, other.all(t, other.owner, notifications.Filter{}, 10))
	})

	t.Run("NotifyAdminsReachesOwnersAndAdminsOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var made []uuid.UUID
		require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) (err error) {
			made, err = notifications.NotifyAdmins(ctx, tx, b.org, notifications.New{Type: notifications.TypeSystem, Title: "Admins", Users: []uuid.UUID{b.member.UserID}})
			return err
		}))
		require.Len(t, made, 2)
		require.Empty(t, b.all(t, b.member, notifications.Filter{}, 10))
	})
}
