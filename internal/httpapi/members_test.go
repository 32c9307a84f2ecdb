package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func TestMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("InvitedPeopleJoinWithTheInvitesRole", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Team Co")
		a := b.join(t, o, api.RoleAdmin)
		require.Equal(t, api.RoleAdmin, a.Role)
		require.Equal(t, o.Organization.ID, a.Organization.ID)

		list, err := b.client.ListMembersWithResponse(ctx, nil, bearer(a.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode())
		require.Len(t, list.JSON200.Data, 2)
		require.Equal(t, a.User.ID, list.JSON200.Data[0].UserID, "newest first")
		require.Nil(t, list.JSON200.NextCursor)
	})

	t.Run("AnExistingUserJoinsASecondOrgWithTheirPassword", func(t *testing.T) {
		t.Parallel()
		home := b.signup(t, "Home Co")
		other := b.signup(t, "Other Co")
		role := api.RoleMember
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(home.User.Email), Role: &role}, bearer(other.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		tok := b.mailedToken(t, home.User.Email, "/accept-invite")

		wrong, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: tok, Password: "wrong password!"})
		require.NoError(t, err)
		problem(t, wrong.HTTPResponse, wrong.Body, http.StatusUnauthorized)

		acc, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: tok, Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
		require.Equal(t, home.User.ID, acc.JSON200.User.ID)
		require.Equal(t, other.Organization.ID, acc.JSON200.Organization.ID)

		again, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: tok, Password: password})
		require.NoError(t, err)
		require.Equal(t, "invite_used", problem(t, again.HTTPResponse, again.Body, http.StatusConflict).Code)

		me, err := b.client.GetMeWithResponse(ctx, bearer(acc.JSON200.AccessToken))
		require.NoError(t, err)
		require.Len(t, *me.JSON200.Memberships, 2)

		// Login picks the organisation asked for.
		l, err := b.client.LoginWithResponse(ctx, api.LoginRequest{Email: api.Email(home.User.Email), Password: password, OrgID: &other.Organization.ID})
		require.NoError(t, err)
		require.Equal(t, other.Organization.ID, l.JSON200.Organization.ID)
		require.Equal(t, api.RoleMember, l.JSON200.Role)
	})

	t.Run("RevokedAndDuplicateInvites", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Invite Co")
		email := api.Email(uniqueEmail("invitee"))
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: email}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, api.RoleMember, inv.JSON201.Role, "member by default")
		dup, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: email}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "invite_pending", problem(t, dup.HTTPResponse, dup.Body, http.StatusConflict).Code)

		rv, err := b.client.RevokeInviteWithResponse(ctx, inv.JSON201.ID, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rv.StatusCode())
		acc, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: b.mailedToken(t, string(email), "/accept-invite"), Password: password})
		require.NoError(t, err)
		require.Equal(t, "invite_revoked", problem(t, acc.HTTPResponse, acc.Body, http.StatusConflict).Code)

		list, err := b.client.ListInvitesWithResponse(ctx, nil, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, api.InviteStatusRevoked, list.JSON200.Data[0].Status)

		unknown, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: "lpi_nope", Password: password})
		require.NoError(t, err)
		problem(t, unknown.HTTPResponse, unknown.Body, http.StatusNotFound)
	})

	t.Run("RoleRules", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Rules Co")
		admin := b.join(t, o, api.RoleAdmin)
		member := b.join(t, o, api.RoleMember)

		// Members manage nothing.
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(uniqueEmail("x"))}, bearer(member.AccessToken))
		require.NoError(t, err)
		problem(t, inv.HTTPResponse, inv.Body, http.StatusForbidden)
		up, err := b.client.UpdateMemberWithResponse(ctx, member.User.ID, api.MemberUpdate{Role: api.RoleAdmin}, bearer(member.AccessToken))
		require.NoError(t, err)
		problem(t, up.HTTPResponse, up.Body, http.StatusForbidden)

		// Admins manage members but not ownership.
		owner := api.RoleOwner
		inv, err = b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(uniqueEmail("x")), Role: &owner}, bearer(admin.AccessToken))
		require.NoError(t, err)
		problem(t, inv.HTTPResponse, inv.Body, http.StatusForbidden)
		up, err = b.client.UpdateMemberWithResponse(ctx, member.User.ID, api.MemberUpdate{Role: api.RoleOwner}, bearer(admin.AccessToken))
		require.NoError(t, err)
		problem(t, up.HTTPResponse, up.Body, http.StatusForbidden)
		up, err = b.client.UpdateMemberWithResponse(ctx, o.User.ID, api.MemberUpdate{Role: api.RoleMember}, bearer(admin.AccessToken))
		require.NoError(t, err)
		problem(t, up.HTTPResponse, up.Body, http.StatusForbidden)
		up, err = b.client.UpdateMemberWithResponse(ctx, member.User.ID, api.MemberUpdate{Role: api.RoleAdmin}, bearer(admin.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		require.Equal(t, api.RoleAdmin, up.JSON200.Role)

		// The role change applies to the member's existing token at once.
		keys, err := b.client.ListAPIKeysWithResponse(ctx, nil, bearer(member.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, keys.StatusCode())

		// The last owner can be neither demoted nor removed.
		up, err = b.client.UpdateMemberWithResponse(ctx, o.User.ID, api.MemberUpdate{Role: api.RoleAdmin}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "last_owner", problem(t, up.HTTPResponse, up.Body, http.StatusConflict).Code)
		rm, err := b.client.RemoveMemberWithResponse(ctx, o.User.ID, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "last_owner", problem(t, rm.HTTPResponse, rm.Body, http.StatusConflict).Code)

		// With a second owner, the first may step down.
		up, err = b.client.UpdateMemberWithResponse(ctx, admin.User.ID, api.MemberUpdate{Role: api.RoleOwner}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode())
		up, err = b.client.UpdateMemberWithResponse(ctx, o.User.ID, api.MemberUpdate{Role: api.RoleMember}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	})

	t.Run("RemovedMembersLoseAccessAtOnce", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Remove Co")
		m := b.join(t, o, api.RoleMember)
		rm, err := b.client.RemoveMemberWithResponse(ctx, m.User.ID, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rm.StatusCode())
		me, err := b.client.GetMeWithResponse(ctx, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized)
		r, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: m.RefreshToken})
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
	})

	t.Run("ARemovedMembersOldSessionsStayDeadAfterAReinvite", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Rejoin Co")
		m := b.join(t, o, api.RoleMember)
		var live int
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, m.User.ID).Scan(&live))
		require.Equal(t, 1, live)
		rm, err := b.client.RemoveMemberWithResponse(ctx, m.User.ID, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rm.StatusCode())
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, m.User.ID).Scan(&live))
		require.Zero(t, live, "removal revokes the member's sessions in the organisation")

		// Invited back, the person signs in afresh; the old tokens stay dead.
		role := api.RoleMember
		inv, err := b.client.CreateInviteWithResponse(ctx, nil, api.InviteCreate{Email: api.Email(m.User.Email), Role: &role}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, inv.StatusCode(), string(inv.Body))
		acc, err := b.client.AcceptInviteWithResponse(ctx, api.AcceptInviteRequest{Token: b.mailedToken(t, m.User.Email, "/accept-invite"), Password: password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
		old, err := b.client.GetMeWithResponse(ctx, bearer(m.AccessToken))
		require.NoError(t, err)
		problem(t, old.HTTPResponse, old.Body, http.StatusUnauthorized)
		oldRefresh, err := b.client.RefreshSessionWithResponse(ctx, api.RefreshRequest{RefreshToken: m.RefreshToken})
		require.NoError(t, err)
		problem(t, oldRefresh.HTTPResponse, oldRefresh.Body, http.StatusUnauthorized)
		fresh, err := b.client.GetMeWithResponse(ctx, bearer(acc.JSON200.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, fresh.StatusCode())
	})

	t.Run("MembersMayLeave", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Leave Co")
		m := b.join(t, o, api.RoleMember)
		rm, err := b.client.RemoveMemberWithResponse(ctx, m.User.ID, bearer(m.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rm.StatusCode())
	})

	t.Run("MembersPaginateWithCursors", func(t *testing.T) {
		t.Parallel()
		o := b.signup(t, "Many Co")
		want := []string{o.User.Email}
		for range 4 {
			want = append(want, b.join(t, o, api.RoleMember).User.Email)
		}
		var got []string
		var cursor *string
		pages := 0
		for {
			lim := 2
			r, err := b.client.ListMembersWithResponse(ctx, &api.ListMembersParams{Limit: &lim, Cursor: cursor}, bearer(o.AccessToken))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
			pages++
			for _, m := range r.JSON200.Data {
				got = append(got, m.Email)
			}
			if r.JSON200.NextCursor == nil {
				break
			}
			cursor = r.JSON200.NextCursor
		}
		require.Equal(t, 3, pages)
		require.Len(t, got, 5)
		for i := range want {
			require.Equal(t, want[len(want)-1-i], got[i], "newest first")
		}

		bad := "bm90LWEtY3Vyc29y"
		r, err := b.client.ListMembersWithResponse(ctx, &api.ListMembersParams{Cursor: &bad}, bearer(o.AccessToken))
		require.NoError(t, err)
		require.Equal(t, "invalid_cursor", problem(t, r.HTTPResponse, r.Body, http.StatusBadRequest).Code)
		resp, body := b.raw(t, http.MethodGet, "/v1/members?limit=500", "", withBearer(o.AccessToken))
		problem(t, resp, body, http.StatusBadRequest)
	})
}
