package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// notify creates n in org through the package other domains call.
func (b *bundle) notify(t *testing.T, org uuid.UUID, n notifications.New) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	require.NoError(t, b.db.InTenant(context.Background(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) (err error) {
		ids, err = notifications.Notify(ctx, tx, org, n)
		return err
	}))
	return ids
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Notify Co")
	member := b.join(t, s, api.RoleMember)
	owner, mem := bearer(s.AccessToken), bearer(member.AccessToken)
	key, err := b.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "notify key"}, owner)
	require.NoError(t, err)
	apiKey := bearer(key.JSON201.Secret)
	org := s.Organization.ID

	older := b.notify(t, org, notifications.New{Type: notifications.TypeSystem, Title: "Older", Users: []uuid.UUID{s.User.ID}})[0]
	broadcast := b.notify(t, org, notifications.New{Type: notifications.TypeAutopilotUpdate, Title: "For all", Message: "Autopilot found 12 leads", Broadcast: true})[0]
	newer := b.notify(t, org, notifications.New{Type: notifications.TypeSystem, Title: "Newer", Users: []uuid.UUID{s.User.ID}, ActionURL: "/settings"})[0]
	membersOwn := b.notify(t, org, notifications.New{Type: notifications.TypeSystem, Title: "Member's", Users: []uuid.UUID{member.User.ID}})[0]

	list := func(t *testing.T, params *api.ListNotificationsParams, cred api.RequestEditorFn) []uuid.UUID {
		t.Helper()
		r, err := b.client.ListNotificationsWithResponse(ctx, params, cred)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		var out []uuid.UUID
		for _, n := range r.JSON200.Data {
			out = append(out, n.ID)
		}
		return out
	}
	count := func(t *testing.T, cred api.RequestEditorFn) int {
		t.Helper()
		r, err := b.client.GetNotificationUnreadCountWithResponse(ctx, cred)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		return r.JSON200.Count
	}

	t.Run("ListShowsOwnAndBroadcastNewestFirstAndPagesWithAnOpaqueCursor", func(t *testing.T) {
		require.Equal(t, []uuid.UUID{newer, broadcast, older}, list(t, nil, owner))
		require.Equal(t, []uuid.UUID{membersOwn, broadcast}, list(t, nil, mem))
		first, err := b.client.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Limit: ptr(2)}, owner)
		require.NoError(t, err)
		require.NotNil(t, first.JSON200.NextCursor)
		_, err = uuid.Parse(*first.JSON200.NextCursor)
		require.Error(t, err, "the cursor is opaque")
		second := list(t, &api.ListNotificationsParams{Limit: ptr(2), Cursor: first.JSON200.NextCursor}, owner)
		require.Equal(t, []uuid.UUID{older}, second)
		typed := list(t, &api.ListNotificationsParams{Type: ptr(api.NotificationTypeAutopilotUpdate)}, owner)
		require.Equal(t, []uuid.UUID{broadcast}, typed)
		require.Equal(t, 3, count(t, owner))
		one, err := b.client.GetNotificationWithResponse(ctx, newer, owner)
		require.NoError(t, err)
		require.Equal(t, "Newer", one.JSON200.Title)
		require.Equal(t, "/settings", *one.JSON200.ActionURL)
		require.False(t, one.JSON200.Broadcast)
	})

	t.Run("AnotherUsersNotificationIsNotFound", func(t *testing.T) {
		g, err := b.client.GetNotificationWithResponse(ctx, newer, mem)
		require.NoError(t, err)
		problem(t, g.HTTPResponse, g.Body, http.StatusNotFound)
		r, err := b.client.MarkNotificationReadWithResponse(ctx, membersOwn, owner)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusNotFound)
	})

	t.Run("ReadGoesLastUnreadComesBack", func(t *testing.T) {
		r, err := b.client.MarkNotificationReadWithResponse(ctx, newer, owner)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.True(t, r.JSON200.IsRead)
		require.NotNil(t, r.JSON200.ReadAt)
		require.Equal(t, []uuid.UUID{broadcast, older, newer}, list(t, nil, owner))
		require.Equal(t, []uuid.UUID{broadcast, older}, list(t, &api.ListNotificationsParams{Unread: ptr(true)}, owner))
		require.Equal(t, 2, count(t, owner))
		u, err := b.client.MarkNotificationUnreadWithResponse(ctx, newer, owner)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, u.StatusCode(), string(u.Body))
		require.False(t, u.JSON200.IsRead)
		require.Nil(t, u.JSON200.ReadAt)
		require.Equal(t, 3, count(t, owner))
	})

	t.Run("AnAPIKeySeesBroadcastOnlyAndCannotChangeReadStateOrPreferences", func(t *testing.T) {
		require.Equal(t, []uuid.UUID{broadcast}, list(t, nil, apiKey))
		require.Equal(t, 1, count(t, apiKey))
		r, err := b.client.MarkNotificationReadWithResponse(ctx, broadcast, apiKey)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusForbidden)
		all, err := b.client.MarkAllNotificationsReadWithResponse(ctx, nil, apiKey)
		require.NoError(t, err)
		problem(t, all.HTTPResponse, all.Body, http.StatusForbidden)
		p, err := b.client.GetNotificationPreferencesWithResponse(ctx, apiKey)
		require.NoError(t, err)
		problem(t, p.HTTPResponse, p.Body, http.StatusForbidden)
		u, err := b.client.UpdateNotificationPreferencesWithResponse(ctx, api.NotificationPreferencesUpdate{DailyDigest: ptr(false)}, apiKey)
		require.NoError(t, err)
		problem(t, u.HTTPResponse, u.Body, http.StatusForbidden)
	})

	t.Run("BadInputIsProblemJSON", func(t *testing.T) {
		c, err := b.client.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Cursor: ptr("not-a-cursor")}, owner)
		require.NoError(t, err)
		problem(t, c.HTTPResponse, c.Body, http.StatusBadRequest)
		l, err := b.client.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Limit: ptr(0)}, owner)
		require.NoError(t, err)
		problem(t, l.HTTPResponse, l.Body, http.StatusBadRequest)
		ty, err := b.client.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Type: ptr(api.NotificationType("party"))}, owner)
		require.NoError(t, err)
		problem(t, ty.HTTPResponse, ty.Body, http.StatusBadRequest)
		bad, err := b.client.UpdateNotificationPreferencesWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{"email_on_reply": true}`), owner)
		require.NoError(t, err)
		problem(t, bad.HTTPResponse, bad.Body, http.StatusUnprocessableEntity)
		notBool, err := b.client.UpdateNotificationPreferencesWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{"daily_digest": "no"}`), owner)
		require.NoError(t, err)
		problem(t, notBool.HTTPResponse, notBool.Body, http.StatusUnprocessableEntity)
		empty, err := b.client.UpdateNotificationPreferencesWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{}`), owner)
		require.NoError(t, err)
		problem(t, empty.HTTPResponse, empty.Body, http.StatusUnprocessableEntity)
		id, err := b.client.MarkNotificationReadWithResponse(ctx, uuid.Must(uuid.NewV7()), owner)
		require.NoError(t, err)
		problem(t, id.HTTPResponse, id.Body, http.StatusNotFound)
	})

	t.Run("PreferencesDefaultThenPatchKeyByKey", func(t *testing.T) {
		g, err := b.client.GetNotificationPreferencesWithResponse(ctx, mem)
		require.NoError(t, err)
		require.Equal(t, api.NotificationPreferences{EmailReplies: true, WhatsappReplies: true, SmsReplies: true, DailyDigest: true, BrowserPush: true}, *g.JSON200)
		u, err := b.client.UpdateNotificationPreferencesWithResponse(ctx, api.NotificationPreferencesUpdate{DailyDigest: ptr(false), BrowserPush: ptr(false)}, mem)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, u.StatusCode(), string(u.Body))
		require.Equal(t, api.NotificationPreferences{EmailReplies: true, WhatsappReplies: true, SmsReplies: true, DailyDigest: false, BrowserPush: false}, *u.JSON200)
		o, err := b.client.GetNotificationPreferencesWithResponse(ctx, owner)
		require.NoError(t, err)
		require.True(t, o.JSON200.DailyDigest, "the owner's are untouched")
	})

	t.Run("ReadAllStopsAtTheNewestIDShown", func(t *testing.T) {
		shown := list(t, &api.ListNotificationsParams{Unread: ptr(true)}, owner)
		require.Len(t, shown, 3)
		late := b.notify(t, org, notifications.New{Type: notifications.TypeSystem, Title: "Late", Users: []uuid.UUID{s.User.ID}})[0]
		r, err := b.client.MarkAllNotificationsReadWithResponse(ctx, &api.MarkAllNotificationsReadParams{UpToID: &shown[0]}, owner)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, 3, r.JSON200.Marked)
		require.Equal(t, []uuid.UUID{late}, list(t, &api.ListNotificationsParams{Unread: ptr(true)}, owner))
		require.Equal(t, 2, count(t, mem), "the member's own and the broadcast one stay unread for the member")
	})
}
