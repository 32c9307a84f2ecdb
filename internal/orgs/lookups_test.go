package orgs_test

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
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/token"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type fixture struct {
	db        *database.DB // as the service: RLS applies
	org, user uuid.UUID
}

// setup makes an organisation with one owner, as the database owner.
func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	owner := testkit.OwnerDB(t)
	f := fixture{db: testkit.DB(t), org: uuid.Must(uuid.NewV7()), user: uuid.Must(uuid.NewV7())}
	_, err := owner.Pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Lookups', $2)`, f.org, "lookups-"+f.org.String())
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO users (id, email, password_hash, full_name) VALUES ($1, $2, 'x', 'Olive')`, f.user, f.user.String()+"@example.com")
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, 'owner')`, uuid.Must(uuid.NewV7()), f.org, f.user)
	require.NoError(t, err)
	return f
}

// inTenant runs fn in the fixture's tenant.
func (f fixture) inTenant(t *testing.T, fn func(ctx context.Context, tx bun.IDB) error) error {
	t.Helper()
	return f.db.InTenant(context.Background(), database.Tenant{OrgID: f.org, UserID: f.user}, fn)
}

func (f fixture) invite(t *testing.T, expires time.Duration) (uuid.UUID, []byte) {
	t.Helper()
	id, hash := uuid.Must(uuid.NewV7()), token.Hash(uuid.NewString())
	_, err := testkit.OwnerDB(t).Pool.Exec(context.Background(),
		`INSERT INTO invites (id, org_id, email, role, token_hash, expires_at) VALUES ($1, $2, 'new@example.com', 'admin', $3, now() + $4::interval)`,
		id, f.org, hash, expires.String())
	require.NoError(t, err)
	return id, hash
}

func TestLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AnInviteIsFoundByItsTokenHashBeforeAnyTenant", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		id, hash := f.invite(t, time.Hour)
		inv, err := orgs.LookupInvite(ctx, f.db.Bun, hash)
		require.NoError(t, err)
		require.Equal(t, id, inv.ID)
		require.Equal(t, f.org, inv.OrgID)
		require.Equal(t, access.RoleAdmin, inv.Role)
		require.Equal(t, "pending", inv.Status(time.Now()))

		_, err = orgs.LookupInvite(ctx, f.db.Bun, token.Hash("no such token"))
		require.ErrorIs(t, err, database.ErrNotFound)
	})

	t.Run("AnInviteIsAcceptedOnce", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		id, hash := f.invite(t, time.Hour)
		require.NoError(t, f.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			return orgs.MarkInviteAccepted(ctx, tx, id, f.user)
		}))
		err := f.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			return orgs.MarkInviteAccepted(ctx, tx, id, f.user)
		})
		require.ErrorIs(t, err, orgs.ErrInviteClosed)
		inv, err := orgs.LookupInvite(ctx, f.db.Bun, hash)
		require.NoError(t, err)
		require.Equal(t, "accepted", inv.Status(time.Now()))
	})

	t.Run("AnExpiredInviteCannotBeAccepted", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		id, _ := f.invite(t, -time.Minute)
		err := f.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			return orgs.MarkInviteAccepted(ctx, tx, id, f.user)
		})
		require.ErrorIs(t, err, orgs.ErrInviteClosed)
	})

	t.Run("AKeyIsFoundByItsHashAndTouchedInItsTenant", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		id, hash := uuid.Must(uuid.NewV7()), token.Hash("lp_"+uuid.NewString())
		_, err := testkit.OwnerDB(t).Pool.Exec(ctx,
			`INSERT INTO api_keys (id, org_id, name, prefix, key_hash) VALUES ($1, $2, 'zap', 'lp_abcdefgh', $3)`, id, f.org, hash)
		require.NoError(t, err)

		k, err := orgs.LookupAPIKey(ctx, f.db.Bun, hash)
		require.NoError(t, err)
		require.Equal(t, id, k.ID)
		require.Equal(t, f.org, k.OrgID)
		require.Nil(t, k.LastUsedAt)
		require.Nil(t, k.RevokedAt)
		_, err = orgs.LookupAPIKey(ctx, f.db.Bun, token.Hash("lp_unknown"))
		require.ErrorIs(t, err, database.ErrNotFound)

		var got orgs.APIKey
		require.NoError(t, f.inTenant(t, func(ctx context.Context, tx bun.IDB) (err error) {
			if err := orgs.TouchAPIKey(ctx, tx, id); err != nil {
				return err
			}
			got, err = orgs.GetAPIKey(ctx, tx, id)
			return err
		}))
		require.NotNil(t, got.LastUsedAt)
		require.Equal(t, "zap", got.Name)

		// Another organisation sees no such key.
		other := setup(t)
		err = other.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			_, err := orgs.GetAPIKey(ctx, tx, id)
			return err
		})
		require.ErrorIs(t, err, database.ErrNotFound)
	})

	t.Run("AUsersMembershipsSpanOrganisations", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		second := setup(t)
		require.NoError(t, second.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			_, err := orgs.AddMember(ctx, tx, second.org, f.user, access.RoleMember)
			return err
		}))
		ms, err := orgs.UserMemberships(ctx, f.db.Bun, f.user)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		require.Equal(t, []uuid.UUID{f.org, second.org}, []uuid.UUID{ms[0].OrgID, ms[1].OrgID}, "oldest first")
		require.Equal(t, []access.Role{access.RoleOwner, access.RoleMember}, []access.Role{ms[0].Role, ms[1].Role})

		err = second.inTenant(t, func(ctx context.Context, tx bun.IDB) error {
			_, err := orgs.AddMember(ctx, tx, second.org, f.user, access.RoleAdmin)
			return err
		})
		require.Equal(t, "already_member", faultCode(err))
	})
}

func faultCode(err error) string {
	fe, ok := fault.As(err)
	if !ok {
		return ""
	}
	return fe.Code
}
