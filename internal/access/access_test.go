package access_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/fault"
)

func TestRoleOrder(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		role, min access.Role
		want      bool
	}{
		"OwnerIsAtLeastOwner":    {access.RoleOwner, access.RoleOwner, true},
		"OwnerIsAtLeastAdmin":    {access.RoleOwner, access.RoleAdmin, true},
		"OwnerIsAtLeastMember":   {access.RoleOwner, access.RoleMember, true},
		"AdminIsNotAnOwner":      {access.RoleAdmin, access.RoleOwner, false},
		"AdminIsAtLeastAdmin":    {access.RoleAdmin, access.RoleAdmin, true},
		"AdminIsAtLeastMember":   {access.RoleAdmin, access.RoleMember, true},
		"MemberIsNotAnAdmin":     {access.RoleMember, access.RoleAdmin, false},
		"MemberIsAtLeastMember":  {access.RoleMember, access.RoleMember, true},
		"AnUnknownRoleIsNothing": {access.Role("superuser"), access.RoleMember, false},
		"AnEmptyRoleIsNothing":   {access.Role(""), access.RoleMember, false},
		"CaseMattersInRoleNames": {access.Role("Owner"), access.RoleMember, false},
		"NoRoleIsAtLeastUnknown": {access.RoleOwner, access.Role("god"), true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.role.AtLeast(tc.min))
		})
	}
	require.True(t, access.RoleAdmin.AtLeastAdmin())
	require.False(t, access.RoleMember.AtLeastAdmin())
	require.True(t, access.RoleMember.Valid())
	require.False(t, access.Role("").Valid())
}

func TestRole(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		role         access.Role
		valid, admin bool
	}{
		"OwnerIsValidAndAdmin":  {role: access.RoleOwner, valid: true, admin: true},
		"AdminIsValidAndAdmin":  {role: access.RoleAdmin, valid: true, admin: true},
		"MemberIsValidNotAdmin": {role: access.RoleMember, valid: true, admin: false},
		"EmptyIsNeither":        {role: "", valid: false, admin: false},
		"CapitalisedIsNeither":  {role: "Owner", valid: false, admin: false},
		"UnknownIsNeither":      {role: "superuser", valid: false, admin: false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.valid, tc.role.Valid())
			require.Equal(t, tc.admin, tc.role.AtLeastAdmin())
		})
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	org := uuid.Must(uuid.NewV7())
	user := func(r access.Role) access.Actor {
		return access.Actor{OrgID: org, UserID: uuid.Must(uuid.NewV7()), Role: r}
	}
	// auth gives API keys RoleAdmin: data access, never access management.
	key := access.Actor{OrgID: org, Role: access.RoleAdmin, APIKeyID: uuid.Must(uuid.NewV7())}

	for name, tc := range map[string]struct {
		actor  access.Actor
		check  func(access.Actor) error
		allow  bool
		detail string // expected detail when refused
	}{
		"OwnersMayAdminister":       {user(access.RoleOwner), adminCheck, true, ""},
		"AdminsMayAdminister":       {user(access.RoleAdmin), adminCheck, true, ""},
		"MembersMayNotAdminister":   {user(access.RoleMember), adminCheck, false, "only owners and admins can manage API keys"},
		"KeysMayNotAdminister":      {key, adminCheck, false, "API keys cannot manage API keys; sign in as an owner or admin"},
		"OwnersPassTheOwnerCheck":   {user(access.RoleOwner), ownerCheck, true, ""},
		"AdminsFailTheOwnerCheck":   {user(access.RoleAdmin), ownerCheck, false, "only owners can delete the organisation"},
		"KeysFailTheOwnerCheck":     {key, ownerCheck, false, "API keys cannot delete the organisation; sign in as an owner"},
		"MembersAreUsers":           {user(access.RoleMember), userCheck, true, ""},
		"KeysAreNotUsers":           {key, userCheck, false, "API keys cannot verify an address; sign in as a user"},
		"AnActorWithoutAUserIsNot":  {access.Actor{OrgID: org, Role: access.RoleOwner}, userCheck, false, "API keys cannot verify an address; sign in as a user"},
		"AnUnknownRoleIsRefused":    {user(access.Role("root")), memberCheck, false, "only members can read leads"},
		"MembersPassTheMemberCheck": {user(access.RoleMember), memberCheck, true, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.check(tc.actor)
			if tc.allow {
				require.NoError(t, err)
				return
			}
			require.True(t, fault.IsKind(err, fault.KindForbidden), "got %v", err)
			fe, _ := fault.As(err)
			require.Equal(t, tc.detail, fe.Detail)
		})
	}
}

func adminCheck(a access.Actor) error  { return a.RequireAdmin("manage API keys") }
func ownerCheck(a access.Actor) error  { return a.RequireOwner("delete the organisation") }
func userCheck(a access.Actor) error   { return a.RequireUser("verify an address") }
func memberCheck(a access.Actor) error { return a.RequireRole(access.RoleMember, "read leads") }

func TestActor(t *testing.T) {
	t.Parallel()
	org, user, key := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())

	t.Run("AUserActsInTheirOwnTenant", func(t *testing.T) {
		t.Parallel()
		a := access.Actor{OrgID: org, UserID: user, Role: access.RoleMember}
		require.False(t, a.IsAPIKey())
		require.Equal(t, org, a.Tenant().OrgID)
		require.Equal(t, user, a.Tenant().UserID)
	})
	t.Run("AKeyActsInItsOrgWithNoUser", func(t *testing.T) {
		t.Parallel()
		a := access.Actor{OrgID: org, Role: access.RoleAdmin, APIKeyID: key}
		require.True(t, a.IsAPIKey())
		require.Equal(t, org, a.Tenant().OrgID)
		require.Equal(t, uuid.Nil, a.Tenant().UserID)
	})
}

func TestRequireAdminOrKey(t *testing.T) {
	t.Parallel()
	org, user, key := uuid.New(), uuid.New(), uuid.New()
	for name, tc := range map[string]struct {
		a  access.Actor
		ok bool
	}{
		"Owner":         {access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}, true},
		"Admin":         {access.Actor{OrgID: org, UserID: user, Role: access.RoleAdmin}, true},
		"APIKey":        {access.Actor{OrgID: org, APIKeyID: key, Role: access.RoleAdmin}, true},
		"Member":        {access.Actor{OrgID: org, UserID: user, Role: access.RoleMember}, false},
		"NoRole":        {access.Actor{OrgID: org, UserID: user}, false},
		"UnknownRole":   {access.Actor{OrgID: org, UserID: user, Role: "superuser"}, false},
		"KeyWithNoRole": {access.Actor{OrgID: org, APIKeyID: key}, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.a.RequireAdminOrKey("manage webhook endpoints")
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.True(t, fault.IsKind(err, fault.KindForbidden))
			require.ErrorContains(t, err, "only owners, admins and API keys can manage webhook endpoints")
		})
	}
}
